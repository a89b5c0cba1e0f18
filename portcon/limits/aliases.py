"""The rebalancer's parameter names, accepted in TOML, dicts and on the command line.

Each alias maps to one portcon field (with the seed's value words where they differ) and says
so in a one-line note; a seed parameter portcon has no field for is refused with the reason
and what to use instead. Did-you-mean suggestions search these names too.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portcon.errors import LimitsError


class SeedNameWarning(UserWarning):
    """A limit was given under the rebalancer's name and mapped to portcon's field."""


@dataclass(frozen=True)
class Alias:
    """One seed name: the portcon field it sets and how the seed's words translate."""

    field: str
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)


ALIASES: Mapping[str, Alias] = {
    "max_single_position_size": Alias("max_single_position"),
    "sector_concentration_limit": Alias("max_sector_allocation"),
    "target_portfolio_allocation": Alias("target_allocation"),
    "target_total_allocation": Alias("target_allocation"),
    "position_size_scaling": Alias("sizing_mode", {"dynamic": "adaptive", "fixed": "tiered"}),
    "max_new_positions_per_rebalance": Alias("max_new_positions"),
    "max_allocation_per_bucket": Alias("max_bucket_allocation"),
    "regime_change_multiplier": Alias("regime_change_aggression"),
    "position_holding_period_min": Alias("min_holding_days"),
    "position_holding_period_max": Alias("max_holding_days"),
    "grace_period_decay_rate": Alias("grace_decay_rate"),
    "trending_confidence_new": Alias("min_confidence_new"),
    "trending_confidence_existing": Alias("min_confidence_existing"),
}
"""Seed name → portcon field."""

RETIRED: Mapping[str, str] = {
    "whipsaw_protection": "portcon's entry band (min_score_new_position above "
    "min_score_threshold), grace_period_days and transaction_cost_bps do this",
    "force_bucket_distribution": "use min_buckets_represented and bucket_balance_tolerance",
    "correlation_update_frequency": "portcon keeps no state: correlations come from each "
    "call's returns (see correlation_window)",
    "enable_dynamic_sizing": "sizing_mode = 'equal_weight' is the seed's dynamic sizing off",
    "enable_bucket_diversification": "every bucket limit is off until set",
}
"""Seed names portcon has no field for, with what to use instead."""


def seed_names() -> list[str]:
    """Every seed name (for did-you-mean)."""
    return [*ALIASES, *RETIRED]


def translate(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` with seed names replaced by portcon's fields, and one note per replacement.

    Raises
    ------
    LimitsError
        For a seed name without a field (saying what to use), or a field given under both
        names.
    """
    translated: dict[str, Any] = {}
    notes = []
    for name, value in data.items():
        if name in RETIRED:
            raise LimitsError(f"'{name}' (the rebalancer's) has no portcon field: {RETIRED[name]}")
        alias = ALIASES.get(name) if isinstance(name, str) else None
        if alias is None:
            translated[name] = value
            continue
        if alias.field in data:
            raise LimitsError(
                f"'{name}' is the rebalancer's name for {alias.field}, which is also given; "
                "give one of them"
            )
        if isinstance(value, str) and value in alias.values:
            value = alias.values[value]
            notes.append(f"{name} = '{data[name]}' is {alias.field} = '{value}'")
        else:
            notes.append(f"{name} is the rebalancer's name for {alias.field}")
        translated[alias.field] = value
    return translated, notes


def translate_quietly(data: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`translate`, with each note issued as a :class:`SeedNameWarning`."""
    translated, notes = translate(data)
    for note in notes:
        warnings.warn(note, SeedNameWarning, stacklevel=3)
    return translated
