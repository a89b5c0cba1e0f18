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
    items = [str(item) for item in items]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def percent(value: float) -> str:
    """Format a weight as a percentage with one decimal: ``0.15 -> '15.0%'``."""
    return f"{100 * value:.1f}%"
