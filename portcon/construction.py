"""`construct(scores, limits)`: the whole flow, universe → program → model → solution → report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.constraints.balance import balanced_buckets, with_balance
from portcon.context import MarketContext, apply_context
from portcon.counts.flow import choose_support
from portcon.counts.rules import uses_counts
from portcon.counts.selection import Selection
from portcon.errors import (
    InfeasibleError,
    InternalError,
    LimitsError,
    PortconError,
    SolverError,
    TimeLimitError,
)
from portcon.estimators import FactorModel
from portcon.limits import Limits, coerce_limits
from portcon.market import MarketData, correlation_matrix, prepare_market_data
from portcon.optimizer import time_budget
from portcon.optimizer.absorb import settle_cash
from portcon.optimizer.polish import polish
from portcon.optimizer.program import Program, compile_program
from portcon.optimizer.solution import Solution, SolutionPath
from portcon.optimizer.solve import solve_program
from portcon.portfolio import Portfolio
from portcon.rebalance.state import merge_current
from portcon.rebalance.trade_sizes import choose_trades
from portcon.report.check import violations
from portcon.report.diagnose import Settle, diagnose
from portcon.report.exposure_reasons import chosen_cash, exposure_note
from portcon.report.report import Report
from portcon.sectors import classify_scores
from portcon.seed_inputs import age_scores, fill_unknown_buckets
from portcon.universe import Universe


def construct(
    scores: pd.Series | pd.DataFrame,
    limits: Limits | str | Mapping[str, Any] | None = None,
    *,
    returns: pd.DataFrame | None = None,
    covariance: pd.DataFrame | object | None = None,
    factor_model: FactorModel | None = None,
    expected_returns: pd.Series | None = None,
    correlation: pd.DataFrame | None = None,
    repair_covariance: bool = False,
    current: pd.Series | pd.DataFrame | None = None,
    context: MarketContext | Mapping[str, Any] | None = None,
    etf_returns: pd.DataFrame | None = None,
    time_limit: float | None = None,
) -> Portfolio:
    """Target weights for scored assets under limits, solved as one convex program.

    When position-count limits are in force and the convex answer breaks one, a
    mixed-integer program (SCIP) chooses the held assets, or a labelled heuristic does; the
    chosen support is then solved as a convex program for the weights and explanations.

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
    correlation
        Asset correlations for ``correlation_limit`` when there is no risk model to derive
        them from.
    current
        The book held now, when not among the scores' columns: a Series asset → weight, or a
        DataFrame indexed by asset with ``current_weight`` and optional ``days_held`` and
        ``days_below_threshold``. Held assets missing from the scores are an InputError.
    context
        A :class:`MarketContext` (or a dict of its fields): adjusts the limits as the
        rebalancer's dynamic limits did; each change is a line of ``Portfolio.notes`` and
        ``Portfolio.limits`` is the effective set.
    repair_covariance
        Replace a covariance that is not symmetric positive semidefinite by the nearest one
        that is (and say by how much in ``Portfolio.notes``) instead of raising.
    etf_returns
        Sector ETF returns, dates × sector names, for ``sector_classification`` behavioural
        or hybrid (with ``returns``; see :func:`portcon.classify_sectors`).
    time_limit
        Seconds of wall clock for the whole call (None: no limit). Every solve gets the time
        left as its own limit and the count step's ``mip_time_limit`` is cut to fit; when it
        runs out, :class:`TimeLimitError` is raised within about one solver iteration.

    Returns
    -------
    Portfolio
        Weights over every input asset (in input order), cash, explanations, sensitivities.

    Raises
    ------
    InputError
        Malformed scores or market data (the message names the row, column or asset).
    LimitsError
        Unknown, out-of-range or inconsistent limits.
    InfeasibleError
        No portfolio meets every limit (with ``allow_cash_rollover = false``, or for count
        rules); it carries ``conflicts`` and verified single-limit ``repairs``.
    SolverError
        No solver reached an optimum, or the answer failed the independent limit check.
    TimeLimitError
        ``time_limit`` ran out (a SolverError).
    InternalError
        Anything else that failed: a defect in portcon (the cause is chained). No other
        exception escapes, and ``construct`` is safe to call from many threads at once.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.5})
    >>> limits = {"sizing_mode": "score_weighted", "max_single_position": 0.5}
    >>> book = portcon.construct(scores, limits)
    >>> book.weights.round(4).to_dict()
    {'A': 0.5, 'B': 0.45, 'C': 0.0}
    >>> book.explanations.loc["C", "reason"]
    'not held: score 0.50 below min_score_threshold 0.60'
    """
    with time_budget.time_limit(time_limit):
        return _guarded(
            _construct,
            scores,
            limits,
            returns=returns,
            covariance=covariance,
            factor_model=factor_model,
            expected_returns=expected_returns,
            correlation=correlation,
            repair_covariance=repair_covariance,
            current=current,
            context=context,
            etf_returns=etf_returns,
        )


def _guarded(run: Callable[..., Portfolio], *args: Any, **kwargs: Any) -> Portfolio:
    """``run(*args, **kwargs)``; any exception but a PortconError becomes an InternalError."""
    try:
        return run(*args, **kwargs)
    except PortconError:
        raise
    except Exception as error:
        raise InternalError(
            f"portcon failed unexpectedly ({type(error).__name__}: {error}); this is a defect "
            "in portcon: please report it with the inputs that caused it"
        ) from error


@dataclass(frozen=True, eq=False)
class Prepared:
    """Construct's inputs once validated and aligned: where the rest of its flow starts.

    Attributes
    ----------
    universe
        The validated scores and per-asset columns.
    limits
        The effective limits (the market context applied).
    market
        Market data aligned on the universe (risk model, expected returns, history).
    notes
        The input rules' notes and the context's adjustments, in that order.
    started
        ``time.perf_counter()`` when the preparation began (the ``prepare`` and ``total``
        timings count from it).
    """

    universe: Universe
    limits: Limits
    market: MarketData
    notes: tuple[str, ...]
    started: float


UNIVERSE_FIELDS = (
    "score_decay_factor",
    "sector_classification",
    "correlation_window",
    "correlation_min_points",
)
"""The Limits fields :func:`prepare_universe` reads: a Universe prepared under one Limits is the
one prepared under another whenever these agree (same scores, returns and ETF returns)."""


def prepare_universe(
    scores: pd.Series | pd.DataFrame,
    limits: Limits,
    returns: pd.DataFrame | None = None,
    etf_returns: pd.DataFrame | None = None,
) -> tuple[Universe, tuple[str, ...]]:
    """Sectors classified, the input rules applied (Unknown bucket, score ageing) and the
    scores validated; the classification's notes, then the rules'.

    Reads only the :data:`UNIVERSE_FIELDS` of ``limits``. Raises InputError or LimitsError as
    :func:`construct`.
    """
    scores, classified = classify_scores(scores, limits, returns=returns, etf_returns=etf_returns)
    scores, notes = _seed_inputs(scores, limits)
    return Universe.from_scores(scores), (*classified, *notes)


def construct_on_universe(
    universe: Universe,
    notes: tuple[str, ...],
    limits: Limits,
    *,
    started: float | None = None,
    correlation: pd.DataFrame | None = None,
    context: MarketContext | Mapping[str, Any] | None = None,
    aligned: Callable[[Limits], MarketData] | None = None,
    **market_data: Any,
) -> Portfolio:
    """:func:`construct` from an already prepared universe: the rest of the same flow.

    ``universe`` and ``notes`` are what :func:`prepare_universe` returned for these scores
    (and these ``returns``, no ETF returns) under limits agreeing with ``limits`` on
    :data:`UNIVERSE_FIELDS`; ``limits`` is already a :class:`Limits` and there is no
    ``current=``. The answer is then the one ``construct`` gives: the market data is aligned
    and the rest runs as in ``construct``. ``started`` is when the caller began (for the
    timings). ``aligned``: see :func:`prepare_market`. Errors as :func:`construct`.
    """

    def run() -> Portfolio:
        prepared = prepare_market(
            universe,
            notes,
            limits,
            context,
            time.perf_counter() if started is None else started,
            aligned=aligned,
            **market_data,
        )
        return construct_prepared(prepared, correlation)

    return _guarded(run)


def _construct(
    scores: pd.Series | pd.DataFrame,
    limits: Limits | str | Mapping[str, Any] | None,
    *,
    correlation: pd.DataFrame | None,
    current: pd.Series | pd.DataFrame | None,
    context: MarketContext | Mapping[str, Any] | None = None,
    etf_returns: pd.DataFrame | None = None,
    **market_data: Any,
) -> Portfolio:
    started = time.perf_counter()
    if current is not None:
        scores = merge_current(scores, current)
    limits = coerce_limits(limits)
    returns = market_data.get("returns")
    universe, notes = prepare_universe(scores, limits, returns, etf_returns)
    prepared = prepare_market(universe, notes, limits, context, started, **market_data)
    return construct_prepared(prepared, correlation)


def prepare_market(
    universe: Universe,
    notes: tuple[str, ...],
    limits: Limits,
    context: MarketContext | Mapping[str, Any] | None,
    started: float,
    *,
    returns: pd.DataFrame | None = None,
    covariance: pd.DataFrame | object | None = None,
    factor_model: FactorModel | None = None,
    expected_returns: pd.Series | None = None,
    repair_covariance: bool = False,
    aligned: Callable[[Limits], MarketData] | None = None,
) -> Prepared:
    """The context applied to the limits and the market data aligned on the universe.

    ``aligned``, when given, is called with the limits after the context in place of
    :func:`prepare_market_data` and must give what it gives for them and the other arguments
    (e.g. a result kept from an earlier call). Raises InputError or LimitsError as
    :func:`construct`.
    """
    if isinstance(context, Mapping):
        context = MarketContext.from_mapping(context)
    limits, adjustments = apply_context(limits, context, universe)
    notes += tuple(str(adjustment) for adjustment in adjustments)
    if aligned is not None:
        market = aligned(limits)
    else:
        market = prepare_market_data(
            universe, limits, returns, covariance, factor_model, expected_returns, repair_covariance
        )
    return Prepared(universe, limits, market, notes, started)


def construct_prepared(prepared: Prepared, correlation: pd.DataFrame | None = None) -> Portfolio:
    """The rest of construct's flow: program, solve, count and trade choices, polish, report.

    Raises what :func:`construct` raises, except that an unexpected exception is not yet
    wrapped in an InternalError (the public entries do that).
    """
    universe, limits, market = prepared.universe, prepared.limits, prepared.market
    started, seed_notes = prepared.started, prepared.notes
    program = with_balance(compile_program(universe, limits, market))
    correlations = _correlations(universe, limits, market, correlation)
    timings = {"prepare": time.perf_counter() - started}
    if not len(program.members):
        return _all_cash(program, timings, started, seed_notes)
    solution = _solve_or_diagnose(program, _whole_flow_check(prepared, program))
    timings.update(solution.timings)
    selection = None
    mark = time.perf_counter()
    chosen = choose_support(program, solution, correlations)
    if chosen is not None:
        program, selection = chosen
        solution = _solve_or_diagnose(program)
        timings["mixed_integer"] = time.perf_counter() - mark
    patterned = choose_trades(program, solution)
    if patterned is not None:
        program, trade_note = patterned
        seed_notes += (trade_note,)
        solution = _solve_or_diagnose(program)
        timings["trade_sizes"] = time.perf_counter() - mark
    mark = time.perf_counter()
    program, solution, cash_notes = settle_cash(program, solution, _solve_or_diagnose)
    seed_notes += cash_notes
    solution = polish(program, solution)
    timings["polish"] = time.perf_counter() - mark
    mark = time.perf_counter()
    portfolio = _report(
        program,
        solution,
        timings,
        market,
        correlations,
        selection,
        seed_notes,
        trades_chosen=patterned is not None,
    )
    timings["report"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return portfolio


def _whole_flow_check(prepared: Prepared, program: Program) -> Settle:
    """With count rules in force, a repair of the convex program is offered only if the whole
    construction (count stage included) then succeeds; when the count stage still refuses it
    but repairs the same field further, that further value is offered instead (checked the
    same way). Without count rules the convex check is the whole check. Only an infeasible
    program's diagnosis calls it, so the common path pays nothing."""

    def run(repair: dict[str, Any]) -> None:
        construct_prepared(dataclasses.replace(prepared, limits=prepared.limits.replace(**repair)))

    def runs(repair: dict[str, Any]) -> bool:
        try:
            run(repair)
        except (InfeasibleError, LimitsError):
            return False
        return True

    def settle(repair: dict[str, Any]) -> dict[str, Any] | None:
        if not uses_counts(prepared.limits, program):
            return repair
        try:
            run(repair)
        except LimitsError:
            return None
        except InfeasibleError as refusal:
            further = [again for again in refusal.repairs if again.keys() == repair.keys()]
            return next((again for again in further if runs(again)), None)
        return repair

    return settle


