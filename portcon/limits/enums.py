"""The enumerations a Limits field takes: sizing modes, estimators, count methods, residuals."""

from __future__ import annotations

from enum import StrEnum


class SizingMode(StrEnum):
    """How raw position sizes are derived from scores (one objective term each)."""

    EQUAL_WEIGHT = "equal_weight"
    SCORE_WEIGHTED = "score_weighted"
    ADAPTIVE = "adaptive"
    TIERED = "tiered"
    INVERSE_VOLATILITY = "inverse_volatility"
    MIN_VARIANCE = "min_variance"
    MEAN_VARIANCE = "mean_variance"
    KELLY = "kelly"
    KELLY_EXACT = "kelly_exact"
    RISK_PARITY = "risk_parity"
    MAX_SHARPE = "max_sharpe"


class MipMethod(StrEnum):
    """How position-count limits are met when the convex answer breaks them."""

    AUTO = "auto"
    EXACT = "exact"
    HEURISTIC = "heuristic"


class CovarianceEstimator(StrEnum):
    """How a risk model is estimated when only returns are given."""

    SAMPLE = "sample"
    LEDOIT_WOLF = "ledoit_wolf"
    OAS = "oas"
    EWMA = "ewma"
    FACTOR = "factor"


class ExpectedReturnEstimator(StrEnum):
    """How expected returns are estimated when not given."""

    HISTORICAL = "historical"
    EWMA = "ewma"
    JAMES_STEIN = "james_stein"
    SCORES = "scores"


class ResidualStrategy(StrEnum):
    """What `tiered` sizing does with allocation its raw sizes leave unused."""

    CASH = "cash"
    PROPORTIONAL = "proportional"
    TOP_SLICE = "top_slice"


DEFAULT_TIERS: tuple[tuple[float, float], ...] = ((0.9, 1.5), (0.8, 1.2), (0.7, 1.0), (0.6, 0.8))
