"""What a replay returns: tables by date, the behaviour counters, round trips and a plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from portcon.limits import Limits
from portcon.portfolio import Portfolio

COUNTERS = (
    "positions",
    "opens",
    "closes",
    "increases",
    "decreases",
    "rejected_entry",
    "rejected_confidence",
    "rejected_max_new",
    "rejected_new",
    "bucket_enforcements",
    "grace",
    "forced_closes",
    "overrides",
    "context_adjustments",
    "round_trips",
)
"""Counter columns, one row per date (see :func:`step_counters`)."""

BUCKET_RULES = ("(max_positions_per_bucket)", "(bucket_position_limits)")


@dataclass(frozen=True)
class Step:
    """One rebalance: its date, the answer, the carried state it was given, its counters and
    the book's return over the period that ended at it (None without market data)."""

    date: pd.Timestamp
    portfolio: Portfolio
    state: pd.DataFrame
    counters: dict[str, int]
    pnl: float | None


def step_counters(portfolio: Portfolio, scores: pd.DataFrame, limits: Limits) -> dict[str, int]:
    """The behaviour counters of one rebalance.

    ``rejected_entry``: not held, score at or above ``min_score_threshold`` but below
    ``min_score_new_position`` (the entry band kept it out); ``rejected_confidence``: not held,
    above the entry threshold, ``trending_confidence`` below ``min_confidence_new``;
    ``rejected_max_new``: not held and not opened because ``max_new_positions`` was reached;
    ``rejected_new`` their sum. ``bucket_enforcements``: left out because its bucket had its
    count of positions; ``grace``: held positions kept in their grace period; ``forced_closes``:
    closed because grace expired; ``overrides``: held past its bucket's position count by a
    bucket override. ``context_adjustments`` (the limit fields the date's market context
    changed) is filled in by the replay.
    ``round_trips`` is filled in by the replay (closes of positions opened within it).
    """
    trades = portfolio.trades
    assert trades is not None  # the replay always passes current weights
    weights = portfolio.weights
    reasons = portfolio.explanations["reason"].astype(str)
    actions = trades["action"].value_counts()
    held = weights.index.isin(trades.index[trades["current"] > 0])
    out = ~held & (weights.to_numpy() <= 0)
    score = scores["score"].reindex(weights.index).to_numpy(dtype=float)
    keep = -np.inf if limits.min_score_threshold is None else limits.min_score_threshold
    enter = max(keep, limits.min_score_new_position or -np.inf)
    entry_band = out & (score >= keep) & (score < enter)
    confidence = np.zeros(len(weights), dtype=bool)
    if limits.min_confidence_new is not None and "trending_confidence" in scores.columns:
        trend = scores["trending_confidence"].reindex(weights.index).to_numpy(dtype=float)
        confidence = out & (score >= enter) & (trend < limits.min_confidence_new)
    max_new = out & reasons.str.contains("max_new_positions", regex=False).to_numpy()
    bucket = reasons.map(lambda r: any(rule in r for rule in BUCKET_RULES)).to_numpy()
    forced = reasons.str.contains("grace_period_days", regex=False) & reasons.str.startswith(
        "closed:"
    )
    in_grace = reasons.str.contains("grace day", regex=False).to_numpy() & (weights > 0)
    return {
        "positions": int((weights > 0).sum()),
        "opens": int(actions.get("open", 0)),
        "closes": int(actions.get("close", 0)),
        "increases": int(actions.get("increase", 0)),
        "decreases": int(actions.get("decrease", 0)),
        "rejected_entry": int(entry_band.sum()),
        "rejected_confidence": int(confidence.sum()),
        "rejected_max_new": int(max_new.sum()),
        "rejected_new": int(entry_band.sum() + confidence.sum() + max_new.sum()),
        "bucket_enforcements": int((bucket & (weights.to_numpy() <= 0)).sum()),
        "grace": int(in_grace.sum()),
        "forced_closes": int((forced.to_numpy() & held).sum()),
        "overrides": int(reasons.str.contains("bucket override:", regex=False).sum()),
        "context_adjustments": 0,
        "round_trips": 0,
    }


