"""Request and response models of ``/construct`` and ``/kelly-criterion``.

The limits are :class:`portcon.Limits` itself, so the service, the command line, TOML files
and the Python API validate limits with one model and never drift.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from portcon.limits import Limits

Label = Annotated[str, Field(min_length=1, max_length=200)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
# Kelly's formulas square and divide by scales (volatility, average win or loss): outside
# [TINY, HUGE] a square underflows to 0 or overflows, so such values are refused as a 422
# naming the field. Returns are bounded for the same reason (a fraction of ±10,000 % a year).
TINY = 1e-6
HUGE = 1e6
Scale = Annotated[float, Field(ge=TINY, le=HUGE, allow_inf_nan=False)]
Return = Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]
DecisionId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]


class Strict(BaseModel):
    """Unknown fields are refused (a misspelt field is an error, not silently ignored)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class AssetIn(Strict):
    """One scored asset: the row of a scores table."""

    asset: Label
    score: Finite
    bucket: Label | None = None
    sector: Label | None = None
    current_weight: Annotated[float, Field(ge=-1, le=1)] | None = Field(
        None, description="the weight held now; below 0 a short (needs allow_short)"
    )
    volatility: Scale | None = None
    min_weight_if_held: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="0 or at least this weight (a position-count rule)"
    )
    floor_weight: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="a hard floor: always held with at least this weight"
    )
    min_weight: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="deprecated: read as min_weight_if_held"
    )
    max_weight: Annotated[float, Field(ge=0, le=1)] | None = None
    max_short_weight: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="the largest short in this asset, as a positive fraction (0: never short); "
        "lets the asset go short without allow_short",
    )
    benchmark_weight: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None,
        description="the benchmark's weight in this asset (active weights, tracking error, "
        "active share); omitted = 0 when another asset gives one",
    )


class FactorModelIn(Strict):
    """A factor risk model, rows in the order of ``assets``."""

    factors: list[Label] = Field(min_length=1)
    loadings: list[list[Finite]] = Field(description="assets × factors exposures")
    factor_covariance: list[list[Finite]] = Field(description="factors × factors")
    specific_variance: list[Annotated[float, Field(ge=0)]]


class MarketDataIn(Strict):
    """Market data inline, or a covariance stored earlier (``matrix_id``).

    Rows and columns follow ``assets`` (default: the order of ``scores``).
    """

    assets: list[Label] | None = None
    covariance: list[list[Finite]] | None = None
    matrix_id: DecisionId | None = None
    returns: list[list[Finite]] | None = Field(None, description="periods × assets")
    expected_returns: dict[str, Finite] | None = None
    factor_model: FactorModelIn | None = None
    repair_covariance: bool = False

    @model_validator(mode="after")
    def _one_risk_source(self) -> MarketDataIn:
        given = [self.covariance is not None, self.matrix_id is not None]
        given.append(self.factor_model is not None)
        if sum(given) > 1:
            raise ValueError("give one of covariance, matrix_id and factor_model")
        return self


class ConstructRequest(Strict):
    """Scores, limits (or a preset) and optional market data for one construction."""

    decision_id: DecisionId | None = Field(
        None, description="idempotency key: a repeated decision_id returns the stored answer"
    )
    scores: list[AssetIn] = Field(min_length=1)
    preset: Label | None = Field(None, description="start from a named preset")
    limits: Limits | None = Field(None, description="Limits fields (override the preset's)")
    market_data: MarketDataIn | None = None
    nav: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="net asset value: sizes in currency are weight × nav"
    )
    re_solve: bool = Field(
        False,
        description="also explain by re-running the construction: each count limit moved one "
        "slot (count_prices, two constructs per limit) and cash by arithmetic with repairs "
        "checked by constructing (cash_arithmetic); off: both null, the answer's duals only",
    )


class ConstructResponse(BaseModel):
    """The constructed portfolio (``Portfolio.to_dict()``) with its decision and timing."""

    model_config = ConfigDict(extra="allow")

    decision_id: str
    weights: dict[str, float]
    cash: float
    trades: list[dict[str, Any]] | None = Field(description="one row per traded asset")
    explanations: list[dict[str, Any]]
    sensitivity: list[dict[str, Any]]
    metrics: dict[str, Any]
    path: str
    solve_time: float | None
    processing_time_ms: float


class MatrixIn(Strict):
    """A covariance or correlation matrix to store for later reference by ``matrix_id``."""

    kind: Annotated[str, Field(pattern="^(covariance|correlation)$")] = "covariance"
    instruments: list[Label] = Field(min_length=1)
    matrix: list[list[Finite]]


class KellyRequest(Strict):
    """The seed's Kelly request: odds (discrete), moments (continuous) or a return history."""

    expected_return: Return | None = None
    win_probability: Annotated[float, Field(gt=0, lt=1)] | None = None
    average_win: Scale | None = None
    average_loss: Scale | None = None
    portfolio_volatility: Scale | None = Field(
        None, description="volatility per period of the bet (continuous Kelly)"
    )
    returns: list[Return] | None = Field(None, description="return history (adds an interval)")
    risk_free_rate: Return = 0.0
    fraction: Annotated[float, Field(gt=0, le=1)] = Field(0.5, description="Kelly multiple")
    max_bet: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    confidence_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    correlation_matrix: None = Field(
        None, description="not accepted: size correlated bets with POST /construct (kelly mode)"
    )


class ConfidenceInterval(BaseModel):
    """A bootstrap percentile interval of the full Kelly fraction."""

    lower_bound: float
    upper_bound: float
    confidence_level: float


class KellyResponse(BaseModel):
    """The seed's Kelly response over :func:`portcon.kelly`."""

    method: str
    kelly_fraction: float
    adjusted_kelly: float
    bet_size: float
    confidence_interval: ConfidenceInterval | None
    sensitivity_analysis: dict[str, float]
    processing_time_ms: float


class ErrorBody(BaseModel):
    """Every error answer: the error class, a message naming the field, and retry advice."""

    error: str
    detail: Any
    retryable: bool = False
    conflicts: list[str] | None = None
    repairs: list[dict[str, Any]] | None = None