def _seed_inputs(
    scores: pd.Series | pd.DataFrame, limits: Limits
) -> tuple[pd.Series | pd.DataFrame, tuple[str, ...]]:
    """The rebalancer's input rules: the Unknown bucket, ageing held scores (with notes)."""
    scores, unknown = fill_unknown_buckets(scores)
    scores, aged = age_scores(scores, limits)
    return scores, (*unknown, *aged)


def _solve_or_diagnose(program: Program, settle: Settle | None = None) -> Solution:
    try:
        return solve_program(program)
    except InfeasibleError as refusal:
        try:
            diagnosis = diagnose(program, settle)
        except TimeLimitError:
            raise InfeasibleError(
                f"{refusal}; the time_limit ran out before a repair was found and verified",
                conflicts=refusal.conflicts,
            ) from None
        raise InfeasibleError(
            diagnosis.message, conflicts=diagnosis.conflicts, repairs=diagnosis.repairs
        ) from None


def _correlations(
    universe: Universe, limits: Limits, market: MarketData, given: pd.DataFrame | None
) -> np.ndarray | None:
    """Correlations for ``correlation_limit``: as given (always checked); else, only when the
    limit is in force, the sample correlation of the return history (what a user would
    compute, not the shrunk risk model's), else the risk model's."""
    if given is not None:
        return correlation_matrix(given, universe.assets)
    if limits.correlation_limit is None:
        return None  # nothing reads them: no N×N work on the common path
    if market.returns is not None and market.returns.shape[0] > 2:
        rows = market.returns[-(limits.correlation_window or 0) :]
        with np.errstate(invalid="ignore", divide="ignore"):
            sample = np.corrcoef(rows, rowvar=False)
        sample = np.nan_to_num(np.atleast_2d(sample), nan=0.0)  # a constant series: no co-move
        np.fill_diagonal(sample, 1.0)
        return sample
    if not market.has_risk:
        return None
    volatility = np.maximum(market.volatility(), 1e-300)
    return market.covariance() / np.outer(volatility, volatility)


