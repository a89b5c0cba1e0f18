"""The enumerations a Limits field takes: sizing modes, estimators, count methods, residuals."""

from __future__ import annotations

from enum import StrEnum


class SizingMode(StrEnum):
    """How raw position sizes are derived from scores (one objective term each).

    Examples
    --------
    >>> import portcon
    >>> portcon.SizingMode("score_weighted") is portcon.SizingMode.SCORE_WEIGHTED
    True
    >>> portcon.Limits(sizing_mode="min_variance").sizing_mode
    <SizingMode.MIN_VARIANCE: 'min_variance'>
    """

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
    MAX_DIVERSIFICATION = "max_diversification"
    MIN_TRACKING_ERROR = "min_tracking_error"
    ACTIVE_MEAN_VARIANCE = "active_mean_variance"
    MIN_CVAR = "min_cvar"


SIZING_MODE_MEANINGS: dict[SizingMode, str] = {
    SizingMode.EQUAL_WEIGHT: "equal shares",
    SizingMode.SCORE_WEIGHTED: "∝ score",
    SizingMode.ADAPTIVE: "∝ 1 + score/Σscore",
    SizingMode.TIERED: "score tiers × base size",
    SizingMode.INVERSE_VOLATILITY: "∝ score / volatility; needs a volatility column",
    SizingMode.MIN_VARIANCE: "least variance; needs a risk model",
    SizingMode.MEAN_VARIANCE: "most μᵀw − γ/2 wᵀΣw; needs a risk model and expected returns",
    SizingMode.KELLY: "fractional Kelly, Gaussian; needs a risk model and expected returns",
    SizingMode.KELLY_EXACT: "fractional Kelly on the return history; needs returns",
    SizingMode.RISK_PARITY: "equal or budgeted risk contributions; needs a risk model",
    SizingMode.MAX_SHARPE: "most Sharpe ratio; needs a risk model and expected returns",
    SizingMode.MAX_DIVERSIFICATION: "most σᵀw/√(wᵀΣw), σ the volatilities; needs a risk model",
    SizingMode.MIN_TRACKING_ERROR: "least (w−b)ᵀΣ(w−b), b the benchmark_weight column",
    SizingMode.ACTIVE_MEAN_VARIANCE: "most μᵀ(w−b) − γ/2 (w−b)ᵀΣ(w−b): mean-variance of the "
    "active weights; needs a benchmark_weight column, a risk model and expected returns",
    SizingMode.MIN_CVAR: "least CVaR at confidence_level under risk_model",
}
"""One line per sizing mode: the help text of ``sizing_mode`` is generated from it."""


def sizing_mode_help() -> str:
    """The ``sizing_mode`` description, listing every mode (so it cannot go stale)."""
    modes = "; ".join(f"{mode} ({SIZING_MODE_MEANINGS[mode]})" for mode in SizingMode)
    return f"How sizes follow scores and risk: {modes}."


class MipMethod(StrEnum):
    """How position-count limits are met when the convex answer breaks them.

    Examples
    --------
    >>> import portcon
    >>> [method.value for method in portcon.MipMethod]
    ['auto', 'exact', 'heuristic']
    """

    AUTO = "auto"
    EXACT = "exact"
    HEURISTIC = "heuristic"


class CovarianceEstimator(StrEnum):
    """How a risk model is estimated when only returns are given.

    Examples
    --------
    >>> import portcon
    >>> portcon.Limits().covariance_estimator
    <CovarianceEstimator.LEDOIT_WOLF: 'ledoit_wolf'>
    """

    SAMPLE = "sample"
    LEDOIT_WOLF = "ledoit_wolf"
    OAS = "oas"
    EWMA = "ewma"
    FACTOR = "factor"


class ExpectedReturnEstimator(StrEnum):
    """How expected returns are estimated when not given.

    Examples
    --------
    >>> import portcon
    >>> portcon.Limits(expected_return_estimator="james_stein").expected_return_estimator.value
    'james_stein'
    """

    HISTORICAL = "historical"
    EWMA = "ewma"
    JAMES_STEIN = "james_stein"
    SCORES = "scores"


class ResidualStrategy(StrEnum):
    """What a score sizing mode does with the part of the target its raw sizes leave unused.

    ``auto`` is each mode's own: top_slice where raw sizes are absolute (tiered, or a
    ``base_position_size``), proportional where they are shares of the target. The seed's
    words ``safe_top_slice`` and ``cash_bucket`` are read as ``top_slice`` and ``cash``.

    Examples
    --------
    >>> import portcon
    >>> portcon.Limits(residual_strategy="cash").residual_strategy.value
    'cash'
    """

    AUTO = "auto"
    CASH = "cash"
    PROPORTIONAL = "proportional"
    TOP_SLICE = "top_slice"

    @classmethod
    def _missing_(cls, value: object) -> ResidualStrategy | None:
        return {"safe_top_slice": cls.TOP_SLICE, "cash_bucket": cls.CASH}.get(str(value))


DEFAULT_TIERS: tuple[tuple[float, float], ...] = ((0.9, 1.5), (0.8, 1.2), (0.7, 1.0), (0.6, 0.8))


class DiversificationMode(StrEnum):
    """The rebalancer's diversification modes and the bucket rules each implies.

    Examples
    --------
    >>> import portcon
    >>> portcon.Limits(diversification_mode="strict").max_bucket_allocation
    0.35
    """

    STRICT = "strict"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"
