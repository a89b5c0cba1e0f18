"""Market data → :class:`MarketData` aligned on the universe's assets.

Risk enters the optimizer in factor form, Σ = G Gᵀ + diag(d²): exposures G (assets × k) and
specific volatilities d. A dense covariance is factored once; returns are turned into a risk
model by the estimator ``Limits.covariance_estimator`` names. Expected returns come from
``expected_returns=``, else from returns or scores by ``Limits.expected_return_estimator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from portcon._text import listing
from portcon.errors import InputError
from portcon.estimators import (
    EWMACovariance,
    EWMAMean,
    FactorModel,
    HistoricalMean,
    JamesSteinMean,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    StatisticalFactorCovariance,
    alpha_from_scores,
)
from portcon.estimators._data import check_returns
from portcon.estimators.factor_model import check_covariance, nearest_psd
from portcon.limits import CovarianceEstimator, ExpectedReturnEstimator, Limits
from portcon.universe import Universe


@dataclass(frozen=True, eq=False)
class MarketData:
    """Risk and return inputs, one row per universe asset (in universe order).

    Attributes
    ----------
    exposures
        G, assets × k, with Σ = G Gᵀ + diag(specific²); None without risk data.
    specific
        d, the specific volatility per asset; None without risk data.
    expected_returns
        μ per asset; None when not given and not estimable.
    returns
        The return history (T × assets), when given.
    """

    exposures: np.ndarray | None = None
    specific: np.ndarray | None = None
    expected_returns: np.ndarray | None = None
    returns: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def has_risk(self) -> bool:
        """True when a risk model is present."""
        return self.exposures is not None

    def covariance(self) -> np.ndarray:
        """The dense Σ (for reports and tests; the optimizer uses the factor form)."""
        if self.exposures is None or self.specific is None:
            raise InputError("no risk model: give returns=, covariance= or factor_model=")
        return self.exposures @ self.exposures.T + np.diag(self.specific**2)

    def volatility(self) -> np.ndarray:
        """√diag Σ per asset."""
        if self.exposures is None or self.specific is None:
            raise InputError("no risk model: give returns=, covariance= or factor_model=")
        return np.sqrt(np.sum(self.exposures**2, axis=1) + self.specific**2)

    def subset(self, positions: np.ndarray) -> MarketData:
        """The rows of the given asset positions."""

        def rows(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[positions]

        return MarketData(
            exposures=rows(self.exposures),
            specific=rows(self.specific),
            expected_returns=rows(self.expected_returns),
            returns=None if self.returns is None else self.returns[:, positions],
        )


def prepare_market_data(
    universe: Universe,
    limits: Limits,
    returns: pd.DataFrame | None = None,
    covariance: pd.DataFrame | None = None,
    factor_model: FactorModel | None = None,
    expected_returns: pd.Series | None = None,
    repair_covariance: bool = False,
) -> MarketData:
    """Align and estimate the market data for ``universe``.

    Raises
    ------
    InputError
        When a source misses universe assets (naming them), has gaps, or two risk sources
        are given.
    """
    if covariance is not None and factor_model is not None:
        raise InputError("give covariance= or factor_model=, not both")
    notes: list[str] = []
    history = None
    if returns is not None:
        history = _aligned_returns(returns, universe.assets)
    model = None
    if covariance is not None and hasattr(covariance, "fit"):
        model = _from_estimator(covariance, history, universe.assets, limits.periods_per_year)
    elif factor_model is not None:
        _require(factor_model.assets, universe.assets, "factor_model")
        model = factor_model.subset(universe.assets)
    elif covariance is not None:
        _require(covariance.index, universe.assets, "covariance")
        covariance = covariance.loc[universe.assets, universe.assets]
        try:
            check_covariance(covariance)
        except InputError as error:
            repairable = "semidefinite" in str(error) or "symmetric" in str(error)
            if not (repair_covariance and repairable):
                raise InputError(
                    f"{error}; fix it, or ask for the nearest positive semidefinite matrix "
                    "(repair_covariance=True, --repair-covariance)"
                ) from error
            covariance, note = nearest_psd(covariance)
            notes.append(note)
        model = FactorModel.from_covariance(covariance)
    elif history is not None:
        estimator = _covariance_estimator(limits).fit(history)
        model = FactorModel.from_estimator(estimator, universe.assets)
    exposures = None if model is None else model.exposures()
    specific = None if model is None else np.sqrt(model.specific_variance.to_numpy(dtype=float))
    market = MarketData(exposures=exposures, specific=specific, returns=history)
    mu = _expected_returns(universe, limits, market, expected_returns)
    return MarketData(
        exposures=exposures,
        specific=specific,
        expected_returns=mu,
        returns=history,
        notes=tuple(notes),
    )


def _from_estimator(
    estimator: object, history: np.ndarray | None, assets: pd.Index, periods_per_year: float
) -> FactorModel:
    """Fit any scikit-learn covariance estimator (a fresh clone) on the returns.

    Its ``covariance_`` is per period and is annualised by ``periods_per_year``; portcon's own
    estimators and factor attributes (``loadings_``…) are used as they are.
    """
    if history is None:
        raise InputError("a covariance estimator needs returns= to fit on")
    fitted = clone(estimator).fit(history)
    if not hasattr(fitted, "covariance_"):
        raise InputError(f"{type(estimator).__name__} has no covariance_ after fit")
    if hasattr(fitted, "periods_per_year"):  # portcon's estimators annualise themselves
        return FactorModel.from_estimator(fitted, assets)
    scaled = pd.DataFrame(
        np.asarray(fitted.covariance_, dtype=float) * periods_per_year, index=assets, columns=assets
    )
    return FactorModel.from_covariance(scaled)


def _aligned_returns(returns: pd.DataFrame, assets: pd.Index) -> np.ndarray:
    if not isinstance(returns, pd.DataFrame):
        raise InputError("returns must be a DataFrame: dates × assets")
    columns = pd.Index([str(c) for c in returns.columns])
    _require(columns, assets, "returns")
    frame = returns.set_axis(columns, axis=1)[list(assets)]
    return check_returns(frame, min_periods=2)


def _require(available: pd.Index, assets: pd.Index, source: str) -> None:
    missing = assets.difference(available)
    if len(missing):
        raise InputError(
            f"{source} has no data for asset(s) {listing(missing)}; give data for every scored "
            "asset or drop those assets from the scores"
        )


def _covariance_estimator(limits: Limits):
    scale = {"periods_per_year": limits.periods_per_year}
    choice = limits.covariance_estimator
    if choice == CovarianceEstimator.SAMPLE:
        return SampleCovariance(**scale)
    if choice == CovarianceEstimator.LEDOIT_WOLF:
        return LedoitWolfCovariance(**scale)
    if choice == CovarianceEstimator.OAS:
        return OASCovariance(**scale)
    if choice == CovarianceEstimator.EWMA:
        return EWMACovariance(half_life=limits.half_life, **scale)
    return StatisticalFactorCovariance(n_factors=limits.n_factors, **scale)


def _expected_returns(
    universe: Universe,
    limits: Limits,
    market: MarketData,
    given: pd.Series | None,
) -> np.ndarray | None:
    if given is not None:
        if not isinstance(given, pd.Series):
            raise InputError("expected_returns must be a Series indexed by asset")
        _require(given.index, universe.assets, "expected_returns")
        values = given.loc[universe.assets].to_numpy(dtype=float)
        bad = universe.assets[~np.isfinite(values)]
        if len(bad):
            raise InputError(f"expected_returns is NaN or infinite for {listing(bad)}")
        return values
    choice = limits.expected_return_estimator
    if choice == ExpectedReturnEstimator.SCORES:
        if not market.has_risk and universe.volatility is None:
            return None
        volatility = market.volatility() if market.has_risk else universe.volatility
        scores = pd.Series(universe.score, index=universe.assets)
        alpha = alpha_from_scores(
            scores, pd.Series(volatility, index=universe.assets), limits.information_coefficient
        )
        return alpha.to_numpy()
    if market.returns is None:
        return None
    scale = {"periods_per_year": limits.periods_per_year}
    if choice == ExpectedReturnEstimator.EWMA:
        estimator = EWMAMean(half_life=limits.half_life, **scale)
    elif choice == ExpectedReturnEstimator.JAMES_STEIN:
        estimator = JamesSteinMean(**scale)
    else:
        estimator = HistoricalMean(**scale)
    return estimator.fit(market.returns).expected_returns_
