"""The Limits fields of tail risk: the seed's risk models, confidence level and CVaR cap.

``risk_model`` chooses how the loss distribution of a portfolio is described (the service
spec's ``RiskModel``): ``historical`` (the return history's scenarios), ``monte_carlo``
(scenarios drawn from the fitted risk model, seeded), ``parametric`` (Gaussian, from the risk
model) and ``garch`` (Gaussian, with GARCH(1,1) volatility forecasts in the risk model).
``max_portfolio_risk`` caps the conditional value at risk (CVaR, expected shortfall) of the
portfolio's one-period loss at ``confidence_level``; ``sizing_mode = "min_cvar"`` minimises it.
Declared apart from :class:`~portcon.limits.Limits` (which inherits them) to keep its module
short.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import model_validator

from portcon.limits.enums import SizingMode
from portcon.limits.fields import GROUP_RISK, _field
from portcon.limits.validated import CheckedModel

SCENARIO_COUNT_MAX = 1_000_000  # a million scenarios × a few hundred assets is already GBs


class RiskModel(StrEnum):
    """How a portfolio's loss distribution is described for ``max_portfolio_risk`` and
    ``min_cvar`` (the position-sizing service spec's risk models).

    Examples
    --------
    >>> from portcon.limits.tail_fields import RiskModel
    >>> [model.value for model in RiskModel]
    ['historical', 'monte_carlo', 'parametric', 'garch']
    """

    HISTORICAL = "historical"
    MONTE_CARLO = "monte_carlo"
    PARAMETRIC = "parametric"
    GARCH = "garch"


SCENARIO_MODELS = (RiskModel.HISTORICAL, RiskModel.MONTE_CARLO)
"""Risk models whose CVaR is taken over scenarios (Rockafellar–Uryasev); the others are
Gaussian (a second-order cone on the risk model)."""


class TailFields(CheckedModel):
    """The tail-risk fields of :class:`~portcon.limits.Limits` (not used alone)."""

    risk_model: RiskModel | None = _field(
        None,
        GROUP_RISK,
        "Loss distribution for max_portfolio_risk and min_cvar: historical (the scenarios of "
        "returns=), monte_carlo (scenario_count draws from the risk model, seeded by "
        "scenario_seed), parametric (Gaussian from the risk model), garch (Gaussian, with "
        "GARCH(1,1) volatility forecasts from returns= in the risk model every mode uses; "
        "needs the arch package). None: no tail-risk model.",
    )
    confidence_level: float = _field(
        0.95,
        GROUP_RISK,
        "α of VaR and CVaR: CVaR is the mean loss in the worst (1 − α) of outcomes, in (0, 1).",
        gt=0,
        lt=1,
    )
    max_portfolio_risk: float | None = _field(
        None,
        GROUP_RISK,
        "Largest CVaR at confidence_level of the portfolio's one-period loss −rᵀw (a fraction "
        "of the portfolio per return period of returns=; for the Gaussian models the risk "
        "model over one period, Σ / periods_per_year, zero mean); needs risk_model.",
        gt=0,
    )
    scenario_count: int = _field(
        10_000,
        GROUP_RISK,
        "monte_carlo: number of scenarios drawn from the risk model.",
        ge=10,
        le=SCENARIO_COUNT_MAX,
    )
    scenario_seed: int = _field(
        0, GROUP_RISK, "monte_carlo: seed of the scenario draws (same seed, same scenarios).", ge=0
    )

    @model_validator(mode="after")
    def _check_tail(self) -> Any:
        check_tail_fields(self)
        return self


def check_tail_fields(limits: Any) -> None:
    """Tail-risk fields that need a risk model (ValueError, a LimitsError from Limits)."""
    wants = []
    if limits.max_portfolio_risk is not None:
        wants.append("max_portfolio_risk")
    if limits.sizing_mode == SizingMode.MIN_CVAR:
        wants.append("sizing_mode 'min_cvar'")
    if wants and limits.risk_model is None:
        raise ValueError(
            f"{' and '.join(wants)} {'need' if len(wants) > 1 else 'needs'} a risk_model: "
            "historical (over returns=), "
            "monte_carlo, parametric or garch"
        )
