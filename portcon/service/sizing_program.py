"""The portcon program a sizing solves: a scores table of raw sizes and its Limits.

The raw sizes are the scores of a ``score_weighted`` program and each decision's upper bound
(``max_weight``), so a decision gets its raw size unless a limit binds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from portcon.limits import Limits, SizingMode
from portcon.service.book import Book
from portcon.service.sizing_schemas import RiskConstraints, SizingParameters


@dataclass(frozen=True)
class SizingCase:
    """What one sizing solves: the book, each decision's (raw size, full Kelly fraction or
    None), the risk constraints, the sizing parameters and the count search's time."""

    book: Book
    raws: Sequence[tuple[float, float | None]]
    constraints: RiskConstraints
    parameters: SizingParameters
    mip_time_limit: float

    @property
    def raw_sizes(self) -> list[float]:
        """The decisions' raw sizes, in the book's decision order."""
        return [raw for raw, _ in self.raws]


def program_frame(
    book: Book, names: list[str], shares: Sequence[float], caps: Sequence[float]
) -> pd.DataFrame:
    """The scores table of the program: shares as scores, caps as max_weight."""
    frame = pd.DataFrame(
        {
            "score": [float(v) for v in shares],
            "sector": [book.sectors[name] for name in names],
            "current_weight": [book.held.get(name, 0.0) for name in names],
            "max_weight": [float(v) for v in caps],
        },
        index=pd.Index(names, name="asset"),
    )
    return frame


def program_limits(
    constraints: RiskConstraints,
    parameters: SizingParameters,
    mip_time_limit: float,
    target: float,
    sector_caps: dict[str, float],
) -> Limits:
    return Limits(
        sizing_mode=SizingMode.SCORE_WEIGHTED,
        min_score_threshold=None,
        target_allocation=target,
        allow_cash_rollover=True,
        max_single_position=constraints.max_instrument_weight,
        max_sector_allocation=None if sector_caps else constraints.max_sector_weight,
        sector_caps=sector_caps,
        max_portfolio_volatility=constraints.max_portfolio_risk if parameters.reoptimise else None,
        correlation_limit=constraints.correlation_limit,
        min_position_size=parameters.min_position_size,
        mip_time_limit=mip_time_limit,
    )
