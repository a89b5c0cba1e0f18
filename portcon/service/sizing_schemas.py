"""The seed's ``PositionSizingRequest`` and ``PositionSizingResponse`` (and the batch form)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from portcon.service.schemas import TINY, DecisionId, Label, Return, Scale, Strict

Fraction = Annotated[float, Field(gt=0, le=1)]
Weight = Annotated[float, Field(ge=0, le=1)]
Volatility = Annotated[float, Field(ge=TINY, le=100, allow_inf_nan=False)]


class SizingMethod(StrEnum):
    """How the raw size of a decision is found before the limits apply."""

    KELLY_CRITERION = "KELLY_CRITERION"
    FIXED_PERCENTAGE = "FIXED_PERCENTAGE"
    VOLATILITY_ADJUSTED = "VOLATILITY_ADJUSTED"
    RISK_PARITY = "RISK_PARITY"
    EQUAL_WEIGHT = "EQUAL_WEIGHT"


class RiskModel(StrEnum):
    """The seed's risk models; only PARAMETRIC (volatilities and correlations) is served."""

    PARAMETRIC = "PARAMETRIC"
    HISTORICAL_VAR = "HISTORICAL_VAR"
    MONTE_CARLO = "MONTE_CARLO"
    GARCH = "GARCH"


class TradingDecision(Strict):
    """One trading decision: the instrument and what is believed about it."""

    decision_id: DecisionId
    instrument_id: Label
    sector: Label | None = None
    expected_return: Return | None = Field(None, description="annual expected return")
    volatility: Volatility | None = Field(None, description="annual volatility")
    confidence: Fraction = Field(1.0, description="reported back as confidence_score")
    win_probability: Annotated[float, Field(gt=0, lt=1)] | None = None
    average_win: Scale | None = None
    average_loss: Scale | None = None


class Position(Strict):
    """A held position, as a fraction of NAV."""

    instrument_id: Label
    weight: Weight
    sector: Label | None = None
    volatility: Volatility | None = None


class CorrelationIn(Strict):
    """Correlations between instruments (unlisted pairs are taken as uncorrelated)."""

    instruments: list[Label] = Field(min_length=1)
    matrix: list[list[Annotated[float, Field(ge=-1, le=1)]]]


class PortfolioState(Strict):
    """The book the decision is sized against."""

    nav: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    currency: Annotated[str, Field(pattern="^[A-Z]{3}$")] = "USD"
    positions: list[Position] = Field(default_factory=list)
    correlation: CorrelationIn | None = None


class SizingParameters(Strict):
    """How to size: the method and its parameters."""

    sizing_method: SizingMethod = SizingMethod.KELLY_CRITERION
    risk_model: RiskModel = RiskModel.PARAMETRIC
    confidence_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    lookback_period: Annotated[int, Field(gt=0, le=100_000)] = 252
    max_position_size: Fraction | None = None
    min_position_size: Annotated[float, Field(gt=0, lt=1)] | None = None
    volatility_target: Volatility | None = None
    kelly_multiplier: Fraction = Field(0.5, description="fractional Kelly (0.5 = half Kelly)")
    reoptimise: bool = Field(
        False, description="re-size the held book too (default: hold it, size the decision)"
    )

    @model_validator(mode="after")
    def _parametric_only(self) -> SizingParameters:
        if self.risk_model is not RiskModel.PARAMETRIC:
            raise ValueError(
                f"risk_model {self.risk_model.value} is not served; PARAMETRIC (volatilities "
                "and correlations) is the one risk model"
            )
        return self


class RiskConstraints(Strict):
    """Limits the sized book must satisfy."""

    max_portfolio_risk: Volatility | None = Field(None, description="annual volatility cap")
    max_instrument_weight: Fraction | None = None
    max_sector_weight: Fraction | None = None
    correlation_limit: Annotated[float, Field(gt=0, lt=1)] | None = None
    leverage_limit: Fraction = Field(
        1.0, description="gross exposure cap as a fraction of NAV (long-only, at most 1)"
    )


class PositionSizingRequest(Strict):
    """The seed's request: one decision against a portfolio state."""

    trading_decision: TradingDecision
    portfolio_state: PortfolioState
    sizing_parameters: SizingParameters = Field(
        default_factory=lambda: SizingParameters.model_validate({})
    )
    risk_constraints: RiskConstraints = Field(
        default_factory=lambda: RiskConstraints.model_validate({})
    )


class BatchSizingRequest(Strict):
    """Many decisions sized together, in one program, against one portfolio state."""

    trading_decisions: list[TradingDecision] = Field(min_length=1)
    portfolio_state: PortfolioState
    sizing_parameters: SizingParameters = Field(
        default_factory=lambda: SizingParameters.model_validate({})
    )
    risk_constraints: RiskConstraints = Field(
        default_factory=lambda: RiskConstraints.model_validate({})
    )


class OptimalPosition(BaseModel):
    """The seed's recommended position."""

    position_id: str
    decision_id: str
    instrument_id: str
    recommended_size: float
    recommended_weight: float
    currency: str
    sizing_method_used: SizingMethod
    confidence_score: float


class PortfolioImpact(BaseModel):
    """How the book changes (None where the volatilities needed are missing)."""

    portfolio_risk_change: float | None
    correlation_impact: float | None
    diversification_benefit: float | None
    concentration_risk: float


class SizingAnalysis(BaseModel):
    """The seed's analysis, with portcon's explanation of the size."""

    kelly_fraction: float | None
    raw_size: float
    expected_return: float | None
    expected_volatility: float | None
    sharpe_ratio: float | None
    portfolio_impact: PortfolioImpact
    explanation: dict[str, Any]
    optimization_details: dict[str, Any]


class PositionSizingResponse(BaseModel):
    """The seed's response."""

    optimal_position: OptimalPosition
    sizing_analysis: SizingAnalysis
    processing_time_ms: float


class BatchSizingResponse(BaseModel):
    """One response per decision, in request order."""

    results: list[PositionSizingResponse]
    processing_time_ms: float
