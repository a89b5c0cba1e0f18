"""Each decision's raw size under its sizing method, before any limit applies.

KELLY_CRITERION: the Kelly fraction (odds or moments) × ``kelly_multiplier``;
FIXED_PERCENTAGE: ``max_position_size``; VOLATILITY_ADJUSTED: ``volatility_target`` / σ;
RISK_PARITY: the inverse-volatility share of the book with every decision added;
EQUAL_WEIGHT: 1 / the number of instruments. Every raw size is capped by ``max_position_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, lru_cache

from portcon.errors import InputError
from portcon.kelly_bet import kelly
from portcon.service.sizing_schemas import (
    PortfolioState,
    SizingMethod,
    SizingParameters,
    TradingDecision,
)


def raw_sizes(
    decisions: Sequence[TradingDecision],
    field: str,
    parameters: SizingParameters,
    state: PortfolioState,
) -> list[tuple[float, float | None]]:
    """(raw size, full Kelly fraction or None) of each decision, in order; ``field`` names the
    decisions (``trading_decision`` alone, else ``trading_decisions[i]``). The book-wide sums
    (instruments, inverse volatilities) are found once for the batch."""
    single = not field.endswith("s")
    book = BookWide(state, decisions)
    return [
        raw_size(d, field if single else f"{field}[{i}]", parameters, book)
        for i, d in enumerate(decisions)
    ]


class BookWide:
    """What every decision's raw size reads of the whole book, computed on first use."""

    def __init__(self, state: PortfolioState, decisions: Sequence[TradingDecision]) -> None:
        self.state = state
        self.decisions = decisions

    @cached_property
    def instruments(self) -> int:
        """Held and decided instruments, each once."""
        held = {p.instrument_id for p in self.state.positions}
        return len(held | {d.instrument_id for d in self.decisions})

    @cached_property
    def inverse_volatilities(self) -> tuple[dict[str, float], float] | str:
        """1/σ per instrument and their sum, or the first instrument without a volatility."""
        sigmas = {p.instrument_id: p.volatility for p in self.state.positions}
        sigmas.update({d.instrument_id: d.volatility for d in self.decisions})
        missing = [name for name, sigma in sigmas.items() if sigma is None]
        if missing:
            return missing[0]
        inverse = {name: 1.0 / float(sigma or 1.0) for name, sigma in sigmas.items()}
        return inverse, sum(inverse.values())


def raw_size(
    decision: TradingDecision, where: str, parameters: SizingParameters, book: BookWide
) -> tuple[float, float | None]:
    """(raw size, full Kelly fraction or None) of one decision under its method."""
    full = _full_kelly(
        decision.win_probability,
        decision.average_win,
        decision.average_loss,
        decision.expected_return,
        decision.volatility,
    )
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
        raw = _inverse_volatility(decision, where, book)
    else:
        raw = 1.0 / book.instruments
    if parameters.max_position_size is not None:
        raw = min(raw, parameters.max_position_size)
    return raw, full


@lru_cache(maxsize=4096)
def _full_kelly(
    win_probability: float | None,
    average_win: float | None,
    average_loss: float | None,
    expected_return: float | None,
    volatility: float | None,
) -> float | None:
    """The full Kelly fraction of odds or moments (a pure function of them, so remembered:
    :func:`portcon.kelly` also builds its notes and sensitivities)."""
    if win_probability is not None and average_win is not None and average_loss is not None:
        return kelly(
            win_probability=win_probability, average_win=average_win, average_loss=average_loss
        ).kelly_fraction
    if expected_return is not None and volatility is not None:
        return kelly(expected_return=expected_return, volatility=volatility).kelly_fraction
    return None


def _inverse_volatility(decision: TradingDecision, where: str, book: BookWide) -> float:
    """The decision's inverse-volatility share of the book with every decision added."""
    found = book.inverse_volatilities
    if isinstance(found, str):
        raise InputError(
            f"{where}: RISK_PARITY needs the volatility of every instrument; missing for {found!r}"
        )
    inverse, total = found
    return inverse[decision.instrument_id] / total
