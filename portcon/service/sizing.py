"""Sizing trading decisions as one portcon program against the held book.

Each decision gets a raw size from its method (Kelly, fixed percentage, volatility target,
inverse-volatility risk parity, equal weight). The raw size is the decision's upper bound in
a ``score_weighted`` program whose shares are the raw sizes, with the rest of the book held at
its weights (or re-sized, with ``reoptimise``) and the risk constraints as Limits. So a
decision gets its raw size unless a limit binds, and then the explanation names the limit;
decisions sized together in a batch share what the limits leave in proportion to their raw
sizes.

Modules: raw_sizes (each method's raw size), book (the held book and its risk numbers),
sizing_program (the scores table and Limits solved), sizing_held (sizing inside what the held
book leaves); this one puts them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portcon.errors import InputError
from portcon.service.answers import sizing_data
from portcon.service.book import Book, book_impact
from portcon.service.raw_sizes import raw_sizes
from portcon.service.sizing_held import size_held
from portcon.service.sizing_program import SizingCase, program_frame, program_limits
from portcon.service.sizing_schemas import (
    PortfolioState,
    RiskConstraints,
    SizingParameters,
    TradingDecision,
)


@dataclass(frozen=True)
class SizedDecision:
    """One decision's answer (before it gets a position id and a processing time)."""

    decision: TradingDecision
    weight: float
    raw_size: float
    kelly_fraction: float | None
    explanation: dict[str, Any]


@dataclass(frozen=True)
class SizedBatch:
    """Decisions sized together, and the book's change."""

    decisions: list[SizedDecision]
    impact: dict[str, float | None]
    details: dict[str, Any]


def size_decisions(
    decisions: Sequence[TradingDecision],
    state: PortfolioState,
    parameters: SizingParameters,
    constraints: RiskConstraints,
    *,
    field: str = "trading_decisions",
    mip_time_limit: float = 2.0,
) -> SizedBatch:
    """Size ``decisions`` together against ``state`` under ``constraints``.

    Raises
    ------
    InputError
        For repeated instruments or decisions, or data a method or limit needs but lacks; the
        message names the field.
    PortconError
        Whatever :func:`portcon.construct` raises (an infeasible book, a solver failure).
    """
    _check_unique(decisions, state, field)
    raws = raw_sizes(decisions, field, parameters, state)
    book = Book.of(state, decisions)
    if constraints.max_portfolio_risk is not None and book.covariance is None:
        missing = next(name for name in book.names if not book.volatility.get(name))
        raise InputError(f"risk_constraints.max_portfolio_risk needs the volatility of {missing!r}")
    case = SizingCase(book, raws, constraints, parameters, mip_time_limit)
    weights, data = _reoptimised(case) if parameters.reoptimise else size_held(case)
    rows = {row["asset"]: row for row in data["explanations"]}
    sized = [
        SizedDecision(d, float(weights[d.instrument_id]), raw, full, rows[d.instrument_id])
        for d, (raw, full) in zip(decisions, raws, strict=True)
    ]
    before = np.array([book.held.get(name, 0.0) for name in book.names])
    after = np.array([weights.get(name, 0.0) for name in book.names])
    impact = book_impact(before, after, book.covariance, book.names, decisions)
    return SizedBatch(sized, impact, _details(data))


def _reoptimised(case: SizingCase) -> tuple[dict[str, float], dict[str, Any]]:
    """Every position re-sized in one program: held ones in proportion to their weights."""
    from portcon.construction import construct

    book, constraints = case.book, case.constraints
    shares = [book.held[name] for name in book.others()] + case.raw_sizes
    caps = [np.nan] * len(book.others()) + case.raw_sizes
    frame = program_frame(book, book.names, shares, caps)
    target = constraints.leverage_limit
    limits = program_limits(constraints, case.parameters, case.mip_time_limit, target, {})
    covariance = None
    if constraints.max_portfolio_risk is not None and book.covariance is not None:
        covariance = pd.DataFrame(book.covariance, index=book.names, columns=book.names)
    correlation = book.correlation if constraints.correlation_limit is not None else None
    portfolio = construct(frame, limits, covariance=covariance, correlation=correlation)
    return {str(k): float(v) for k, v in portfolio.weights.items()}, sizing_data(portfolio)


def _check_unique(decisions: Sequence[TradingDecision], state: PortfolioState, field: str) -> None:
    for attribute in ("instrument_id", "decision_id"):
        seen: set[str] = set()
        for i, decision in enumerate(decisions):
            value = getattr(decision, attribute)
            if value in seen:
                raise InputError(f"{field}[{i}].{attribute} {value!r} appears twice")
            seen.add(value)
    seen = set()
    for i, position in enumerate(state.positions):
        if position.instrument_id in seen:
            raise InputError(
                f"portfolio_state.positions[{i}].instrument_id {position.instrument_id!r} "
                "appears twice"
            )
        seen.add(position.instrument_id)


def _details(data: dict[str, Any]) -> dict[str, Any]:
    binding = [r for r in data["sensitivity"] if abs(r.get("shadow_price") or 0.0) > 1e-6]
    return {
        "path": data["path"],
        "solver": data["solver"],
        "status": data["status"],
        "solve_time": data["solve_time"],
        "cash": data["cash"],
        "cash_reason": data["cash_reason"],
        "objective_meaning": data["objective_meaning"],
        "binding_limits": binding,
        "notes": data["notes"],
    }
