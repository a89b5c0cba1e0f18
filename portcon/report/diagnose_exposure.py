"""How the infeasibility diagnosis reads the long-short fields.

``max_short_position`` and ``leverage_limit`` loosen upwards (a short cap's row is w ≥ −s, so
its bound moves down as s rises: ∂b/∂s = −1 in the row block), ``min_net_exposure``
downwards. The obvious conflicts are said in words: the gross exposure can never be below
the net exposure's size, so a leverage_limit under |target_allocation| (without rollover) or
under |min_net_exposure| cannot be met.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portcon._text import percent

if TYPE_CHECKING:
    from portcon.optimizer.program import Program

LOWERED_EXPOSURE = ("min_net_exposure",)
"""Exposure fields whose decrease loosens them."""


def exposure_words(program: Program) -> list[str]:
    """Plain-words causes among the exposure fields, found without solving."""
    limits, words = program.limits, list[str]()
    leverage = limits.leverage_limit
    if leverage is None:
        return words
    target, low = limits.target_allocation, limits.min_net_exposure
    if low is None and not limits.allow_cash_rollover and abs(target) > leverage:
        words.append(
            f"leverage_limit {percent(leverage)} is below |target_allocation| "
            f"{percent(abs(target))}: the gross exposure Σ|w| is at least the net exposure's size"
        )
    if low is not None and -low > leverage:
        words.append(
            f"leverage_limit {percent(leverage)} is below |min_net_exposure| "
            f"{percent(abs(low))}: the gross exposure Σ|w| is at least the net exposure's size"
        )
    return words
