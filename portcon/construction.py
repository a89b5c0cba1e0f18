"""`construct(scores, limits)`: the whole flow, universe → program → model → solution → report."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InfeasibleError, SolverError
from portcon.estimators import FactorModel
from portcon.limits import Limits, coerce_limits
from portcon.market import MarketData, prepare_market_data
from portcon.optimizer.diagnose import diagnose
from portcon.optimizer.model import build
from portcon.optimizer.polish import polish
from portcon.optimizer.program import Program, compile_program
from portcon.optimizer.solve import Solution, solve
from portcon.portfolio import Portfolio
from portcon.report.check import violations
from portcon.report.report import Report
from portcon.universe import Universe


def construct(
    scores: pd.Series | pd.DataFrame,
    limits: Limits | str | Mapping[str, Any] | None = None,
    *,
    returns: pd.DataFrame | None = None,
    covariance: pd.DataFrame | object | None = None,
    factor_model: FactorModel | None = None,
    expected_returns: pd.Series | None = None,
    repair_covariance: bool = False,
) -> Portfolio:
    """Target weights for scored assets under limits, solved as one convex program.

    Parameters
    ----------
    scores
        A Series asset → score, or a DataFrame indexed by asset with a ``score`` column and
        optional ``bucket``, ``sector``, ``current_weight`` and ``volatility`` columns.
    limits
        A :class:`Limits`, a preset name (``"balanced"``), a dict of Limits fields (a
        ``preset`` key starts from that preset), or None for the defaults.
    returns
        Periodic returns, dates × assets: estimates the risk model (``covariance_estimator``)
        and expected returns (``expected_return_estimator``) when those are not given, and is
        the history of ``kelly_exact``.
    covariance
        A dense covariance, assets × assets (annualised like ``max_portfolio_volatility``),
        or any scikit-learn covariance estimator (fitted on ``returns``; its per-period
        ``covariance_`` is annualised by ``periods_per_year``).
    factor_model
        A :class:`FactorModel` (loadings, factor covariance, specific variance).
    expected_returns
        Expected return per asset.
    repair_covariance
        Replace a covariance that is not symmetric positive semidefinite by the nearest one
        that is (and say by how much in ``Portfolio.notes``) instead of raising.

    Returns
    -------
    Portfolio
        Weights over every input asset (in input order), cash, explanations, sensitivities.

    Raises
    ------
    InputError
        Malformed scores.
    LimitsError
        Unknown, out-of-range or inconsistent limits.
    SolverError
        No solver reached an optimum, or the answer failed the independent limit check.
    """
    started = time.perf_counter()
    universe = Universe.from_scores(scores)
    limits = coerce_limits(limits)
    market = prepare_market_data(
        universe, limits, returns, covariance, factor_model, expected_returns, repair_covariance
    )
    program = compile_program(universe, limits, market)
    timings = {"prepare": time.perf_counter() - started}
    if not len(program.members):
        return _all_cash(program, timings, started)
    mark = time.perf_counter()
    model = build(program)
    timings["build"] = time.perf_counter() - mark
    try:
        solution = solve(program, model)
    except InfeasibleError:
        diagnosis = diagnose(program)
        raise InfeasibleError(
            diagnosis.message, conflicts=diagnosis.conflicts, repairs=diagnosis.repairs
        ) from None
    timings.update(solution.timings)
    mark = time.perf_counter()
    solution = polish(program, solution)
    timings["polish"] = time.perf_counter() - mark
    mark = time.perf_counter()
    portfolio = _report(program, solution, timings, market)
    timings["report"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return portfolio


def _report(
    program: Program, solution: Solution, timings: dict[str, float], market: MarketData
) -> Portfolio:
    universe, limits = program.universe, program.limits
    weights = np.zeros(universe.size)
    weights[program.members] = solution.weights
    broken = violations(weights, universe, limits, market=market)
    if broken:
        raise SolverError(
            f"{solution.solver} returned weights that break limits: {listing(broken, 5)}",
            status=solution.status,
            solver=solution.solver,
            tried=solution.tried,
        )
    return Portfolio(
        _weights=pd.Series(weights, index=universe.assets, name="weight"),
        cash=1.0 - float(weights.sum()),
        rollover=solution.cash,
        objective=solution.objective,
        status=solution.status,
        solver=solution.solver,
        solve_time=solution.timings.get("solver", 0.0),
        timings=timings,
        limits=limits,
        _report=Report(program, solution, weights),
        _current=_current(universe),
        notes=market.notes,
    )


def _current(universe: Universe) -> pd.Series | None:
    if universe.current_weight is None:
        return None
    return pd.Series(universe.current_weight, index=universe.assets, name="current_weight")


def _all_cash(program: Program, timings: dict[str, float], started: float) -> Portfolio:
    universe, limits = program.universe, program.limits
    weights = np.zeros(universe.size)
    timings["total"] = time.perf_counter() - started
    return Portfolio(
        _weights=pd.Series(weights, index=universe.assets, name="weight"),
        cash=1.0,
        rollover=limits.target_allocation,
        objective=0.0,
        status="no_eligible_assets",
        solver="none",
        solve_time=0.0,
        timings=timings,
        limits=limits,
        _report=Report(program, None, weights),
        _current=_current(universe),
        notes=program.universe_market.notes,
    )
