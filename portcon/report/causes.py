"""Reasons that size their causes, and what drives the sizing.

Each held name's weight is its reference weight (its share of the invested amount for the
score modes: "score share 4.30%"; the budget-only optimum for the risk modes) plus one piece per
binding limit, from the constraint attribution at the limit level (the KKT split the
explanations compute, through the objective's curvature). The pieces add up exactly, so
"score share 4.30%, cut to 3.40% by bucket_caps[International] (−0.90pt)" is an identity, not a
story. The sizing driver says what the reference is built from: scores for the score modes;
expected returns and the covariance for mean-variance, Kelly and max Sharpe (scores then only
pass the threshold, or feed μ with ``expected_return_estimator = "scores"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from portcon.limits.enums import ExpectedReturnEstimator
from portcon.report.attribution_result import CONSTRAINT, OBJECTIVE_TERM, REFERENCE

if TYPE_CHECKING:
    from portcon.portfolio import Portfolio

SHOWN = 1e-4  # pieces below 0.01 pt are not named
NAMES = 4  # pieces named per asset; the rest are counted
HELD = 1e-9

RISK_DRIVERS = {
    "minimum variance": "the covariance alone (least variance)",
    "risk parity": "the covariance (equal risk contributions, or risk_budgets)",
    "maximum diversification ratio": "the covariance (volatilities over portfolio volatility)",
}


def sizing_driver(portfolio: Portfolio) -> str:
    """What sets the sizes before any limit: scores, or which market data."""
    program = portfolio._report.program
    sizing = program.sizing
    if sizing.by_score:
        return f"scores ({sizing.phrase}; {sizing.mode})"
    if sizing.phrase in RISK_DRIVERS:
        driver = RISK_DRIVERS[sizing.phrase]
    else:
        estimator = portfolio.limits.expected_return_estimator
        source = (
            "the scores × information_coefficient"
            if estimator == ExpectedReturnEstimator.SCORES
            else f"the given expected returns, else expected_return_estimator = {estimator}"
        )
        driver = f"expected returns ({source}) against the covariance"
    return f"{driver}, not the scores ({sizing.mode}: scores only pass min_score_threshold)"


def scores_size(portfolio: Portfolio) -> bool:
    """True when the scores set the sizes (directly or through expected returns)."""
    program = portfolio._report.program
    estimator = portfolio.limits.expected_return_estimator
    return bool(program.sizing.by_score) or (
        program.sizing.phrase not in RISK_DRIVERS and estimator == ExpectedReturnEstimator.SCORES
    )


def sizing_causes(portfolio: Portfolio) -> dict[str, str]:
    """Held asset → its reference weight and the binding limits that moved it, in points."""
    attribution = portfolio.attribution(level="limit")
    if not attribution.available:
        return {}
    table, holdings = attribution.table, attribution.holdings
    kinds = table["kind"].to_numpy()
    references = [
        label for label, kind in zip(table.index, kinds, strict=True) if kind == REFERENCE
    ]
    pieces = [
        str(label)
        for label, kind in zip(table.index, kinds, strict=True)
        if kind in (CONSTRAINT, OBJECTIVE_TERM)
    ]
    if len(references) != 1:
        return {}
    program = portfolio._report.program
    head = program.sizing.phrase if program.sizing.by_score else "budget-only optimum"
    weights = portfolio.weights.to_numpy(dtype=float)
    causes = {}
    for position, (asset, row) in enumerate(holdings.iterrows()):
        weight = float(weights[position])
        if abs(weight) <= HELD:
            continue
        start = float(row[references[0]])
        moves = sorted(
            ((label, float(row[label])) for label in pieces if abs(float(row[label])) >= SHOWN),
            key=lambda item: -abs(item[1]),
        )
        causes[str(asset)] = _sentence(head, start, weight, moves)
    return causes


def _sentence(head: str, start: float, weight: float, moves: list[tuple[str, float]]) -> str:
    text = f"{head} {100 * start:.2f}%"
    if not moves:
        return f"{text}, no limit moved it"
    named = ", ".join(f"{label} ({100 * move:+.2f}pt)" for label, move in moves[:NAMES])
    if len(moves) > NAMES:
        rest = float(np.sum([move for _, move in moves[NAMES:]]))
        named += f" and {len(moves) - NAMES} more ({100 * rest:+.2f}pt)"
    signs = {move > 0 for _, move in moves}
    if signs == {False}:
        return f"{text}, cut to {100 * weight:.2f}% by {named}"
    if signs == {True}:
        return f"{text}, raised to {100 * weight:.2f}% by {named}"
    return f"{text} → {100 * weight:.2f}% by {named}"
