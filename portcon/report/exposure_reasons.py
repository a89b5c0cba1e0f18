"""Reasons and notes for long-short books: what limits a short, and the exposures of the book.

A short's reason names the row that holds it: its own short cap ("short -5.0%, capped by
max_short_position"), or the sizing mode when no own row binds; shared limits (leverage_limit,
a group cap, the budget) follow as for a long position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from portcon._text import percent
from portcon.constraints.exposure import NetExposureRange

if TYPE_CHECKING:
    from portcon.optimizer.program import Program

SHORT = 1e-10  # a weight below −SHORT is a short position (the solver's zero is 1e-10)
FUNDED = " (short proceeds fund the longs beyond the capital)"


class _Row(Protocol):
    """A binding row touching an asset (explain.BindingRow)."""

    @property
    def rule(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def floor(self) -> bool: ...

    @property
    def pinned(self) -> bool: ...


def short_reason(asset: str, weight: float, limits: Sequence[_Row], phrase: str) -> str:
    """The head of a short position's reason (shared limits are appended by the caller)."""
    own = [row for row in limits if row.subject == asset]
    pins = [row.rule for row in own if row.pinned]
    if pins:
        return f"pinned short at {percent(weight)} by {pins[0]}"
    caps = [row.rule for row in own if row.floor]  # w ≥ −s rows: the short caps
    if caps:
        return f"short {percent(weight)}, capped by {caps[0]}"
    others = [row.rule for row in own if not row.floor]
    if others:
        return f"short {percent(weight)}, held there by {others[0]}"
    return f"short {percent(weight)}, sized by {phrase}"


def exposure_note(weights: np.ndarray, leverage_limit: float | None) -> tuple[str, ...]:
    """('long-short book: long 130.0%, short 30.0%; gross 160.0% …, net 100.0%; cash …',) for
    a book holding a short; () for a long-only one."""
    short = float(-weights[weights < -SHORT].sum())
    if short <= 0:
        return ()
    long = float(weights[weights > SHORT].sum())
    cap = "" if leverage_limit is None else f" (leverage_limit {percent(leverage_limit)})"
    net = long - short
    cash = 1.0 - net if abs(1.0 - net) > 1e-9 else 0.0  # no "-0.0%" from round-off
    return (
        f"long-short book: long {percent(long)}, short {percent(short)}; gross "
        f"{percent(long + short)}{cap}, net {percent(net)}; cash = 1 - net = "
        f"{percent(cash)}{FUNDED if long > 1.0 + SHORT else ''}",
    )


def chosen_cash(program: Program) -> bool:
    """True when uninvested target is the objective's choice, never a rollover: a free-cash
    objective, or a net exposure range (min_net_exposure)."""
    ranged = any(isinstance(rule, NetExposureRange) for rule in program.rules)
    return program.require_objective().free_cash or ranged
