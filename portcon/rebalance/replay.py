"""`replay(history, limits)`: the rebalance run over a dated score history.

Each date of the history is one rebalance: :func:`portcon.construct` on that date's scores with
the book carried from the step before, as a user would run it live. Carried from step to step:

- weights: the previous targets, drifted by the period's returns when ``returns`` or
  ``prices`` are given, ``w_i ← w_i (1 + r_i) / (1 + Σ_j w_j r_j)`` (cash earns 0);
- ``days_held``: calendar days since the position was opened (0 on its opening date, reset
  when it closes); a position of the starting book was opened ``initial.days_held`` days
  before the first date;
- ``days_below_threshold``: calendar days since the first of the consecutive rebalances at
  which the held position scored below ``min_score_threshold`` (0 on that first one, and 0
  whenever it scores at or above the threshold).

An asset held going into a date but absent from that date's scores is an error naming the
assets and the date: a held position is re-scored, never closed silently. To close it, give it
a row (a score below the threshold closes it, through grace if grace is on).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InputError, LimitsError, PortconError
from portcon.limits import Limits, coerce_limits
from portcon.portfolio import Portfolio
from portcon.rebalance.contexts import ContextInput, contexts_by_date
from portcon.rebalance.history import check_history
from portcon.rebalance.replay_result import ReplayResult, Step, step_counters


@dataclass
class Book:
    """The book between two rebalances: weights held and the dates its state counts from."""

    weights: dict[str, float] = field(default_factory=dict)
    opened: dict[str, pd.Timestamp] = field(default_factory=dict)
    below_since: dict[str, pd.Timestamp] = field(default_factory=dict)


def replay(
    history: pd.DataFrame,
    limits: Limits | str | Mapping[str, Any] | None = None,
    *,
    returns: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    initial: pd.Series | pd.DataFrame | None = None,
    context: ContextInput = None,
    **market_data: Any,
) -> ReplayResult:
    """Rebalance at every date of a score history, carrying the book from step to step.

    Parameters
    ----------
    history
        Long table, one row per (date, asset): ``date``, ``asset``, ``score`` and optional
        ``bucket``, ``sector``, ``trending_confidence``, ``cost_bps``, ``volatility``,
        ``min_weight``, ``max_weight``, ``fixed_weight`` (see :mod:`portcon.rebalance.history`).
    limits
        As for :func:`portcon.construct`; the same limits at every date.
    returns, prices
        Periodic returns or prices, dates × assets (at most one): drift the weights between
        rebalances and give the book's return over each period (``ReplayResult.pnl``).
        Returns over (previous date, date] are compounded; prices are read at or before each
        date. They are not passed to ``construct`` (no look-ahead risk model is estimated).
    initial
        The book held before the first date, as ``construct(current=)`` takes it (a Series
        asset → weight, or a DataFrame with ``current_weight`` and optional ``days_held``,
        ``days_below_threshold``). Empty (all cash) by default.
    context
        The market context (:class:`portcon.MarketContext`) applied at each date as
        ``construct(context=)`` applies it: one for every date (a MarketContext or a mapping
        of its fields), a mapping or Series date → MarketContext, or a DataFrame with a
        ``date`` column and a column per context field. Dates without one have none. Each
        step's ``Portfolio.limits`` is its effective set, its notes list the changes, and the
        ``context_adjustments`` counter counts the limit fields the context changed.
    **market_data
        Passed unchanged to every ``construct``: ``covariance``, ``factor_model``,
        ``expected_returns``, ``correlation``, ``repair_covariance``.

    Returns
    -------
    ReplayResult
        Weights, trades, turnover, costs, cash, behaviour counters and round trips by date.

    Raises
    ------
    InputError
        A malformed history, market data that cannot drift a held position, or a held asset
        missing from a date's scores (naming the assets and the date).
    PortconError
        Whatever ``construct`` raises at a date (the date is added to the message).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> history = pd.DataFrame(
    ...     {
    ...         "date": ["2025-01-03"] * 2 + ["2025-01-10"] * 2,
    ...         "asset": ["A", "B", "A", "B"],
    ...         "score": [0.9, 0.7, 0.5, 0.8],
    ...     }
    ... )
    >>> result = portcon.replay(history, {"max_single_position": 0.5})
    >>> result.weights.round(3)
    asset           A      B
    date
    2025-01-03  0.495  0.455
    2025-01-10  0.000  0.500
    """
    table = check_history(history)
    limits = coerce_limits(limits)
    if returns is not None and prices is not None:
        raise InputError("give returns= or prices=, not both")
    if "current" in market_data or "returns" in market_data:
        raise InputError("replay carries the current book itself; give the start as initial=")
    dates = list(pd.DatetimeIndex(table["date"].unique()).sort_values())
    contexts = contexts_by_date(context, dates)
    book = start_book(initial, dates[0])
    steps: list[Step] = []
    previous: pd.Timestamp | None = None
    for date in dates:
        rows = table[table["date"] == date]
        pnl = None
        if previous is not None and (returns is not None or prices is not None):
            growth = period_returns(returns, prices, previous, date, list(book.weights))
            pnl = drift(book, growth)
        scores = rows.drop(columns="date").set_index("asset")
        state = carried_state(book, scores, date, limits.min_score_threshold)
        market = {**market_data, "context": contexts[date]}
        portfolio = _construct_at(date, scores.join(state), limits, market)
        counters = step_counters(portfolio, scores, limits)
        counters["context_adjustments"] = adjusted_fields(limits, portfolio.limits)
        steps.append(Step(date, portfolio, state, counters, pnl))
        book = advance(book, portfolio.weights, date)
        previous = date
    return ReplayResult.from_steps(steps, limits, has_market=pnl_given(returns, prices))


def adjusted_fields(given: Limits, effective: Limits) -> int:
    """How many limit fields a step's context changed (``given`` → ``effective``)."""
    before, after = given.model_dump(), effective.model_dump()
    return sum(before[name] != after[name] for name in before)


