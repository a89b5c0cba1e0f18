"""The held book: its weights, sectors and volatilities, correlations, the risk cap's common
scaling and the impact of a trade."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon.errors import InfeasibleError, InputError
from portcon.service.sizing_schemas import PortfolioState, TradingDecision

UNCLASSIFIED = "(unclassified)"


def correlation_frame(state: PortfolioState, names: list[str]) -> pd.DataFrame:
    """Correlations over ``names``: the given pairs, zero for others, one on the diagonal."""
    matrix = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    given = state.correlation
    if given is None:
        return matrix
    n = len(given.instruments)
    if len(given.matrix) != n or any(len(row) != n for row in given.matrix):
        raise InputError(
            f"portfolio_state.correlation.matrix must be {n} × {n} (one row and column per "
            "instrument)"
        )
    values = np.array(given.matrix, dtype=float)
    if not np.allclose(values, values.T) or not np.allclose(np.diag(values), 1.0):
        raise InputError(
            "portfolio_state.correlation.matrix must be symmetric with a unit diagonal"
        )
    for i, a in enumerate(given.instruments):
        for j, b in enumerate(given.instruments):
            if a in matrix.index and b in matrix.index:
                matrix.loc[a, b] = values[i, j]
    return matrix


def book_impact(
    before: np.ndarray,
    after: np.ndarray,
    covariance: np.ndarray | None,
    names: list[str],
    decisions: Sequence[TradingDecision],
) -> dict[str, float | None]:
    """Risk change, correlation of the decisions with the book, diversification, concentration.

    ``portfolio_risk_change`` is σ(after) − σ(before); ``correlation_impact`` the correlation
    of the decisions' trade with the book held before; ``diversification_benefit``
    1 − σ(after) / Σ wᵢσᵢ; ``concentration_risk`` the Herfindahl index of the invested weights.
    """
    invested = after.sum()
    concentration = float(((after / invested) ** 2).sum()) if invested > 0 else 0.0
    if covariance is None:
        return {
            "portfolio_risk_change": None,
            "correlation_impact": None,
            "diversification_benefit": None,
            "concentration_risk": concentration,
        }
    risk_before = math.sqrt(max(float(before @ covariance @ before), 0.0))
    risk_after = math.sqrt(max(float(after @ covariance @ after), 0.0))
    trade = np.zeros(len(names))
    position = {name: i for i, name in enumerate(names)}
    for decision in decisions:
        index = position[decision.instrument_id]
        trade[index] = after[index] - before[index]
    trade_risk = math.sqrt(max(float(trade @ covariance @ trade), 0.0))
    correlation = 0.0
    if risk_before > 0 and trade_risk > 0:
        correlation = float(trade @ covariance @ before) / (risk_before * trade_risk)
    standalone = float(after @ np.sqrt(np.diag(covariance)))
    return {
        "portfolio_risk_change": risk_after - risk_before,
        "correlation_impact": correlation,
        "diversification_benefit": 1.0 - risk_after / standalone if standalone > 0 else 0.0,
        "concentration_risk": concentration,
    }


def risk_scale(held: np.ndarray, sized: np.ndarray, covariance: np.ndarray, cap: float) -> float:
    """The largest t in [0, 1] with σ(held + t·sized) ≤ cap (the risk cap over a held book).

    Raises
    ------
    InfeasibleError
        When the held book alone is above ``cap``.
    """
    a = float(sized @ covariance @ sized)
    b = float(sized @ covariance @ held)
    c = float(held @ covariance @ held)
    if c > cap**2 * (1 + 1e-9):
        risk = math.sqrt(c)
        raise InfeasibleError(
            f"the held book's volatility {risk:.4g} is above max_portfolio_risk {cap:g}",
            conflicts=["max_portfolio_risk"],
            repairs=[{"max_portfolio_risk": risk}],
        )
    if a <= 0 or a + 2 * b + c <= cap**2:
        return 1.0
    return max(0.0, min(1.0, (-b + math.sqrt(max(b * b - a * (c - cap**2), 0.0))) / a))


@dataclass(frozen=True)
class Book:
    """Held weights, sectors and volatilities; decisions' instruments last in ``names``."""

    held: dict[str, float]
    sectors: dict[str, str]
    volatility: dict[str, float | None]
    names: list[str]
    decisions: list[str]
    correlation: pd.DataFrame
    covariance: np.ndarray | None

    @classmethod
    def of(cls, state: PortfolioState, decisions: Sequence[TradingDecision]) -> Book:
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
