"""Write Limits as TOML (reading uses the standard library's tomllib)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from portcon.limits.fields import group_of, in_group_order

if TYPE_CHECKING:
    from portcon.limits import Limits

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n"}
ESCAPES |= {"\f": "\\f", "\r": "\\r"}


def dump_limits(limits: Limits) -> str:
    """Every field of ``limits`` as a TOML line, grouped and documented by comments.

    A limit switched off is a comment when off is its default, else ``name = "off"`` (TOML
    has no null), so that the text read back gives the same Limits.
    """
    lines: list[str] = []
    current_group = None
    for name, info in in_group_order(type(limits).model_fields):
        group = group_of(info)
        if group != current_group:
            lines.append(f"{'' if not lines else chr(10)}# {group}")
            current_group = group
        value = getattr(limits, name)
        if value is None and info.default is not None:
            lines.append(f'{name} = "off"')
        elif value is None:
            lines.append(f"# {name} = (off)")
        else:
            lines.append(f"{name} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, Enum):
        return _string(str(value.value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(key)} = {_value(item)}" for key, item in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    return '"' + "".join(_escape(character) for character in text) + '"'


def _escape(character: str) -> str:
    if character in ESCAPES:
        return ESCAPES[character]
    if ord(character) < 0x20 or ord(character) == 0x7F:
        return f"\\u{ord(character):04X}"
    return character
