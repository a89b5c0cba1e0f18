"""Command-line flags generated from the `Limits` fields, so the two never drift."""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any

from portcon.limits import Limits
from portcon.limits.fields import group_of, in_group_order

OFF_WORDS = ("none", "off")


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per Limits field, in argument groups named like the fields'."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, info in in_group_order(Limits.model_fields):
        group_name = group_of(info)
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(f"limits: {group_name}")
        parse, metavar, extra = _parser_for(info.annotation)
        default = info.get_default(call_default_factory=True)
        shown = _shown(default)
        help_text = f"{info.description} [default: {shown}]"
        groups[group_name].add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=parse,
            metavar=metavar,
            default=argparse.SUPPRESS,
            help=help_text.replace("%", "%%"),
            **extra,
        )


def given_limits(arguments: argparse.Namespace) -> dict[str, Any]:
    """The Limits fields given on the command line."""
    return {
        name: getattr(arguments, name) for name in Limits.model_fields if hasattr(arguments, name)
    }


def _parser_for(annotation: Any) -> tuple[Any, str, dict[str, Any]]:
    optional = _is_optional(annotation)
    core = _strip_none(annotation)
    if isinstance(core, type) and issubclass(core, Enum):
        return core, "{" + ",".join(m.value for m in core) + "}", {}
    origin = typing.get_origin(core)
    if origin in (Mapping, dict) or core is Mapping:
        return _parse_mapping, "NAME=CAP,...", {}
    if origin is tuple:
        return _parse_tiers, "SCORE:MULT,...", {}
    if core is bool:
        return _parse_bool, "yes|no", {}
    if core is float:
        return (_optional(float) if optional else float), ("X|off" if optional else "X"), {}
    if core is int:
        return (_optional(int) if optional else int), ("N|off" if optional else "N"), {}
    return str, "TEXT", {}


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _strip_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        remaining = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return remaining[0] if len(remaining) == 1 else annotation
    return annotation


def _optional(kind: type) -> Any:
    def parse(text: str) -> Any:
        if text.strip().lower() in OFF_WORDS:
            return None
        return kind(text)

    parse.__name__ = kind.__name__
    return parse


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("yes", "true", "on", "1"):
        return True
    if lowered in ("no", "false", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")


def _parse_mapping(text: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, separator, value = item.rpartition("=")
        name = name.strip()
        if not separator or not name:
            raise argparse.ArgumentTypeError(f"expected NAME=CAP, got {item!r}")
        if name in result:
            raise argparse.ArgumentTypeError(
                f"{name!r} is given twice ({name}={result[name]:g} and {item}); give each once"
            )
        try:
            result[name] = float(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"cap for {name!r} is not a number") from error
    return result


def _parse_tiers(text: str) -> tuple[tuple[float, float], ...]:
    tiers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        threshold, separator, multiplier = item.partition(":")
        try:
            tiers.append((float(threshold), float(multiplier)))
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected SCORE:MULTIPLIER, got {item!r}") from error
        if not separator:
            raise argparse.ArgumentTypeError(f"expected SCORE:MULTIPLIER, got {item!r}")
    return tuple(tiers)


def _shown(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    if isinstance(value, tuple):
        return ",".join(f"{a}:{b}" for a, b in value)
    return str(value)
