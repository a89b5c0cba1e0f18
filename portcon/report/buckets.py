"""The rebalancer's reports: bucket statistics, the diversification report, sizing analytics,
and :func:`check`, the independent limit check for any weights (pre-flight validation).

Each reads a :class:`~portcon.Portfolio` (its explanations table carries weight, score, bucket
and sector per asset), so it can be asked of any result, including one from ``replay``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portcon.errors import InputError

if TYPE_CHECKING:
    from portcon.limits import Limits
    from portcon.portfolio import Portfolio

HELD = 1e-10


def bucket_statistics(portfolio: Portfolio) -> pd.DataFrame:
    """Per bucket of the held assets: ``count``, ``allocation``, ``assets`` and the
    ``average_score``, ``max_score`` and ``min_score`` of its held names (the seed's
    ``BucketStatistics``).

    Raises
    ------
    InputError
        When the scores had no bucket column.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.DataFrame(
    ...     {"score": [0.9, 0.8, 0.7], "bucket": ["Tech", "Tech", "Energy"]}, index=["A", "B", "C"]
    ... )
    >>> stats = portcon.bucket_statistics(portcon.construct(scores, {"max_single_position": 0.5}))
    >>> stats["count"].to_dict()
    {'Tech': 2, 'Energy': 1}
    """
    table = _held(portfolio)
    if "bucket" not in table:
        raise InputError("bucket statistics need a 'bucket' column in the scores")
    grouped = table.groupby("bucket", sort=True)
    frame = pd.DataFrame(
        {
            "count": grouped["weight"].size(),
            "allocation": grouped["weight"].sum(),
            "assets": grouped.apply(lambda g: ", ".join(str(a) for a in g.index)),
            "average_score": grouped["score"].mean(),
            "max_score": grouped["score"].max(),
            "min_score": grouped["score"].min(),
        }
    )
    frame.index.name = "bucket"
    return frame.sort_values("allocation", ascending=False, kind="stable")


@dataclass(frozen=True)
class DiversificationReport:
    """How the portfolio spreads over buckets, sectors and co-movement.

    Attributes
    ----------
    bucket_distribution, sector_distribution
        Weight per group as a share of the invested weight (None without the column).
    largest_bucket, largest_bucket_share
        The bucket holding the most, and its share of the invested weight.
    active_buckets
        Buckets holding a position.
    herfindahl_index
        Σ (w_i / Σw)² over the positions.
    bucket_balance_score
        1 − Σ_b abs(s_b − 1/B) / (2 (1 − 1/B)) over the B buckets of the universe, s_b the bucket
        shares: 1 when every bucket holds an equal share, 0 when one bucket holds everything.
    correlation
        Sample correlation of the held assets' returns (None without returns).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> book = portcon.construct(pd.Series({"A": 0.9, "B": 0.8}))
    >>> isinstance(portcon.diversification_report(book), portcon.DiversificationReport)
    True
    """

    bucket_distribution: pd.Series | None
    sector_distribution: pd.Series | None
    largest_bucket: str | None
    largest_bucket_share: float | None
    active_buckets: int | None
    herfindahl_index: float
    bucket_balance_score: float | None
    correlation: pd.DataFrame | None


def diversification_report(
    portfolio: Portfolio, returns: pd.DataFrame | None = None
) -> DiversificationReport:
    """The seed's diversification report of ``portfolio`` (with ``returns``: the correlation
    matrix of its holdings).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.DataFrame(
    ...     {"score": [0.9, 0.8, 0.7], "bucket": ["Tech", "Tech", "Energy"]}, index=["A", "B", "C"]
    ... )
    >>> book = portcon.construct(scores, {"max_single_position": 0.5})
    >>> report = portcon.diversification_report(book)
    >>> report.active_buckets, report.largest_bucket
    (2, 'Tech')
    """
    frame = portfolio.explanations
    held = _held(portfolio)
    invested = float(held["weight"].sum())
    shares = held["weight"] / invested if invested > 0 else held["weight"]
    buckets = _distribution(held, "bucket", invested)
    sectors = _distribution(held, "sector", invested)
    largest = None if buckets is None or buckets.empty else str(buckets.idxmax())
    balance = None
    if "bucket" in frame and buckets is not None:
        universe_buckets = frame["bucket"].dropna().unique()
        full = buckets.reindex(universe_buckets, fill_value=0.0)
        count = len(full)
        balance = (
            1.0
            if count < 2
            else 1.0 - float(np.abs(full - 1 / count).sum()) / (2 * (1 - 1 / count))
        )
    correlation = None
    if returns is not None:
        missing = [a for a in held.index if a not in returns.columns]
        if missing:
            raise InputError(f"returns have no column for held asset(s) {', '.join(missing)}")
        correlation = returns[list(held.index)].corr()
    return DiversificationReport(
        bucket_distribution=buckets,
        sector_distribution=sectors,
        largest_bucket=largest,
        largest_bucket_share=None if largest is None or buckets is None else float(buckets.max()),
        active_buckets=None if buckets is None else int((buckets > 0).sum()),
        herfindahl_index=float((shares**2).sum()),
        bucket_balance_score=balance,
        correlation=correlation,
    )


def sizing_analytics(portfolio: Portfolio) -> dict[str, float]:
    """The seed's position-sizing analytics: ``total_allocation``, ``positions``,
    ``average_position_size``, ``position_size_variance`` (population), ``largest_position``,
    ``smallest_position`` and ``sizing_efficiency`` (invested / target_allocation).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> limits = {"sizing_mode": "equal_weight", "max_single_position": 0.5}
    >>> book = portcon.construct(pd.Series({"A": 0.9, "B": 0.8}), limits)
    >>> analytics = portcon.sizing_analytics(book)
    >>> analytics["positions"], round(analytics["average_position_size"], 4)
    (2.0, 0.475)
    """
    weights = _held(portfolio)["weight"].to_numpy(dtype=float)
    total = float(weights.sum())
    empty = not len(weights)
    return {
        "total_allocation": total,
        "positions": float(len(weights)),
        "average_position_size": 0.0 if empty else float(weights.mean()),
        "position_size_variance": 0.0 if empty else float(weights.var()),
        "largest_position": 0.0 if empty else float(weights.max()),
        "smallest_position": 0.0 if empty else float(weights.min()),
        "sizing_efficiency": total / portfolio.limits.target_allocation,
    }


def check(
    weights: Portfolio | pd.Series | Mapping[Any, float],
    scores: pd.Series | pd.DataFrame,
    limits: Limits | str | Mapping[str, Any] | None = None,
    *,
    correlation: pd.DataFrame | None = None,
) -> list[str]:
    """Every limit ``weights`` break, in words (empty when none): the independent checker that
    runs on every :func:`portcon.construct` answer, for any weights (pre-flight validation).

    Parameters
    ----------
    weights
        A Portfolio (its limits are used unless ``limits`` is given), or weight per asset;
        assets of ``scores`` without a weight hold 0.
    scores
        The scores table the weights are for (bucket, sector, current_weight, … columns).
    limits
        As for :func:`portcon.construct`.
    correlation
        Asset correlations, to check ``correlation_limit``.

    Raises
    ------
    InputError
        When a weighted asset is not among the scores, or a weight is not a number.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.DataFrame({"score": [0.9, 0.8], "bucket": ["Tech", "Tech"]}, index=["A", "B"])
    >>> portcon.check({"A": 0.3, "B": 0.3}, scores, {"max_bucket_allocation": 0.5})
    ['...Tech...']
    >>> portcon.check({"A": 0.1, "B": 0.1}, scores, {"max_bucket_allocation": 0.5})
    []
    """
    from portcon.limits import coerce_limits
    from portcon.market import correlation_matrix
    from portcon.report.check import violations
    from portcon.universe import Universe

    universe = Universe.from_scores(scores)
    if limits is None and hasattr(weights, "limits"):
        limits = weights.limits
    series = weights.weights if hasattr(weights, "weights") else pd.Series(weights, dtype=object)
    unknown = [str(a) for a in series.index if a not in universe.assets]
    if unknown:
        raise InputError(f"weights for asset(s) {', '.join(unknown)} that the scores lack")
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().any():
        raise InputError(f"weights must be numbers: {series[values.isna()].to_dict()}")
    aligned = values.reindex(universe.assets, fill_value=0.0).to_numpy(dtype=float)
    matrix = None if correlation is None else correlation_matrix(correlation, universe.assets)
    return violations(aligned, universe, coerce_limits(limits), correlation=matrix)


def _held(portfolio: Portfolio) -> pd.DataFrame:
    frame = portfolio.explanations
    return frame[frame["weight"] > HELD]


def _distribution(held: pd.DataFrame, column: str, invested: float) -> pd.Series | None:
    if column not in held:
        return None
    totals = held.groupby(column, sort=True)["weight"].sum()
    return totals / invested if invested > 0 else totals