def _report(
    program: Program,
    solution: Solution,
    timings: dict[str, float],
    market: MarketData,
    correlations: np.ndarray | None,
    selection: Selection | None,
    seed_notes: tuple[str, ...] = (),
    trades_chosen: bool = False,
) -> Portfolio:
    universe, limits = program.universe, program.limits
    path = SolutionPath.MIXED_INTEGER if trades_chosen else SolutionPath.CONVEX
    weights = np.zeros(universe.size)
    weights[program.members] = solution.weights
    broken = violations(
        weights,
        universe,
        limits,
        market=market,
        correlation=correlations,
        balanced=balanced_buckets(program),
        members=program.members,
    )
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
        rollover=0.0 if chosen_cash(program) else solution.cash,
        objective=solution.objective,
        status=solution.status,
        solver=solution.solver,
        solve_time=solution.timings.get("solver", 0.0),
        timings=timings,
        limits=limits,
        _report=Report(program, solution, weights),
        _current=_current(universe),
        _cost_bps=_cost_bps(universe, limits),
        notes=(
            *seed_notes,
            *market.notes,
            *(selection.notes if selection else ()),
            *exposure_note(weights, limits.leverage_limit),
        ),
        path=selection.path if selection else path,
        mip_gap=selection.gap if selection else None,
        mip_bound=selection.bound if selection else None,
        _correlation=correlations,
    )


def _cost_bps(universe: Universe, limits: Limits) -> pd.Series | None:
    """Trading cost per asset in basis points: the cost_bps column, else the Limits field."""
    if universe.cost_bps is not None:
        return pd.Series(universe.cost_bps, index=universe.assets)
    if limits.transaction_cost_bps is None:
        return None
    return pd.Series(limits.transaction_cost_bps, index=universe.assets, dtype=float)


def _current(universe: Universe) -> pd.Series | None:
    if universe.current_weight is None:
        return None
    return pd.Series(universe.current_weight, index=universe.assets, name="current_weight")


def _all_cash(
    program: Program, timings: dict[str, float], started: float, seed_notes: tuple[str, ...] = ()
) -> Portfolio:
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
        notes=(*seed_notes, *program.universe_market.notes),
    )
