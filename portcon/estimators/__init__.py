"""Covariance, volatility and expected-return estimators (scikit-learn conventions)."""

from portcon.estimators.covariance import (
    EWMACovariance,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    StatisticalFactorCovariance,
    ewma_covariance,
    ledoit_wolf,
    oas,
    sample_covariance,
    statistical_factor_covariance,
)
from portcon.estimators.expected_returns import (
    EWMAMean,
    HistoricalMean,
    JamesSteinMean,
    alpha_from_scores,
    ewma_mean,
    historical_mean,
    james_stein_mean,
)
from portcon.estimators.factor_model import FactorModel
from portcon.estimators.moments import correlation, volatility

__all__ = [
    "EWMACovariance",
    "EWMAMean",
    "FactorModel",
    "HistoricalMean",
    "JamesSteinMean",
    "LedoitWolfCovariance",
    "OASCovariance",
    "SampleCovariance",
    "StatisticalFactorCovariance",
    "alpha_from_scores",
    "correlation",
    "ewma_covariance",
    "ewma_mean",
    "historical_mean",
    "james_stein_mean",
    "ledoit_wolf",
    "oas",
    "sample_covariance",
    "statistical_factor_covariance",
    "volatility",
]
