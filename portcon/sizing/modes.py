"""Sizing modes: one small class per :class:`~portcon.limits.SizingMode`.

A mode turns the scores of the assets that passed the score threshold into raw sizes (or
shares) and picks its objective. An asset whose raw size is 0 is not held, with the mode's
reason. Adding a mode is adding one subclass; the registry is filled by ``__init_subclass__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from portcon.constraints.base import Rule
from portcon.errors import InputError, LimitsError
from portcon.limits import Limits, ResidualStrategy, SizingMode
from portcon.market import MarketData
from portcon.sizing.objectives import (
    Proportional,
    SizingObjective,
    TieredDeviation,
    TieredTopSlice,
)
from portcon.sizing.risk_objectives import (
    ExactKelly,
    MaxSharpe,
    MeanVariance,
    MinimumVariance,
    QuadraticKelly,
    RiskParity,
)
from portcon.sizing.sharpe import equivalent_risk_aversion


@dataclass(frozen=True, eq=False)
class Candidates:
    """The assets that passed the score threshold: what a sizing mode sees."""

    score: np.ndarray
    volatility: np.ndarray | None
    market: MarketData
    assets: tuple[str, ...] = ()
    bucket: np.ndarray | None = None


class Sizing(ABC):
    """A sizing mode: raw sizes from scores, and the objective that realises them."""

    mode: ClassVar[SizingMode]
    phrase: ClassVar[str]
    proportional: ClassVar[bool] = True
    registry: ClassVar[dict[SizingMode, type[Sizing]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "mode" in cls.__dict__:  # intermediate bases name no mode
            Sizing.registry[cls.mode] = cls

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    @classmethod
    def for_limits(cls, limits: Limits) -> Sizing:
        """The sizing mode named by ``limits.sizing_mode``."""
        return cls.registry[limits.sizing_mode](limits)

    @abstractmethod
    def raw(self, candidates: Candidates) -> np.ndarray:
        """Raw size (or share) per candidate; 0 means not held."""

    def exclusion(self, score: float) -> str:
        """Why a candidate with raw size 0 is not held."""
        return f"not held: {self.mode} gives score {score:.2f} no share"

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        """The objective realising these raw sizes for these candidates."""
        return Proportional.from_raw(raw)

    def refine(
        self, objective: SizingObjective, program_rules: list[Rule], market: MarketData
    ) -> SizingObjective:
        """A last look at the objective once the rules exist (most modes change nothing)."""
        return objective

    def describe(self, raw: float) -> str:
        """How an asset's size was set, for its explanation."""
        return f"sized by {self.phrase}"


class EqualWeight(Sizing):
    """Equal shares for every eligible asset."""

    mode = SizingMode.EQUAL_WEIGHT
    phrase = "equal share"

    def raw(self, candidates: Candidates) -> np.ndarray:
        return np.ones_like(candidates.score)


class ScoreWeighted(Sizing):
    """Shares proportional to score; scores ≤ 0 get no position."""

    mode = SizingMode.SCORE_WEIGHTED
    phrase = "score share"

    def raw(self, candidates: Candidates) -> np.ndarray:
        return np.maximum(candidates.score, 0.0)

    def exclusion(self, score: float) -> str:
        return f"not held: score {score:.2f} ≤ 0 gives no score-weighted share"


class Adaptive(Sizing):
    """Shares ∝ 1 + score / Σ score (the rebalancer's adaptive mode)."""

    mode = SizingMode.ADAPTIVE
    phrase = "adaptive share"

    def raw(self, candidates: Candidates) -> np.ndarray:
        total = float(candidates.score.sum())
        if total <= 0:
            return np.ones_like(candidates.score)
        return np.maximum(1.0 + candidates.score / total, 0.0)

    def exclusion(self, score: float) -> str:
        return f"not held: score {score:.2f} gives 1 + score/Σscore ≤ 0"


class InverseVolatility(Sizing):
    """Shares ∝ score / volatility; needs a ``volatility`` column."""

    mode = SizingMode.INVERSE_VOLATILITY
    phrase = "score / volatility share"

    def raw(self, candidates: Candidates) -> np.ndarray:
        if candidates.volatility is None:
            raise InputError(
                "sizing_mode 'inverse_volatility' needs a 'volatility' column in the scores; "
                "add one or choose another sizing_mode"
            )
        return np.maximum(candidates.score, 0.0) / candidates.volatility

    def exclusion(self, score: float) -> str:
        return f"not held: score {score:.2f} ≤ 0 gives no inverse-volatility share"


class Tiered(Sizing):
    """Raw size = base × tier multiplier; the residual strategy decides the rest."""

    mode = SizingMode.TIERED
    phrase = "tier"
    proportional = False

    def multipliers(self, score: np.ndarray) -> np.ndarray:
        """Tier multiplier per score (0 below the lowest tier)."""
        result = np.zeros_like(score, dtype=float)
        assigned = np.zeros_like(score, dtype=bool)
        for threshold, multiplier in self.limits.score_tiers:
            reached = (score >= threshold) & ~assigned
            result[reached] = multiplier
            assigned |= reached
        return result

    def base(self, held: int) -> float:
        """The base size: base_position_size, or target_allocation / number held."""
        if self.limits.base_position_size is not None:
            return self.limits.base_position_size
        return self.limits.target_allocation / max(held, 1)

    def raw(self, candidates: Candidates) -> np.ndarray:
        multipliers = self.multipliers(candidates.score)
        return self.base(int(np.count_nonzero(multipliers))) * multipliers

    def exclusion(self, score: float) -> str:
        lowest = self.limits.score_tiers[-1][0]
        return f"not held: score {score:.2f} below the lowest tier {lowest:.2f}"

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        strategy = self.limits.residual_strategy
        if strategy == ResidualStrategy.PROPORTIONAL:
            return Proportional.from_raw(raw)
        if self.limits.base_position_size is not None:
            base_field, per_base = "base_position_size", raw / self.limits.base_position_size
        else:
            base_field, per_base = "target_allocation", raw / self.limits.target_allocation
        if strategy == ResidualStrategy.CASH:
            return TieredDeviation(raw=raw, base_field=base_field, raw_per_base=per_base)
        return TieredTopSlice(
            raw=raw,
            base_field=base_field,
            raw_per_base=per_base,
            priority=top_slice_priority(candidates.score),
        )

    def describe(self, raw: float) -> str:
        return f"raw tier size {100 * raw:.1f}%"