@dataclass(frozen=True)
class ReplayResult:
    """The result of :func:`portcon.replay`; every table is indexed or keyed by date.

    Attributes
    ----------
    weights
        Target weight after each rebalance, dates × assets (0 where not held or not scored).
    trades
        Every step's :attr:`Portfolio.trades` with a leading ``date`` and ``asset`` column.
    turnover, costs, cash
        One-way turnover Σ|change|/2, estimated trading cost and cash per date.
    counters
        Behaviour counters per date (:data:`COUNTERS`, see :func:`step_counters`).
    pnl
        The book's return over the period ending at each date (before that date's trades and
        costs; 0 at the first date), or None without returns or prices.
    states
        The carried state each step was given: date, asset, ``current_weight``, ``days_held``,
        ``days_below_threshold`` (one row per scored asset).
    round_trips
        One row per position opened and closed again within the history: asset, opened,
        closed, days.
    paths
        How each step's answer was found (``convex``, ``mixed_integer``, ``heuristic``).
    limits
        The effective limits used at every step.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> history = pd.DataFrame(
    ...     {"date": ["2025-01-03", "2025-01-10"], "asset": ["A", "A"], "score": [0.9, 0.5]}
    ... )
    >>> result = portcon.replay(history, {"max_single_position": 0.5})
    >>> result.totals()["opens"], result.totals()["closes"]
    (1.0, 1.0)
    """

    weights: pd.DataFrame
    trades: pd.DataFrame
    turnover: pd.Series
    costs: pd.Series
    cash: pd.Series
    counters: pd.DataFrame
    pnl: pd.Series | None
    states: pd.DataFrame
    round_trips: pd.DataFrame
    paths: pd.Series
    limits: Limits

    @classmethod
    def from_steps(cls, steps: list[Step], limits: Limits, has_market: bool) -> ReplayResult:
        """Assemble the tables from the steps in date order."""
        dates = pd.DatetimeIndex([s.date for s in steps], name="date")
        assets = list(dict.fromkeys(a for s in steps for a in s.portfolio.weights.index))
        weights = pd.DataFrame(
            [s.portfolio.weights.reindex(assets, fill_value=0.0) for s in steps], index=dates
        ).fillna(0.0)
        weights.columns.name = "asset"
        trades = pd.concat([_dated(s.portfolio.trades, s.date) for s in steps], ignore_index=True)
        states = pd.concat([_dated(s.state, s.date) for s in steps], ignore_index=True)
        trips = round_trips(trades)
        counters = pd.DataFrame([s.counters for s in steps], index=dates, columns=list(COUNTERS))
        closed = trips.groupby("closed").size() if len(trips) else pd.Series(dtype=int)
        counters["round_trips"] = closed.reindex(dates, fill_value=0).to_numpy(dtype=int)

        def series(values: list[float], name: str) -> pd.Series:
            return pd.Series(values, index=dates, name=name, dtype=float)

        return cls(
            weights=weights,
            trades=trades,
            turnover=series([s.portfolio.turnover for s in steps], "turnover"),
            costs=series([s.portfolio.trading_cost for s in steps], "costs"),
            cash=series([s.portfolio.cash for s in steps], "cash"),
            counters=counters,
            pnl=series([s.pnl or 0.0 for s in steps], "pnl") if has_market else None,
            states=states,
            round_trips=trips,
            paths=pd.Series([str(s.portfolio.path) for s in steps], index=dates, name="path"),
            limits=limits,
        )

    def summary(self) -> pd.DataFrame:
        """Turnover, costs, cash, P&L (when known) and the counters, one row per date."""
        columns = [self.turnover, self.costs, self.cash]
        if self.pnl is not None:
            columns.append(self.pnl)
        return pd.concat([*columns, self.counters], axis=1)

    def totals(self) -> dict[str, float]:
        """Whole-history figures: turnover and costs summed, mean positions, counter sums."""
        found = {"turnover": float(self.turnover.sum()), "costs": float(self.costs.sum())}
        found["mean_positions"] = float(self.counters["positions"].mean())
        for name in COUNTERS:
            if name != "positions":
                found[name] = float(self.counters[name].sum())
        return found

    def plot(self, path: str | Path) -> Path:
        """Write a PNG: weights (stacked area) and turnover over time (needs matplotlib)."""
        from portcon.rebalance.replay_plot import write_png

        return write_png(self, Path(path))


def _dated(frame: pd.DataFrame | None, date: pd.Timestamp) -> pd.DataFrame:
    assert frame is not None
    out = frame.rename_axis("asset").reset_index()
    out.insert(0, "date", date)
    return out


def round_trips(trades: pd.DataFrame) -> pd.DataFrame:
    """Positions opened and closed again within the history, from the dated trades."""
    opened: dict[str, pd.Timestamp] = {}
    rows = []
    for date, asset, action in trades[["date", "asset", "action"]].itertuples(index=False):
        if action == "open":
            opened[str(asset)] = date
        elif action == "close" and str(asset) in opened:
            start = opened.pop(str(asset))
            rows.append((str(asset), start, date, (date - start).days))
    return pd.DataFrame(rows, columns=["asset", "opened", "closed", "days"])
