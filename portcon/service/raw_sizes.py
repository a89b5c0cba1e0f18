"""Each decision's raw size under its sizing method, before any limit applies.

KELLY_CRITERION: the Kelly fraction (odds or moments) × ``kelly_multiplier``;
FIXED_PERCENTAGE: ``max_position_size``; VOLATILITY_ADJUSTED: ``volatility_target`` / σ;
RISK_PARITY: the inverse-volatility share of the book with every decision added;
EQUAL_WEIGHT: 1 / the number of instruments. Every raw size is capped by ``max_position_size``.
"""

from __future__ import annotations

from collections.abc import Sequence

from portcon.errors import InputError
from portcon.kelly_bet import kelly
from portcon.service.sizing_schemas import (
    PortfolioState,
    SizingMethod,
    SizingParameters,
    TradingDecision,
)


def raw_size(
    decision: TradingDecision,
    where: str,
    parameters: SizingParameters,
    state: PortfolioState,
    decisions: Sequence[TradingDecision],
) -> tuple[float, float | None]:
    """(raw size, full Kelly fraction or None) of one decision under its method."""
    full = _full_kelly(decision)
    method = parameters.sizing_method
    if method is SizingMethod.KELLY_CRITERION:
        if full is None:
            raise InputError(
                f"{where}: KELLY_CRITERION needs expected_return and volatility, or "
                "win_probability, average_win and average_loss"
            )
        raw = min(max(parameters.kelly_multiplier * full, 0.0), 1.0)
    elif method is SizingMethod.FIXED_PERCENTAGE:
        if parameters.max_position_size is None:
            raise InputError("sizing_parameters.max_position_size: FIXED_PERCENTAGE sizes at it")
        raw = parameters.max_position_size
    elif method is SizingMethod.VOLATILITY_ADJUSTED:
        if parameters.volatility_target is None or decision.volatility is None:
            raise InputError(
                f"{where}.volatility and sizing_parameters.volatility_target: VOLATILITY_ADJUSTED "
                "sizes at volatility_target / volatility"
            )
        raw = min(parameters.volatility_target / decision.volatility, 1.0)
    elif method is SizingMethod.RISK_PARITY:
        raw = _inverse_volatility(decision, where, state, decisions)
    else:
        names = {p.instrument_id for p in state.positions} | {d.instrument_id for d in decisions}
        raw = 1.0 / len(names)
    if parameters.max_position_size is not None:
        raw = min(raw, parameters.max_position_size)
    return raw, full


def _full_kelly(decision: TradingDecision) -> float | None:
    odds = (decision.win_probability, decision.average_win, decision.average_loss)
    if all(value is not None for value in odds):
        return kelly(
            win_probability=decision.win_probability,
            average_win=decision.average_win,
            average_loss=decision.average_loss,
        ).kelly_fraction
    if decision.expected_return is not None and decision.volatility is not None:
        return kelly(
            expected_return=decision.expected_return, volatility=decision.volatility
        ).kelly_fraction
    return None


def _inverse_volatility(
    decision: TradingDecision,
    where: str,
    state: PortfolioState,
    decisions: Sequence[TradingDecision],
) -> float:
    """The decision's inverse-volatility share of the book with every decision added."""
    sigmas = {p.instrument_id: p.volatility for p in state.positions}
    sigmas.update({d.instrument_id: d.volatility for d in decisions})
    missing = [name for name, sigma in sigmas.items() if sigma is None]
    if missing:
        raise InputError(
            f"{where}: RISK_PARITY needs the volatility of every instrument; missing for "
            f"{missing[0]!r}"
        )
    inverse = {name: 1.0 / float(sigma or 1.0) for name, sigma in sigmas.items()}
    return inverse[decision.instrument_id] / sum(inverse.values())
