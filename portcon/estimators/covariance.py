"""Covariance estimators in scikit-learn style, each with a function twin.

Every estimator has a keyword-only ``__init__`` that only stores, ``fit(X) -> self`` and a
fitted ``covariance_`` (per period × ``periods_per_year``). Any scikit-learn covariance
estimator (anything with ``covariance_`` after ``fit``) can be used in their place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.covariance import OAS, LedoitWolf
from sklearn.utils.validation import validate_data

from portcon.errors import InputError
from portcon.estimators._data import check_returns, decay_weights


class _Covariance(BaseEstimator):
    """Shared fitting flow: validate, estimate per period, annualise."""

    def fit(self, X: pd.DataFrame | np.ndarray, y: None = None) -> _Covariance:
        """Estimate from a T × N return history (rows are periods)."""
        values = check_returns(X, min_periods=2)
        validate_data(self, values, ensure_min_samples=2)
        self.location_, covariance = self._estimate(values)
        self.covariance_ = float(self.periods_per_year) * covariance
        return self

    def _estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class SampleCovariance(_Covariance):
    """The unbiased sample covariance (divisor T − 1).

    Parameters
    ----------
    periods_per_year
        Multiplier applied to the per-period covariance (252 for daily returns, 1 for none).
    """

    def __init__(self, *, periods_per_year: float = 1.0) -> None:
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return values.mean(axis=0), np.atleast_2d(np.cov(values, rowvar=False, ddof=1))


class LedoitWolfCovariance(_Covariance):
    """Ledoit–Wolf shrinkage towards a scaled identity (scikit-learn's ``LedoitWolf``)."""

    def __init__(self, *, periods_per_year: float = 1.0) -> None:
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fitted = LedoitWolf().fit(values)
        self.shrinkage_ = float(fitted.shrinkage_)
        return fitted.location_, fitted.covariance_


class OASCovariance(_Covariance):
    """Oracle approximating shrinkage (scikit-learn's ``OAS``)."""

    def __init__(self, *, periods_per_year: float = 1.0) -> None:
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fitted = OAS().fit(values)
        self.shrinkage_ = float(fitted.shrinkage_)
        return fitted.location_, fitted.covariance_


class EWMACovariance(_Covariance):
    """Exponentially weighted covariance: weights halve every ``half_life`` periods.

    Σ = Σ_t a_t (x_t − m)(x_t − m)ᵀ / (1 − Σ_t a_t²), with a_t the normalised weights and m
    the weighted mean (the divisor makes it unbiased for independent draws, like T − 1).
    """

    def __init__(self, *, half_life: float = 60.0, periods_per_year: float = 1.0) -> None:
        self.half_life = half_life
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = decay_weights(values.shape[0], self.half_life)
        mean = weights @ values
        centred = values - mean
        covariance = (centred * weights[:, None]).T @ centred / (1.0 - np.sum(weights**2))
        return mean, covariance


class StatisticalFactorCovariance(_Covariance):
    """k principal factors plus diagonal specific variance.

    From the sample covariance S with eigenpairs (λ_j, v_j), largest first: loadings
    B = [v_1 √λ_1 … v_k √λ_k], factor covariance I, specific variance diag(S − BBᵀ) (floored
    at 1e-12 of the average variance), covariance BBᵀ + diag(specific).

    Attributes
    ----------
    loadings_, factor_covariance_, specific_variance_
        The factor model (annualised like ``covariance_``).
    """

    def __init__(self, *, n_factors: int = 3, periods_per_year: float = 1.0) -> None:
        self.n_factors = n_factors
        self.periods_per_year = periods_per_year

    def _estimate(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = values.shape[1]
        if not 1 <= self.n_factors <= n:
            raise InputError(
                f"n_factors must be in [1, n_features] (n_features = {n}), got {self.n_factors}"
            )
        sample = np.atleast_2d(np.cov(values, rowvar=False, ddof=1))
        eigenvalues, eigenvectors = np.linalg.eigh(sample)
        top = np.argsort(eigenvalues)[::-1][: self.n_factors]
        loadings = eigenvectors[:, top] * np.sqrt(np.maximum(eigenvalues[top], 0.0))
        floor = 1e-12 * float(np.mean(np.diag(sample)))
        specific = np.maximum(np.diag(sample) - np.sum(loadings**2, axis=1), floor)
        scale = float(self.periods_per_year)
        self.loadings_ = loadings * np.sqrt(scale)
        self.factor_covariance_ = np.eye(self.n_factors)
        self.specific_variance_ = specific * scale
        return values.mean(axis=0), loadings @ loadings.T + np.diag(specific)


def _function(estimator: type[_Covariance]) -> Callable[..., np.ndarray | pd.DataFrame]:
    def estimate(returns: pd.DataFrame | np.ndarray, **options: float) -> np.ndarray | pd.DataFrame:
        covariance = estimator(**options).fit(returns).covariance_
        if isinstance(returns, pd.DataFrame):
            return pd.DataFrame(covariance, index=returns.columns, columns=returns.columns)
        return covariance

    estimate.__name__ = estimator.__name__
    estimate.__doc__ = (
        f"Function twin of :class:`{estimator.__name__}`: the fitted ``covariance_`` "
        "(a DataFrame labelled like the returns' columns when given a DataFrame)."
    )
    return estimate


sample_covariance = _function(SampleCovariance)
ledoit_wolf = _function(LedoitWolfCovariance)
oas = _function(OASCovariance)
ewma_covariance = _function(EWMACovariance)
statistical_factor_covariance = _function(StatisticalFactorCovariance)
