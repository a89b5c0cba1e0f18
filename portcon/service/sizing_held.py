"""Decisions sized in what the held book leaves: budget, sector room, correlation, risk.

The held positions keep their weights. The decisions share what they leave of the leverage
limit and of each sector cap; a decision correlated above the limit with a held position, or
in a full sector, gets nothing (its explanation says which held position or sector). The
volatility cap is then met by the largest common scaling of the decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from portcon.service.answers import sizing_data
from portcon.service.book import Book, risk_scale
from portcon.service.sizing_program import SizingCase, program_frame, program_limits


def size_held(case: SizingCase) -> tuple[dict[str, float], dict[str, Any]]:
    """The decisions sized in what the held book leaves of the budget and sector caps."""
    from portcon.construction import construct

    book, raws, constraints = case.book, case.raws, case.constraints

    others = book.others()
    room = constraints.leverage_limit - sum(book.held[name] for name in others)
    caps = case.raw_sizes
    sector_caps, blocked = _sector_rooms(book, others, constraints.max_sector_weight)
    blocked.update(_correlated(book, others, constraints.correlation_limit))
    caps = [0.0 if name in blocked else cap for name, cap in zip(book.decisions, caps, strict=True)]
    for name, (raw, _) in zip(book.decisions, raws, strict=True):
        if raw <= 0:
            blocked[name] = f"{case.parameters.sizing_method.value} gives no size (raw size 0)"
    if room <= 1e-12 or max(caps) <= 0:
        full = "the held book uses the whole leverage_limit"
        blocked = {n: blocked.get(n, full) for n in book.decisions}
        data = _nothing(book, blocked)
        return {**{n: book.held[n] for n in others}, **dict.fromkeys(book.decisions, 0.0)}, data
    frame = program_frame(book, book.decisions, case.raw_sizes, caps)
    target = _budget(book, caps, constraints.max_instrument_weight, sector_caps, min(room, 1.0))
    limits = program_limits(constraints, case.parameters, case.mip_time_limit, target, sector_caps)
    correlation = None
    if constraints.correlation_limit is not None:
        correlation = book.correlation.loc[book.decisions, book.decisions]
    portfolio = construct(frame, limits, correlation=correlation)
    data = sizing_data(portfolio)
    if target < min(room, 1.0):
        data["cash_reason"] = (
            f"the decisions' raw sizes add to {target:.4%}, less than the {min(room, 1.0):.4%} "
            "the held book leaves of leverage_limit: the rest stays cash"
        )
    weights = {**{n: book.held[n] for n in others}, **data["weights"]}
    _explain_blocked(data, blocked)
    if constraints.max_portfolio_risk is not None and book.covariance is not None:
        _apply_risk_cap(book, weights, data, constraints.max_portfolio_risk)
    return weights, data


def _budget(
    book: Book,
    caps: Sequence[float],
    instrument_cap: float | None,
    sector_caps: dict[str, float],
    room: float,
) -> float:
    """The program's budget: ``room``, or the decisions' capped raw sizes when they add to less
    and no sector room binds.

    Either budget gives the same weights (each decision at its raw size, or the room shared),
    but a budget the caps cannot fill leaves rollover cash, and portcon then solves a second
    program to prove it cannot be invested (about half of a single sizing's time). A budget
    that a sector room would also bind is not lowered: the explanation must name the sector.
    """
    capped = [min(cap, instrument_cap or 1.0) for cap in caps]
    by_sector: dict[str, float] = {}
    for name, cap in zip(book.decisions, capped, strict=True):
        by_sector[book.sectors[name]] = by_sector.get(book.sectors[name], 0.0) + cap
    if any(total >= sector_caps[s] - 1e-9 for s, total in by_sector.items() if s in sector_caps):
        return room
    total = sum(capped)
    return total if 1e-9 < total < room - 1e-9 else room


def _sector_rooms(
    book: Book, others: list[str], cap: float | None
) -> tuple[dict[str, float], dict[str, str]]:
    """Per-sector caps left by the held book, and the decisions whose sector is full."""
    if cap is None:
        return {}, {}
    rooms: dict[str, float] = {}
    blocked: dict[str, str] = {}
    held_by_sector: dict[str, float] = {}
    for other in others:
        sector = book.sectors[other]
        held_by_sector[sector] = held_by_sector.get(sector, 0.0) + book.held[other]
    for name in book.decisions:
        sector = book.sectors[name]
        used = held_by_sector.get(sector, 0)
        if cap - used <= 1e-12:
            blocked[name] = f"sector {sector} is full: held positions use max_sector_weight"
        else:
            rooms[sector] = min(cap - used, 1.0)
    return rooms, blocked


def _correlated(book: Book, others: list[str], limit: float | None) -> dict[str, str]:
    """Decisions correlated above ``limit`` with a held position (that one is kept)."""
    if limit is None:
        return {}
    blocked = {}
    matrix = book.correlation.to_numpy()
    position = {name: i for i, name in enumerate(book.names)}
    for name in book.decisions:
        for other in others:
            rho = float(matrix[position[name], position[other]])
            if book.held[other] > 0 and rho > limit:
                blocked[name] = f"correlation {rho:.3g} with held {other} above correlation_limit"
                break
    return blocked


def _nothing(book: Book, blocked: dict[str, str]) -> dict[str, Any]:
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
    book: Book, weights: dict[str, float], data: dict[str, Any], cap: float
) -> None:
    """Scale the decisions by the largest common factor that keeps σ(book) ≤ cap."""
    if book.covariance is None:
        return  # no risk model: the caller asks for volatilities first
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
