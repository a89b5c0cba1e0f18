"""Expected-return estimators (scikit-learn style) and the Grinold–Kahn alpha from scores.

Each estimator has a fitted ``expected_returns_`` (per period × ``periods_per_year``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from portcon.errors import InputError
from portcon.estimators._data import check_returns, decay_weights


class _Mean(BaseEstimator):
    def fit(self, X: pd.DataFrame | np.ndarray, y: None = None) -> _Mean:
        """Estimate from a T × N return history (rows are periods)."""
        values = check_returns(X, min_periods=2)
        validate_data(self, values, ensure_min_samples=2)
        self.expected_returns_ = float(self.periods_per_year) * self._estimate(values)
        return self

    def _estimate(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class HistoricalMean(_Mean):
    """The arithmetic mean return."""

    def __init__(self, *, periods_per_year: float = 1.0) -> None:
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> np.ndarray:
        return values.mean(axis=0)


class EWMAMean(_Mean):
    """The exponentially weighted mean: weights halve every ``half_life`` periods."""

    def __init__(self, *, half_life: float = 60.0, periods_per_year: float = 1.0) -> None:
        self.half_life = half_life
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> np.ndarray:
        return decay_weights(values.shape[0], self.half_life) @ values


class JamesSteinMean(_Mean):
    """The sample means shrunk towards their grand mean (positive-part James–Stein).

    μ = m̄ + (1 − c)(m − m̄) with c = min(1, (N − 3) v̄ / (T Σ_i (m_i − m̄)²)), v̄ the average
    sample variance (so v̄ / T is the variance of each sample mean). ``shrinkage_`` is c.
    Needs N ≥ 4 assets to shrink at all; with fewer, c = 0.
    """

    def __init__(self, *, periods_per_year: float = 1.0) -> None:
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> np.ndarray:
        periods, n = values.shape
        means = values.mean(axis=0)
        grand = float(means.mean())
        spread = float(np.sum((means - grand) ** 2))
        average_variance = float(np.mean(values.var(axis=0, ddof=1)))
        if n < 4 or spread <= 0:
            shrinkage = 0.0 if n < 4 else 1.0
        else:
            shrinkage = min(1.0, (n - 3) * average_variance / (periods * spread))
        self.shrinkage_ = shrinkage
        return grand + (1.0 - shrinkage) * (means - grand)


def alpha_from_scores(
    scores: pd.Series, volatility: pd.Series, information_coefficient: float = 0.05
) -> pd.Series:
    """Grinold–Kahn: alpha_i = IC × σ_i × z_i, z the cross-sectionally standardised score.

    Raises
    ------
    InputError
        When scores and volatilities cover different assets, or all scores are equal.
    """
    if not scores.index.equals(volatility.index):
        missing = scores.index.symmetric_difference(volatility.index)
        raise InputError(f"scores and volatility cover different assets: {list(missing)[:8]}")
    spread = float(scores.std(ddof=0))
    if spread <= 0:
        raise InputError("all scores are equal: standardised scores (and alphas) are undefined")
    z = (scores - scores.mean()) / spread
    return (information_coefficient * volatility * z).rename("alpha")


def historical_mean(returns: pd.DataFrame, **options: float) -> pd.Series:
    """Function twin of :class:`HistoricalMean`."""
    return pd.Series(
        HistoricalMean(**options).fit(returns).expected_returns_, index=returns.columns
    )


def ewma_mean(returns: pd.DataFrame, **options: float) -> pd.Series:
    """Function twin of :class:`EWMAMean`."""
    return pd.Series(EWMAMean(**options).fit(returns).expected_returns_, index=returns.columns)


def james_stein_mean(returns: pd.DataFrame, **options: float) -> pd.Series:
    """Function twin of :class:`JamesSteinMean`."""
    return pd.Series(
        JamesSteinMean(**options).fit(returns).expected_returns_, index=returns.columns
    )