def pnl_given(returns: pd.DataFrame | None, prices: pd.DataFrame | None) -> bool:
    """Whether the replay drifts weights (and so reports P&L)."""
    return returns is not None or prices is not None


def start_book(initial: pd.Series | pd.DataFrame | None, first: pd.Timestamp) -> Book:
    """The book before the first date, its days counted back from ``first``."""
    book = Book()
    if initial is None:
        return book
    frame = (
        initial.rename("current_weight").to_frame() if isinstance(initial, pd.Series) else initial
    )
    if "current_weight" not in frame.columns:
        raise InputError("initial must be a Series asset → weight or have a current_weight column")
    for asset, row in frame.iterrows():
        weight = float(row["current_weight"])
        if not np.isfinite(weight) or weight < 0:
            raise InputError(f"initial: current_weight of {asset} must be a weight ≥ 0")
        if weight <= 0:
            continue
        book.weights[str(asset)] = weight
        days = int(row.get("days_held", 0) or 0)
        book.opened[str(asset)] = first - pd.Timedelta(days=days)
        below = int(row.get("days_below_threshold", 0) or 0)
        if below:
            book.below_since[str(asset)] = first - pd.Timedelta(days=below)
    return book


def period_returns(
    returns: pd.DataFrame | None,
    prices: pd.DataFrame | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
    assets: list[str],
) -> pd.Series:
    """Each held asset's return over (start, end]: compounded returns, or a price ratio.

    Raises
    ------
    InputError
        When an asset held over the period has no column, no row in the period, or a gap.
    """
    if not assets:
        return pd.Series(dtype=float)
    data = returns if returns is not None else prices
    assert data is not None
    what = "returns" if returns is not None else "prices"
    try:
        index = pd.DatetimeIndex(pd.to_datetime(data.index))
    except (ValueError, TypeError) as error:
        raise InputError(f"{what}: the row labels must be dates (YYYY-MM-DD): {error}") from None
    absent = [a for a in assets if a not in data.columns]
    if absent:
        raise InputError(f"{what}: no column for held asset(s) {listing(absent)}")
    frame = data[assets].astype(float).set_axis(index, axis=0)
    period = f"({start:%Y-%m-%d}, {end:%Y-%m-%d}]"
    if returns is not None:
        window = frame[(index > start) & (index <= end)]
        if window.empty:
            raise InputError(f"returns: no row in {period}, so the held book cannot drift")
        _no_gaps(window, what, period)
        return (1.0 + window).prod(axis=0) - 1.0
    before, after = frame[index <= start], frame[index <= end]
    if before.empty:
        raise InputError(f"prices: no price on or before {start:%Y-%m-%d}")
    first, last = before.iloc[-1], after.iloc[-1]
    _no_gaps(pd.concat([first, last], axis=1).T, what, period)
    if (first <= 0).any():
        raise InputError(f"prices: a price ≤ 0 for {listing(first.index[first <= 0])}")
    return last / first - 1.0


