"""Checks behind the Limits validators, and the immutable mapping its per-name fields hold.

Kept apart from :mod:`portcon.limits.model` so the model reads as its list of fields.
"""

from __future__ import annotations

import copy
import itertools
import math
import typing
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from portcon._text import did_you_mean
from portcon.errors import LimitsError

K = TypeVar("K")
V = TypeVar("V")
UNIT_INTERVAL_OPEN_LEFT = "must be in (0, 1]"


class FrozenMap(Mapping[K, V]):
    """A read-only, hashable mapping that pickles and deep-copies (unlike ``MappingProxyType``).

    Parameters
    ----------
    data
        The items, copied.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple[type, tuple[dict[K, V]]]:
        return type(self), (dict(self._data),)

    def __copy__(self) -> FrozenMap[K, V]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenMap[K, V]:
        return type(self)(copy.deepcopy(self._data, memo))


def check_names(mapping: Mapping[Any, Any], field: str = "") -> None:
    """Per-name fields: every name is non-blank text (a bucket 1 is written '1')."""
    prefix = f"{field}: " if field else ""
    for name in mapping:
        if not isinstance(name, str):
            raise LimitsError(
                f"{prefix}names are text, got {name!r} ({type(name).__name__}); write "
                f"'{name}' for a group named {name}"
            )
        if not name.strip():
            kind = LimitsError if field else ValueError
            raise kind(f"{prefix}names must not be empty, got {name!r}")


def check_caps(caps: Mapping[str, float]) -> FrozenMap[str, float]:
    """Per-bucket or per-sector caps, each in (0, 1]."""
    check_names(caps)
    for name, cap in caps.items():
        if not 0 < cap <= 1:
            raise ValueError(f"cap for '{name}' {UNIT_INTERVAL_OPEN_LEFT}, got {cap}")
    return FrozenMap(caps)


def check_budgets(budgets: Mapping[str, float]) -> FrozenMap[str, float]:
    """Risk budgets, each a positive finite number."""
    check_names(budgets)
    for name, budget in budgets.items():
        if not (budget > 0 and math.isfinite(budget)):
            raise ValueError(f"budget for '{name}' must be a positive number, got {budget}")
    return FrozenMap(budgets)


def check_counts(limits: Mapping[str, int]) -> FrozenMap[str, int]:
    """Per-bucket position counts, whole numbers ≥ 0."""
    check_names(limits)
    for name, count in limits.items():
        if int(count) != count or count < 0:
            raise ValueError(f"count for '{name}' must be a whole number ≥ 0, got {count}")
    return FrozenMap({name: int(count) for name, count in limits.items()})


def check_tiers(tiers: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    """Score tiers: thresholds in [0, 1], strictly decreasing; finite multipliers > 0."""
    if not tiers:
        raise ValueError("give at least one (threshold, multiplier) pair")
    thresholds = [threshold for threshold, _ in tiers]
    if any(later >= earlier for earlier, later in itertools.pairwise(thresholds)):
        raise ValueError(f"thresholds must be strictly decreasing, got {thresholds}")
    for threshold, multiplier in tiers:
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold {threshold} must be in [0, 1]")
        if not (multiplier > 0 and math.isfinite(multiplier)):
            raise ValueError(f"multiplier {multiplier} for threshold {threshold} must be > 0")
    return tiers


OFF_WORDS = ("off", "none")


def switch_off(data: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """``"off"`` or ``"none"`` (any case) for a field that can be off means None.

    TOML has no null, so :meth:`Limits.to_toml` writes a switched-off limit whose default is
    on as ``name = "off"``; the command line's flags take the same words.
    """
    return {
        name: None
        if isinstance(value, str)
        and value.strip().lower() in OFF_WORDS
        and name in fields
        and type(None) in typing.get_args(fields[name].annotation)
        else value
        for name, value in data.items()
    }


def reject_booleans(name: str, value: Any) -> None:
    """A number field given true/false (which pydantic would read as 1/0) is an error."""
    if isinstance(value, bool):
        raise LimitsError(f"{name}: expected a number, got {value!r}; write the number itself")
    if isinstance(value, Mapping):
        for key, item in value.items():
            reject_booleans(f"{name}.{key}", item)
    elif isinstance(value, tuple | list):
        for item in value:
            reject_booleans(name, item)


def reject_unknown_fields(data: Mapping[Any, Any], known: Mapping[str, Any]) -> None:
    """Every key names a Limits field (a did-you-mean otherwise)."""
    for name in data:
        if not isinstance(name, str):
            raise LimitsError(
                f"limit names are text, got {name!r} ({type(name).__name__}); limits are "
                "given as {'max_single_position': 0.1, ...}"
            )
        if name not in known:
            from portcon.limits.aliases import ALIASES, RETIRED, seed_names

            if name in RETIRED:
                raise LimitsError(
                    f"'{name}' (the rebalancer's) has no portcon field: {RETIRED[name]}"
                )
            if name in ALIASES:
                raise LimitsError(
                    f"'{name}' is the rebalancer's name for {ALIASES[name].field}: Limits(...) "
                    "takes portcon's names (dicts, TOML files and the command line take both)"
                )
            hint = did_you_mean(name, [*known, *seed_names()])
            raise LimitsError(f"unknown limit '{name}'{hint}")


def describe(error: ValidationError) -> str:
    """pydantic's errors as one line per field, in portcon's words."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "limits"
        message = problem["msg"]
        value = problem.get("input")
        custom = message.startswith("Value error, ")
        shown = "" if custom or problem["loc"] == () else f", got {value!r}"
        message = message.removeprefix("Value error, ")
        lines.append(f"{field}: {message}{shown}")
    return "; ".join(lines)


def check_cross_fields(limits: Any) -> None:
    """Fields that contradict each other (raises ValueError, turned into LimitsError)."""
    from portcon.limits.seed_checks import check_seed_rules

    check_seed_rules(limits)
    if limits.max_total_positions is not None:
        for name, value in (
            ("max_new_positions", limits.max_new_positions),
            ("max_positions_per_bucket", limits.max_positions_per_bucket),
        ):
            if value is not None and value > limits.max_total_positions:
                raise ValueError(
                    f"{name} = {value} exceeds max_total_positions = "
                    f"{limits.max_total_positions}; lower it or raise max_total_positions"
                )
    if (
        limits.min_position_size is not None
        and limits.max_single_position is not None
        and limits.min_position_size > limits.max_single_position
    ):
        raise ValueError(
            f"min_position_size {limits.min_position_size} exceeds max_single_position "
            f"{limits.max_single_position}: no position could be held"
        )
    if (
        limits.min_holding_days is not None
        and limits.max_holding_days is not None
        and limits.min_holding_days > limits.max_holding_days
    ):
        raise ValueError(
            f"min_holding_days {limits.min_holding_days} exceeds max_holding_days "
            f"{limits.max_holding_days}; lower min_holding_days or raise max_holding_days"
        )
