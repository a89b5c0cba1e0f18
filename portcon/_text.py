"""Small text helpers shared by error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close."""
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[close[0]]}'?)" if close else ""


def listing(items: Iterable[object], limit: int = 8) -> str:
    """Join items for a message, shortening long lists: ``a, b, c and 12 more``."""
    texts = [str(item) for item in items]
    if len(texts) <= limit:
        return ", ".join(texts)
    return f"{', '.join(texts[:limit])} and {len(texts) - limit} more"


def percent(value: float) -> str:
    """Format a weight as a percentage with one decimal: ``0.15 -> '15.0%'``."""
    return f"{100 * value:.1f}%"


def percent_places(value: float, places: int) -> str:
    """A fraction as a percentage with ``places`` decimals, never "-0.00%" for round-off."""
    shown = round(100 * value, places)
    return f"{shown + 0.0 if shown else 0.0:.{places}f}%"


FRACTION_FIELDS = frozenset(
    {
        "target_allocation",
        "max_single_position",
        "max_bucket_allocation",
        "bucket_caps",
        "max_sector_allocation",
        "sector_caps",
        "base_position_size",
        "max_residual_per_asset",
        "max_portfolio_volatility",
        "min_expected_return",
        "min_position_size",
        "floor_weight",
        "asset_floors",
        "min_bucket_allocation",
        "bucket_floors",
        "min_sector_allocation",
        "sector_floors",
        "group_relations",
        "max_short_position",
        "max_short_weight",
        "leverage_limit",
        "min_net_exposure",
        "max_tracking_error",
        "max_active_weight",
        "max_active_bucket_allocation",
        "active_bucket_caps",
        "max_active_sector_allocation",
        "active_sector_caps",
    }
)
"""Limits fields whose values are fractions of the portfolio (or annual rates): shown as %."""


def format_limit(field: str, value: float) -> str:
    """A Limits value in its own unit: fractions as percentages, other numbers as they are."""
    if field in FRACTION_FIELDS:
        return percent(value) if abs(value) >= 0.001 else f"{100 * value:.4g}%"
    return f"{value:g}"


OTHER_UNITS = {
    "risk_aversion": "1 of risk aversion γ",
    "kelly_fraction": "1.00 = the full Kelly bet",
    "max_residual_multiple": "1.00 = one raw tier size",
}


def limit_unit(field: str) -> str:
    """What one unit of a Limits field is, for a price quoted per unit of it."""
    if field in ("max_portfolio_volatility", "min_expected_return", "max_tracking_error"):
        return "1.00 = 100% a year"
    if field in FRACTION_FIELDS:
        return "1.00 = 100% of the portfolio"
    return OTHER_UNITS.get(field, "1 unit of the field")
