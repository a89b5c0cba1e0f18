"""Market data → :class:`MarketData` aligned on the universe's assets.

Risk enters the optimizer in factor form, Σ = G Gᵀ + diag(d²): exposures G (assets × k) and
specific volatilities d. A dense covariance is factored once; returns are turned into a risk
model by the estimator ``Limits.covariance_estimator`` names. Expected returns come from
``expected_returns=``, else from returns or scores by ``Limits.expected_return_estimator``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
from portcon.estimators._data import check_magnitude, check_returns, check_unique, real_table
from portcon.estimators.covariance import _Covariance
from portcon.estimators.factor_model import nearest_psd
from portcon.limits import CovarianceEstimator, ExpectedReturnEstimator, Limits, SizingMode
from portcon.universe import Universe

RETURN_LIMIT = 1e3  # a return of 100,000% per period is a unit error, and squares overflow
COVARIANCE_LIMIT = 1e6
CORRELATION_TOLERANCE = 1e-9
UNITS_HINT = "returns are fractions (0.01 = 1%) and covariances their squares: check the units"

MARKET_FIELDS = (
    "covariance_estimator",
    "expected_return_estimator",
    "half_life",
    "information_coefficient",
    "n_factors",
    "periods_per_year",
    "risk_model",
    "scenario_count",
    "scenario_seed",
    "sizing_mode",
)
"""The Limits fields :func:`prepare_market_data` reads (with those of the universe in
:data:`MARKET_UNIVERSE_FIELDS`): under limits agreeing on these, the same sources and the same
universe give the same market data (tested by recording what it reads)."""

MARKET_UNIVERSE_FIELDS = ("assets", "score", "volatility")
"""The Universe fields :func:`prepare_market_data` reads (``score`` only for
``expected_return_estimator = 'scores'`` without ``expected_returns``)."""


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
    scenarios
        Equally likely one-period returns (scenarios × assets) of a scenario ``risk_model``:
        the return history (historical) or draws from the risk model (monte_carlo).
    """

    exposures: np.ndarray | None = None
    specific: np.ndarray | None = None
    expected_returns: np.ndarray | None = None
    returns: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    scenarios: np.ndarray | None = None

    @property
    def has_risk(self) -> bool:
        """True when a risk model is present."""
        return self.exposures is not None

    def covariance(self) -> np.ndarray:
        """The dense Σ (for reports and tests; the optimizer uses the factor form)."""
        exposures, specific = self.require_risk()
        return exposures @ exposures.T + np.diag(specific**2)

    def volatility(self) -> np.ndarray:
        """√diag Σ per asset."""
        exposures, specific = self.require_risk()
        return np.sqrt(np.sum(exposures**2, axis=1) + specific**2)

    def require_risk(self) -> tuple[np.ndarray, np.ndarray]:
        """The risk model in factor form, (G, d); for callers that checked ``has_risk``."""
        if self.exposures is None or self.specific is None:
            raise InputError("no risk model: give returns=, covariance= or factor_model=")
        return self.exposures, self.specific

    def require_expected_returns(self) -> np.ndarray:
        """μ per asset; for callers that need expected returns."""
        if self.expected_returns is None:
            raise InputError(
                "no expected returns: give expected_returns= or returns=, "
                "or set expected_return_estimator = 'scores'"
            )
        return self.expected_returns

    def require_returns(self) -> np.ndarray:
        """The return history (T × assets); for callers that need one."""
        if self.returns is None:
            raise InputError("no return history: give returns=")
        return self.returns

    def subset(self, positions: np.ndarray) -> MarketData:
        """The rows of the given asset positions."""

        def rows(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[positions]

        return MarketData(
            exposures=rows(self.exposures),
            specific=rows(self.specific),
            expected_returns=rows(self.expected_returns),
            returns=None if self.returns is None else self.returns[:, positions],
            scenarios=None if self.scenarios is None else self.scenarios[:, positions],
        )


def prepare_market_data(
    universe: Universe,
    limits: Limits,
    returns: pd.DataFrame | None = None,
    covariance: pd.DataFrame | object | None = None,
    factor_model: FactorModel | None = None,
    expected_returns: pd.Series | None = None,
    repair_covariance: bool = False,
) -> MarketData:
    """Align and estimate the market data for ``universe``.

    Raises
    ------
    InputError
        When a source is of the wrong type, misses universe assets (naming them), lists an
        asset twice, has gaps, text or values far outside any return's units, when two risk
        sources are given, or when the risk model is zero.
    """
    _check_types(covariance, factor_model)
    history = None
    if returns is not None:
        history = _aligned_returns(returns, universe.assets)
    notes: list[str] = []
    model = _risk_model(
        universe, limits, history, (covariance, factor_model), repair_covariance, notes
    )
    exposures = None if model is None else model.exposures()
    specific = None if model is None else np.sqrt(model.specific_variance.to_numpy(dtype=float))
    market = MarketData(exposures=exposures, specific=specific, returns=history)
    if market.has_risk:
        _check_risk(market, universe.assets, limits)
    from portcon.market_tail import tail_scenarios, with_garch  # they read MarketData

    market = with_garch(market, limits, universe.assets)
    mu = _expected_returns(universe, limits, market, expected_returns)
    market = replace(market, expected_returns=mu, notes=(*notes, *market.notes))
    return replace(market, scenarios=tail_scenarios(market, limits))


def _check_types(covariance: object, factor_model: object) -> None:
    if covariance is not None and factor_model is not None:
        raise InputError("give covariance= or factor_model=, not both")
    if covariance is not None and not (
        isinstance(covariance, pd.DataFrame) or hasattr(covariance, "fit")
    ):
        raise InputError(
            "covariance must be a DataFrame labelled by asset on both axes, e.g. "
            "pd.DataFrame(matrix, index=assets, columns=assets), or a scikit-learn covariance "
            f"estimator; got {type(covariance).__name__}"
        )
    if factor_model is not None and not isinstance(factor_model, FactorModel):
        raise InputError(
            "factor_model must be a portcon.FactorModel(loadings, factor_covariance, "
            f"specific_variance); got {type(factor_model).__name__}"
        )


def _risk_model(
    universe: Universe,
    limits: Limits,
    history: np.ndarray | None,
    sources: tuple[object, FactorModel | None],
    repair: bool,
    notes: list[str],
) -> FactorModel | None:
    """The risk model from whichever source was given (a note when the covariance is repaired)."""
    covariance, factor_model = sources
    if covariance is not None and hasattr(covariance, "fit"):
        return _from_estimator(covariance, history, universe.assets, limits.periods_per_year)
    if factor_model is not None:
        _require(factor_model.assets, universe.assets, "factor_model")
        check_unique(factor_model.assets, "factor_model")
        return factor_model.subset(universe.assets)
    if isinstance(covariance, pd.DataFrame):  # _check_types: a DataFrame or an estimator
        return _from_covariance(_aligned_covariance(covariance, universe.assets), repair, notes)
    if history is not None:
        estimator = _covariance_estimator(limits).fit(history)
        return FactorModel.from_estimator(estimator, universe.assets)
    return None


def _aligned_covariance(covariance: pd.DataFrame, assets: pd.Index) -> pd.DataFrame:
    """The covariance over ``assets`` (both axes, in their order), as checked floats."""
    check_unique(covariance.index, "covariance (rows)")
    check_unique(covariance.columns, "covariance (columns)")
    _require(covariance.index, assets, "covariance")
    missing = assets.difference(covariance.columns)
    if len(missing):
        relabelled = len(covariance.columns.intersection(covariance.index)) == 0
        hint = (
            "its columns are labelled differently from its rows: label both axes by asset"
            if relabelled
            else "give a column for every row"
        )
        raise InputError(f"covariance has no column for asset(s) {listing(missing)}; {hint}")
    selected = covariance.loc[assets, assets]
    values = real_table(selected, "covariance")
    check_magnitude(values, COVARIANCE_LIMIT, "covariance", UNITS_HINT)
    return pd.DataFrame(values, index=assets, columns=assets)


def _from_covariance(covariance: pd.DataFrame, repair: bool, notes: list[str]) -> FactorModel:
    try:
        return FactorModel.from_covariance(covariance)  # checks Σ in its one eigh
    except InputError as error:
        repairable = "semidefinite" in str(error) or "symmetric" in str(error)
        if not (repair and repairable):
            raise InputError(
                f"{error}; fix it, or ask for the nearest positive semidefinite matrix "
                "(repair_covariance=True, --repair-covariance)"
            ) from error
        covariance, note = nearest_psd(covariance)
        notes.append(note)
    return FactorModel.from_covariance(covariance)


def _check_risk(market: MarketData, assets: pd.Index, limits: Limits) -> None:
    """A risk model that is zero everywhere says nothing; risk parity needs every variance."""
    variance = market.volatility() ** 2
    if not np.any(variance > 0):
        raise InputError(
            "the risk model is zero for every asset (a covariance of zeros, or returns too "
            "small to estimate one): give a real covariance or returns, or leave risk data out"
        )
    if limits.sizing_mode == SizingMode.RISK_PARITY:
        riskless = assets[variance <= 0]
        if len(riskless):
            raise InputError(
                f"risk_parity needs a positive variance for every asset; {listing(riskless)} "
                "have none: drop them or give their risk"
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
    try:
        fitted = clone(estimator).fit(history)
    except (TypeError, ValueError, AttributeError, np.linalg.LinAlgError) as error:
        raise InputError(
            f"covariance estimator {type(estimator).__name__} could not be fitted on the returns "
            f"({error}); give a scikit-learn covariance estimator or a covariance DataFrame"
        ) from error
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
    check_unique(returns.columns, "returns (columns)")
    _require(returns.columns, assets, "returns")
    frame = returns[list(assets)]
    real_table(frame, "returns")
    history = check_returns(frame, min_periods=2)
    check_magnitude(history, RETURN_LIMIT, "returns", UNITS_HINT)
    return history


def _require(available: pd.Index, assets: pd.Index, source: str) -> None:
    missing = assets.difference(available)
    if len(missing):
        raise InputError(
            f"{source} has no data for asset(s) {listing(missing)}; give data for every scored "
            "asset or drop those assets from the scores"
        )


def _covariance_estimator(limits: Limits) -> _Covariance:
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
        check_unique(given.index, "expected_returns")
        _require(given.index, universe.assets, "expected_returns")
        values = real_table(given.loc[universe.assets], "expected_returns")[:, 0]
        bad = universe.assets[~np.isfinite(values)]
        if len(bad):
            raise InputError(f"expected_returns is NaN or infinite for {listing(bad)}")
        check_magnitude(values, RETURN_LIMIT, "expected_returns", UNITS_HINT)
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


def correlation_matrix(given: object, assets: pd.Index) -> np.ndarray:
    """A correlation matrix given by the caller (``correlation=``), checked, over ``assets``.

    Raises
    ------
    InputError
        When it is not a DataFrame labelled by asset on both axes, misses an asset, lists one
        twice, holds text or non-finite values, values outside [-1, 1], a diagonal other than
        1, or is not symmetric; naming the cell and the fix.
    """
    if not isinstance(given, pd.DataFrame):
        raise InputError(
            "correlation must be a DataFrame labelled by asset on both axes, got "
            f"{type(given).__name__}"
        )
    check_unique(given.index, "correlation (rows)")
    check_unique(given.columns, "correlation (columns)")
    _require(given.index, assets, "correlation")
    _require(given.columns, assets, "correlation (columns)")
    matrix = real_table(given.loc[assets, assets], "correlation")
    if not np.all(np.isfinite(matrix)):
        raise InputError("correlation has NaN or infinite values; give every pair a number")
    outside = np.argwhere(np.abs(matrix) > 1 + CORRELATION_TOLERANCE)
    if len(outside):
        i, j = outside[0]
        raise InputError(
            f"correlation of {assets[i]!r} and {assets[j]!r} is {matrix[i, j]:g}, outside "
            "[-1, 1]; give correlations, not covariances"
        )
    if np.any(np.abs(np.diag(matrix) - 1) > CORRELATION_TOLERANCE):
        raise InputError("correlation must have 1 on its diagonal (each asset with itself)")
    if np.any(np.abs(matrix - matrix.T) > CORRELATION_TOLERANCE):
        raise InputError("correlation must be symmetric (ρ_ij = ρ_ji)")
    return matrix
