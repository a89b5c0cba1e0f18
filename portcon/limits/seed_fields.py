"""The Limits fields carried over from the rebalancer: diversification, market context, sizing.

``diversification_mode`` and ``bucket_balance_tolerance`` shape the bucket rules; the context
fields (``regime_change_aggression``, ``drawdown_position_reduction``,
``portfolio_concentration_limit``, ``regime_aware_correlation``, ``dynamic_bucket_slots``) only
act when a :class:`portcon.MarketContext` is given; ``size_adjustment_factor`` and
``rollover_threshold`` are the seed's sizing options. Declared apart from
:class:`~portcon.limits.Limits` (which inherits them) to keep its module short.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import field_validator

from portcon.errors import LimitsError
from portcon.limits.enums import DiversificationMode
from portcon.limits.fields import (
    COUNT_MAX,
    GROUP_DIVERSIFICATION,
    GROUP_RESIDUAL,
    GROUP_SIZING,
    _field,
)
from portcon.limits.validated import CheckedModel


class SectorClassification(StrEnum):
    """Where each asset's sector comes from (see :func:`portcon.classify_sectors`)."""

    GIVEN = "given"
    BEHAVIOURAL = "behavioural"
    HYBRID = "hybrid"


SEED_CLASSIFICATION = {"dynamic": "behavioural", "behavioral": "behavioural"}


class SeedFields(CheckedModel):
    """The diversification and market-context fields of :class:`~portcon.limits.Limits`."""

    diversification_mode: DiversificationMode = _field(
        DiversificationMode.BALANCED,
        GROUP_DIVERSIFICATION,
        "strict: max_bucket_allocation ≤ 0.35 (0.35 when off) and min_buckets_represented ≥ 2 "
        "(2 when off); balanced: no extra rule; aggressive: max_bucket_allocation ≤ 0.7 and "
        "bucket_balance_tolerance ≥ 0.3 when set (the rebalancer's rules).",
    )
    bucket_balance_tolerance: float | None = _field(
        None,
        GROUP_DIVERSIFICATION,
        "Each bucket with an eligible asset holds within this of an equal share of the "
        "invested weight: |Σ_b w − Σ w / B| ≤ tolerance (the seed uses 0.2), in [0, 0.5]; "
        "needs a bucket column.",
        ge=0,
        le=0.5,
    )
    score_decay_factor: float | None = _field(
        None,
        GROUP_DIVERSIFICATION,
        "Held positions age: score × factor^days_held before any rule reads it (the seed "
        "uses 0.95), in [0.5, 1]; needs a days_held column.",
        ge=0.5,
        le=1,
    )
    seed_ranges: bool = _field(
        False,
        GROUP_DIVERSIFICATION,
        "Also enforce the rebalancer's ranges: 0.8 ≤ target_allocation, and every bucket or "
        "sector cap ≥ 0.1. Off by default: infeasibility repairs and sweeps go below them.",
    )
    regime_change_aggression: float = _field(
        2.0,
        GROUP_DIVERSIFICATION,
        "Context: on a regime change max_new_positions × this (and max_total_positions × 1.2).",
        gt=0,
        le=100,
    )
    drawdown_position_reduction: float = _field(
        0.8,
        GROUP_DIVERSIFICATION,
        "Context: in a drawdown target_allocation × this, in (0, 1].",
        gt=0,
        le=1,
    )
    portfolio_concentration_limit: float = _field(
        0.7,
        GROUP_DIVERSIFICATION,
        "Context: when the current book's largest bucket holds more than this share of it, at "
        "least 2 new positions are allowed, in (0, 1].",
        gt=0,
        le=1,
    )
    regime_aware_correlation: bool = _field(
        True,
        GROUP_DIVERSIFICATION,
        "Context: correlations × 1.3 (at most 0.95) in a Crisis or Deflation regime and × 0.8 "
        "(at least −0.95) in Goldilocks, applied as correlation_limit / 1.3 or / 0.8 (the same "
        "pairs are excluded).",
    )
    dynamic_bucket_slots: bool = _field(
        False,
        GROUP_DIVERSIFICATION,
        "Context: per-bucket counts from max_total_positions split equally over the buckets, "
        "+1 for favoured buckets, at least 1 each, at most max_positions_per_bucket.",
    )
    correlation_window: int | None = _field(
        None,
        GROUP_DIVERSIFICATION,
        "Correlations for correlation_limit, and for the sector ETF match, from the last this "
        "many rows of returns= (the seed uses 60, and 90 days for sectors); None: all rows.",
        ge=2,
        le=COUNT_MAX,
    )
    correlation_min_points: int = _field(
        20,
        GROUP_DIVERSIFICATION,
        "Fewest shared dates of returns= and etf_returns= for the sector ETF match.",
        ge=3,
        le=COUNT_MAX,
    )
    sector_classification: SectorClassification = _field(
        SectorClassification.GIVEN,
        GROUP_DIVERSIFICATION,
        "given: the sector column; behavioural: the sector ETF whose returns correlate best "
        "(> 0.7) with the asset's (etf_returns= and returns=); hybrid (the seed's): the ETF "
        "match where it disagrees with the given sector, else the given one. A "
        "sector_override column wins over all; no sector at all is Unknown.",
    )

    size_adjustment_factor: float | None = _field(
        None,
        GROUP_SIZING,
        "Score sizing modes: a position opened now (current_weight 0 in a current book) gets "
        "this × the raw size or share a held position with the same score gets, in (0, 1] "
        "(the seed uses 0.8); None: no difference. Off without a current book.",
        gt=0,
        le=1,
    )
    rollover_threshold: float | None = _field(
        None,
        GROUP_RESIDUAL,
        "residual_strategy cash or top_slice: when the cash the strategy leaves (beyond what "
        "the limits force) is below this, it is invested instead, every position scaled up by "
        "the same factor within its limits (the seed uses 0.01); None: the strategy's cash "
        "stays.",
        ge=0,
        le=1,
    )

    @field_validator("sector_classification", mode="before")
    @classmethod
    def _seed_classification(cls, value: Any) -> Any:
        """The seed's words: dynamic means behavioural; api and hardcoded are refused."""
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("api", "hardcoded"):
                raise LimitsError(
                    f"'{word}' is not available: portcon fetches no data "
                    "and keeps no ticker table; give sectors in the sector column (given) or "
                    "sector ETF returns as etf_returns= (behavioural or hybrid)"
                )
            return SEED_CLASSIFICATION.get(word, word)
        return value
