"""Sizing trading decisions as one portcon program against the held book.

Each decision gets a raw size from its method (Kelly, fixed percentage, volatility target,
inverse-volatility risk parity, equal weight). The raw size is the decision's upper bound in
a ``score_weighted`` program whose shares are the raw sizes, with the rest of the book held at
its weights (or re-sized, with ``reoptimise``) and the risk constraints as Limits. So a
decision gets its raw size unless a limit binds, and then the explanation names the limit;
decisions sized together in a batch share what the limits leave in proportion to their raw
sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portcon.errors import InputError
from portcon.kelly_bet import kelly
from portcon.limits import Limits, SizingMode
from portcon.service.book import book_impact, correlation_frame, risk_scale
from portcon.service.sizing_schemas import (
    PortfolioState,
    RiskConstraints,
    SizingMethod,
    SizingParameters,
    TradingDecision,
)

UNCLASSIFIED = "(unclassified)"


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
    single = not field.endswith("s")
    raws = [
        _raw_size(d, field if single else f"{field}[{i}]", parameters, state, decisions)
        for i, d in enumerate(decisions)
    ]
    book = _Book.of(state, decisions)
    if constraints.max_portfolio_risk is not None and book.covariance is None:
        missing = next(name for name in book.names if not book.volatility.get(name))
        raise InputError(f"risk_constraints.max_portfolio_risk needs the volatility of {missing!r}")
    if parameters.reoptimise:
        weights, data = _reoptimised(book, raws, constraints, parameters, mip_time_limit)
    else:
        weights, data = _held(book, raws, constraints, parameters, mip_time_limit)
    rows = {row["asset"]: row for row in data["explanations"]}
    sized = [
        SizedDecision(d, float(weights[d.instrument_id]), raw, full, rows[d.instrument_id])
        for d, (raw, full) in zip(decisions, raws, strict=True)
    ]
    before = np.array([book.held.get(name, 0.0) for name in book.names])
    after = np.array([weights.get(name, 0.0) for name in book.names])
    impact = book_impact(before, after, book.covariance, book.names, decisions)
    return SizedBatch(sized, impact, _details(data))


@dataclass(frozen=True)
class _Book:
    """Held weights, sectors and volatilities; decisions' instruments last in ``names``."""

    held: dict[str, float]
    sectors: dict[str, str]
    volatility: dict[str, float | None]
    names: list[str]
    decisions: list[str]
    correlation: pd.DataFrame
    covariance: np.ndarray | None

    @classmethod
    def of(cls, state: PortfolioState, decisions: Sequence[TradingDecision]) -> _Book:
        held = {p.instrument_id: p.weight for p in state.positions}
        sectors = {p.instrument_id: p.sector or UNCLASSIFIED for p in state.positions}
        volatility = {p.instrument_id: p.volatility for p in state.positions}
        chosen = [d.instrument_id for d in decisions]
        for d in decisions:
            sectors[d.instrument_id] = d.sector or sectors.get(d.instrument_id, UNCLASSIFIED)
            volatility[d.instrument_id] = d.volatility or volatility.get(d.instrument_id)
        names = [name for name in held if name not in set(chosen)] + chosen
        correlation = correlation_frame(state, names)
        covariance = None
        if all(volatility.get(name) for name in names):
            sigma = np.array([float(volatility[name] or 0.0) for name in names])
            covariance = correlation.to_numpy() * np.outer(sigma, sigma)
        return cls(held, sectors, volatility, names, chosen, correlation, covariance)

    def others(self) -> list[str]:
        """Held instruments no decision re-sizes."""
        return self.names[: len(self.names) - len(self.decisions)]


