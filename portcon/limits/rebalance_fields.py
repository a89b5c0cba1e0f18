"""The Limits fields of rebalancing a held book: entry and keep thresholds, holding and grace
periods, trading costs, market impact, turnover and trade sizes.

They are declared apart from the sizing and risk fields of :class:`~portcon.limits.Limits`
(which inherits them) because they only act when current weights are given.
"""

from __future__ import annotations

from portcon.limits.fields import COUNT_MAX, GROUP_REBALANCE, _field
from portcon.limits.validated import CheckedModel


class RebalanceFields(CheckedModel):
    """The rebalancing fields of :class:`~portcon.limits.Limits` (not used on its own)."""

    prefer_held: bool = _field(
        True,
        GROUP_REBALANCE,
        "Within position counts, held assets that still qualify keep their slots before new "
        "ones open (new slots = min(max_new_positions, max_total_positions − kept)).",
    )
    min_score_new_position: float | None = _field(
        None,
        GROUP_REBALANCE,
        "A new position opens only at this score or above (the seed uses 0.65); a held one "
        "stays while its score is at least min_score_threshold. None: one threshold for both.",
        ge=0,
        le=1,
    )
    min_confidence_new: float | None = _field(
        None,
        GROUP_REBALANCE,
        "A new position opens only at this trending_confidence or above (the seed uses 0.7); "
        "needs a trending_confidence column.",
        ge=0,
        le=1,
    )
    min_confidence_existing: float | None = _field(
        None,
        GROUP_REBALANCE,
        "A held position stays only at this trending_confidence or above (the seed uses 0.0: "
        "held names are always re-scored, never dropped for confidence).",
        ge=0,
        le=1,
    )
    min_holding_days: int | None = _field(
        None,
        GROUP_REBALANCE,
        "A position held fewer days than this keeps its current weight exactly (the seed uses "
        "3); needs a days_held column.",
        ge=1,
        le=COUNT_MAX,
    )
    max_holding_days: int | None = _field(
        None,
        GROUP_REBALANCE,
        "Positions held this many days or more are flagged for review (the seed uses 90).",
        ge=1,
        le=COUNT_MAX,
    )
    grace_period_days: int | None = _field(
        None,
        GROUP_REBALANCE,
        "A held position whose score falls below min_score_threshold may stay this many days "
        "(the seed uses 5), shrinking by grace_decay_rate per rebalance, then closes; needs a "
        "days_below_threshold column.",
        ge=1,
        le=COUNT_MAX,
    )
    transaction_cost_bps: float | None = _field(
        None,
        GROUP_REBALANCE,
        "Cost of trading, in basis points of the traded weight, for assets without a cost_bps "
        "column; with current weights it enters the objective (× cost_aversion).",
        ge=0,
        le=10_000,
    )
    cost_aversion: float = _field(
        1.0,
        GROUP_REBALANCE,
        "Weight of trading costs against the sizing objective: f(w) + cost_aversion × Σ cost_i "
        "|w_i − current_i|; 0 only estimates costs. Inside the no-trade band this creates, a "
        "held weight does not move.",
        ge=0,
        le=1e6,
    )
    grace_decay_rate: float = _field(
        0.8,
        GROUP_REBALANCE,
        "During grace a position may hold at most this fraction of its current weight (day 0: "
        "all of it), so daily rebalances give current × rate^days, as the seed does.",
        gt=0,
        le=1,
    )
    market_impact: float | None = _field(
        None,
        GROUP_REBALANCE,
        "Market-impact coefficient η: with current weights the objective adds cost_aversion × "
        "η Σ |w_i − current_i|^1.5 (a convex power term; weights as fractions of the portfolio).",
        ge=0,
        le=1e6,
    )
    max_turnover: float | None = _field(
        None,
        GROUP_REBALANCE,
        "Most one-way turnover from the current book: ½ Σ |w_i − current_i| ≤ max_turnover "
        "(closing assets excluded by a rule counts first). Without current weights, from cash.",
        ge=0,
        le=1,
    )
    min_trade_size: float | None = _field(
        None,
        GROUP_REBALANCE,
        "No trade smaller than this: each weight stays, or moves by at least min_trade_size "
        "(a position smaller than it may still be closed). Mixed-integer (SCIP) only when the "
        "convex answer trades less somewhere.",
        gt=0,
        le=1,
    )