def _no_gaps(window: pd.DataFrame, what: str, period: str) -> None:
    gaps = window.columns[window.isna().any(axis=0).to_numpy()]
    if len(gaps):
        raise InputError(f"{what}: gap for held asset(s) {listing(gaps)} in {period}")


def drift(book: Book, growth: pd.Series) -> float:
    """Drift the book's weights in place by the period's returns; the book's return Σ w r."""
    if not book.weights:
        return 0.0
    assets = list(book.weights)
    weights = np.array([book.weights[a] for a in assets])
    r = growth.reindex(assets).to_numpy(dtype=float)
    total = float(weights @ r)
    if 1.0 + total <= 0:
        raise InputError("returns: the book lost everything over a period; nothing to drift")
    drifted = weights * (1.0 + r) / (1.0 + total)
    book.weights = {a: float(w) for a, w in zip(assets, drifted, strict=True) if w > 0}
    return total


def carried_state(
    book: Book, scores: pd.DataFrame, date: pd.Timestamp, keep: float | None
) -> pd.DataFrame:
    """``current_weight``, ``days_held`` and ``days_below_threshold`` for the date's assets.

    Updates ``book.below_since`` (a streak starts at the first date below the threshold and
    ends when the score is back at or above it).

    Raises
    ------
    InputError
        When a held asset has no score at ``date``.
    """
    missing = [a for a in book.weights if a not in scores.index]
    if missing:
        raise InputError(
            f"{date:%Y-%m-%d}: held asset(s) {listing(missing)} have no score in the history; "
            "a held position is re-scored, never closed silently: give it a row that date"
        )
    weight = np.array([book.weights.get(str(a), 0.0) for a in scores.index])
    held_days = np.zeros(len(scores), dtype=int)
    below_days = np.zeros(len(scores), dtype=int)
    for k, asset in enumerate(map(str, scores.index)):
        if weight[k] <= 0:
            book.below_since.pop(asset, None)
            continue
        held_days[k] = (date - book.opened.get(asset, date)).days
        if keep is not None and float(scores["score"].iloc[k]) < keep:
            since = book.below_since.setdefault(asset, date)
            below_days[k] = (date - since).days
        else:
            book.below_since.pop(asset, None)
    return pd.DataFrame(
        {"current_weight": weight, "days_held": held_days, "days_below_threshold": below_days},
        index=scores.index,
    )


def advance(book: Book, target: pd.Series, date: pd.Timestamp) -> Book:
    """The book after trading to ``target`` at ``date``: opens dated, closes forgotten."""
    held = {str(a): float(w) for a, w in target.items() if w > 0}
    opened = {a: book.opened.get(a, date) if a in book.weights else date for a in held}
    below = {a: since for a, since in book.below_since.items() if a in held}
    return Book(weights=held, opened=opened, below_since=below)


def _construct_at(
    date: pd.Timestamp, scores: pd.DataFrame, limits: Limits, market: dict[str, Any]
) -> Portfolio:
    from portcon.construction import construct

    try:
        return construct(scores, limits, **market)
    except (InputError, LimitsError) as error:
        raise type(error)(f"{date:%Y-%m-%d}: {error}") from error
    except PortconError as error:
        error.add_note(f"at the rebalance of {date:%Y-%m-%d}")
        raise