def _reoptimised(
    book: _Book,
    raws: Sequence[tuple[float, float | None]],
    constraints: RiskConstraints,
    parameters: SizingParameters,
    mip_time_limit: float,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Every position re-sized in one program: held ones in proportion to their weights."""
    from portcon.construction import construct

    shares = [book.held[name] for name in book.others()] + [raw for raw, _ in raws]
    caps = [np.nan] * len(book.others()) + [raw for raw, _ in raws]
    frame = _frame(book, book.names, shares, caps)
    limits = _limits(constraints, parameters, mip_time_limit, constraints.leverage_limit, {})
    covariance = None
    if constraints.max_portfolio_risk is not None and book.covariance is not None:
        covariance = pd.DataFrame(book.covariance, index=book.names, columns=book.names)
    correlation = book.correlation if constraints.correlation_limit is not None else None
    portfolio = construct(frame, limits, covariance=covariance, correlation=correlation)
    return {str(k): float(v) for k, v in portfolio.weights.items()}, portfolio.to_dict()


def _held(
    book: _Book,
    raws: Sequence[tuple[float, float | None]],
    constraints: RiskConstraints,
    parameters: SizingParameters,
    mip_time_limit: float,
) -> tuple[dict[str, float], dict[str, Any]]:
    """The decisions sized in what the held book leaves of the budget and sector caps."""
    from portcon.construction import construct

    others = book.others()
    room = constraints.leverage_limit - sum(book.held[name] for name in others)
    caps = [raw for raw, _ in raws]
    sector_caps, blocked = _sector_rooms(book, others, constraints.max_sector_weight)
    blocked.update(_correlated(book, others, constraints.correlation_limit))
    caps = [0.0 if name in blocked else cap for name, cap in zip(book.decisions, caps, strict=True)]
    for name, (raw, _) in zip(book.decisions, raws, strict=True):
        if raw <= 0:
            blocked[name] = f"{parameters.sizing_method.value} gives no size (raw size 0)"
    if room <= 1e-12 or max(caps) <= 0:
        full = "the held book uses the whole leverage_limit"
        blocked = {n: blocked.get(n, full) for n in book.decisions}
        data = _nothing(book, blocked)
        return {**{n: book.held[n] for n in others}, **dict.fromkeys(book.decisions, 0.0)}, data
    frame = _frame(book, book.decisions, [raw for raw, _ in raws], caps)
    limits = _limits(constraints, parameters, mip_time_limit, min(room, 1.0), sector_caps)
    correlation = None
    if constraints.correlation_limit is not None:
        correlation = book.correlation.loc[book.decisions, book.decisions]
    portfolio = construct(frame, limits, correlation=correlation)
    data = portfolio.to_dict()
    weights = {**{n: book.held[n] for n in others}, **data["weights"]}
    _explain_blocked(data, blocked)
    if constraints.max_portfolio_risk is not None and book.covariance is not None:
        _apply_risk_cap(book, weights, data, constraints.max_portfolio_risk)
    return weights, data


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


def _raw_size(
    decision: TradingDecision,
    where: str,
    parameters: SizingParameters,
    state: PortfolioState,
    decisions: Sequence[TradingDecision],
) -> tuple[float, float | None]:
    """(raw size, full Kelly fraction or None) of one decision under its method."""
    full = _full_kelly(decision)
    method = parameters.sizing_method
    if method is SizingMethod.KELLY_CRITERION:
        if full is None:
            raise InputError(
                f"{where}: KELLY_CRITERION needs expected_return and volatility, or "
                "win_probability, average_win and average_loss"
            )
        raw = min(max(parameters.kelly_multiplier * full, 0.0), 1.0)
    elif method is SizingMethod.FIXED_PERCENTAGE:
        if parameters.max_position_size is None:
            raise InputError("sizing_parameters.max_position_size: FIXED_PERCENTAGE sizes at it")
        raw = parameters.max_position_size
    elif method is SizingMethod.VOLATILITY_ADJUSTED:
        if parameters.volatility_target is None or decision.volatility is None:
            raise InputError(
                f"{where}.volatility and sizing_parameters.volatility_target: VOLATILITY_ADJUSTED "
                "sizes at volatility_target / volatility"
            )
        raw = min(parameters.volatility_target / decision.volatility, 1.0)
    elif method is SizingMethod.RISK_PARITY:
        raw = _inverse_volatility(decision, where, state, decisions)
    else:
        names = {p.instrument_id for p in state.positions} | {d.instrument_id for d in decisions}
        raw = 1.0 / len(names)
    if parameters.max_position_size is not None:
        raw = min(raw, parameters.max_position_size)
    return raw, full


def _full_kelly(decision: TradingDecision) -> float | None:
    odds = (decision.win_probability, decision.average_win, decision.average_loss)
    if all(value is not None for value in odds):
        return kelly(
            win_probability=decision.win_probability,
            average_win=decision.average_win,
            average_loss=decision.average_loss,
        ).kelly_fraction
    if decision.expected_return is not None and decision.volatility is not None:
        return kelly(
            expected_return=decision.expected_return, volatility=decision.volatility
        ).kelly_fraction
    return None


def _inverse_volatility(
    decision: TradingDecision,
    where: str,
    state: PortfolioState,
    decisions: Sequence[TradingDecision],
) -> float:
    """The decision's inverse-volatility share of the book with every decision added."""
    sigmas = {p.instrument_id: p.volatility for p in state.positions}
    sigmas.update({d.instrument_id: d.volatility for d in decisions})
    missing = [name for name, sigma in sigmas.items() if sigma is None]
    if missing:
        raise InputError(
            f"{where}: RISK_PARITY needs the volatility of every instrument; missing for "
            f"{missing[0]!r}"
        )
    inverse = {name: 1.0 / float(sigma or 1.0) for name, sigma in sigmas.items()}
    return inverse[decision.instrument_id] / sum(inverse.values())


def _frame(
    book: _Book, names: list[str], shares: Sequence[float], caps: Sequence[float]
) -> pd.DataFrame:
    """The scores table of the program: shares as scores, caps as max_weight."""
    frame = pd.DataFrame(
        {
            "score": [float(v) for v in shares],
            "sector": [book.sectors[name] for name in names],
            "current_weight": [book.held.get(name, 0.0) for name in names],
            "max_weight": [float(v) for v in caps],
        },
        index=pd.Index(names, name="asset"),
    )
    return frame


def _limits(
    constraints: RiskConstraints,
    parameters: SizingParameters,
    mip_time_limit: float,
    target: float,
    sector_caps: dict[str, float],
) -> Limits:
    return Limits(
        sizing_mode=SizingMode.SCORE_WEIGHTED,
        min_score_threshold=None,
        target_allocation=target,
        allow_cash_rollover=True,
        max_single_position=constraints.max_instrument_weight,
        max_sector_allocation=None if sector_caps else constraints.max_sector_weight,
        sector_caps=sector_caps,
        max_portfolio_volatility=constraints.max_portfolio_risk if parameters.reoptimise else None,
        correlation_limit=constraints.correlation_limit,
        min_position_size=parameters.min_position_size,
        mip_time_limit=mip_time_limit,
    )


def _sector_rooms(
    book: _Book, others: list[str], cap: float | None
) -> tuple[dict[str, float], dict[str, str]]:
    """Per-sector caps left by the held book, and the decisions whose sector is full."""
    if cap is None:
        return {}, {}
    rooms: dict[str, float] = {}
    blocked: dict[str, str] = {}
    for name in book.decisions:
        sector = book.sectors[name]
        used = sum(book.held[o] for o in others if book.sectors[o] == sector)
        if cap - used <= 1e-12:
            blocked[name] = f"sector {sector} is full: held positions use max_sector_weight"
        else:
            rooms[sector] = min(cap - used, 1.0)
    return rooms, blocked


def _correlated(book: _Book, others: list[str], limit: float | None) -> dict[str, str]:
    """Decisions correlated above ``limit`` with a held position (that one is kept)."""
    if limit is None:
        return {}
    blocked = {}
    for name in book.decisions:
        for other in others:
            rho = float(
                book.correlation.to_numpy()[book.names.index(name), book.names.index(other)]
            )
            if book.held[other] > 0 and rho > limit:
                blocked[name] = f"correlation {rho:.3g} with held {other} above correlation_limit"
                break
    return blocked


def _nothing(book: _Book, blocked: dict[str, str]) -> dict[str, Any]:
    """The answer when no decision can get any weight (no program to solve)."""
    rows = [
        {"asset": n, "weight": 0.0, "binding": "held book", "reason": blocked[n]}
        for n in book.decisions
    ]
    return {
        "explanations": rows,
        "sensitivity": [],
        "path": "none",
        "solver": None,
        "status": "not solved",
        "solve_time": 0.0,
        "cash": None,
        "cash_reason": "",
        "objective_meaning": "",
        "notes": ["no decision can take weight"],
    }


def _explain_blocked(data: dict[str, Any], blocked: dict[str, str]) -> None:
    for row in data["explanations"]:
        if row["asset"] in blocked:
            row["binding"] = "held book"
            row["reason"] = blocked[row["asset"]]


def _apply_risk_cap(
    book: _Book, weights: dict[str, float], data: dict[str, Any], cap: float
) -> None:
    """Scale the decisions by the largest common factor that keeps σ(book) ≤ cap."""
    assert book.covariance is not None
    held = np.array([book.held.get(n, 0.0) if n not in book.decisions else 0.0 for n in book.names])
    sized = np.array([weights[n] if n in book.decisions else 0.0 for n in book.names])
    scale = risk_scale(held, sized, book.covariance, cap)
    if scale >= 1.0:
        return
    for name in book.decisions:
        weights[name] *= scale
    for row in data["explanations"]:
        if row["asset"] in book.decisions:
            row["weight"] = weights[row["asset"]]
            row["binding"] = "max_portfolio_risk"
            row["reason"] = (
                f"{row['reason']}; then scaled by {scale:.4g} so the book's volatility is "
                f"max_portfolio_risk {cap:g}"
            )
    data["notes"] = [*data["notes"], f"decisions scaled by {scale:.6g} for max_portfolio_risk"]


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