class _RiskBased(Sizing):
    """Modes sized by the risk model (and expected returns): every candidate is in play."""

    proportional = False
    needs_returns: ClassVar[bool] = False

    def raw(self, candidates: Candidates) -> np.ndarray:
        market = candidates.market
        if not market.has_risk:
            raise InputError(
                f"sizing_mode '{self.mode}' needs a risk model: pass returns=, covariance= or "
                "factor_model= to construct (--returns or --covariance on the command line)"
            )
        if self.needs_returns and market.expected_returns is None:
            raise InputError(
                f"sizing_mode '{self.mode}' needs expected returns: pass expected_returns= or "
                "returns=, or set expected_return_estimator = 'scores'"
            )
        return np.ones_like(candidates.score)

    def describe(self, raw: float) -> str:
        return f"sized by {self.phrase}"


class MinVariance(_RiskBased):
    """The minimum-variance portfolio of the target size."""

    mode = SizingMode.MIN_VARIANCE
    phrase = "minimum variance"

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return MinimumVariance(market=candidates.market)


class MeanVarianceSizing(_RiskBased):
    """Maximise μᵀw − (γ/2) wᵀΣw, fully invested."""

    mode = SizingMode.MEAN_VARIANCE
    phrase = "mean-variance utility"
    needs_returns = True

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return MeanVariance(market=candidates.market, risk_aversion=self.limits.risk_aversion)


class MaxSharpeSizing(_RiskBased):
    """The maximum-Sharpe portfolio within the limits, sized as mean-variance at γ*."""

    mode = SizingMode.MAX_SHARPE
    phrase = "maximum Sharpe ratio"
    needs_returns = True

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return MeanVariance(market=candidates.market, risk_aversion=1.0)

    def refine(
        self, objective: SizingObjective, program_rules: list[Rule], market: MarketData
    ) -> SizingObjective:
        blocks = [block for rule in program_rules for block in rule.blocks()]
        bounds: dict[str, np.ndarray] = {}
        for rule in program_rules:
            bounds.update({k: np.asarray(v, dtype=float) for k, v in rule.parameters().items()})
        gamma = equivalent_risk_aversion(market, blocks, bounds, self.limits.target_allocation)
        return MaxSharpe(market=market, risk_aversion=gamma)


class KellySizing(_RiskBased):
    """Fractional Kelly, Gaussian approximation: w = κ Σ⁻¹μ when no limit binds."""

    mode = SizingMode.KELLY
    phrase = "fractional Kelly"
    needs_returns = True

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return QuadraticKelly(market=candidates.market, fraction=self.limits.kelly_fraction)


class ExactKellySizing(_RiskBased):
    """Fractional Kelly on the return history: maximise mean log(1 + r_tᵀw/κ)."""

    mode = SizingMode.KELLY_EXACT
    phrase = "exact fractional Kelly"

    def raw(self, candidates: Candidates) -> np.ndarray:
        if candidates.market.returns is None:
            raise InputError("sizing_mode 'kelly_exact' needs a return history: pass returns=")
        return np.ones_like(candidates.score)

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return ExactKelly(
            returns=candidates.market.require_returns(), fraction=self.limits.kelly_fraction
        )


class RiskParitySizing(_RiskBased):
    """Equal (or budgeted) risk contributions; constrained risk budgeting under limits."""

    mode = SizingMode.RISK_PARITY
    phrase = "risk parity"

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return RiskParity(
            market=candidates.market,
            budgets=self.budgets(candidates),
            target=self.limits.target_allocation,
        )

    def budgets(self, candidates: Candidates) -> np.ndarray:
        """Budgets per candidate, summing to 1, from ``risk_budgets`` (asset or bucket keys)."""
        named = dict(self.limits.risk_budgets)
        count = len(candidates.score)
        if not named:
            return np.full(count, 1.0 / count)
        assets, buckets = candidates.assets, candidates.bucket
        if all(asset in named for asset in assets):
            budgets = np.array([named[asset] for asset in assets], dtype=float)
        elif buckets is not None and all(bucket in named for bucket in buckets):
            sizes = {bucket: int(np.sum(buckets == bucket)) for bucket in set(buckets)}
            budgets = np.array([named[b] / sizes[b] for b in buckets], dtype=float)
        else:
            missing = [a for a in assets if a not in named]
            raise LimitsError(
                "risk_budgets must name every held asset, or every bucket of the held assets; "
                f"no budget for {', '.join(missing[:8])}"
            )
        return budgets / budgets.sum()


def top_slice_priority(score: np.ndarray) -> np.ndarray:
    """Priorities in [½, 1], strictly increasing with score (the top-slice order)."""
    low, high = float(score.min()), float(score.max())
    if high - low <= 0:
        return np.ones_like(score)
    return 0.5 + 0.5 * (score - low) / (high - low)
