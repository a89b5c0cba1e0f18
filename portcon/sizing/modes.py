"""Sizing modes: one small class per :class:`~portcon.limits.SizingMode`.

A mode turns the scores of the assets that passed the score threshold into raw sizes (or
shares) and picks its objective. An asset whose raw size is 0 is not held, with the mode's
reason. Score modes share the residual strategies (:mod:`portcon.sizing.residual`); a
position opened now is scaled by ``size_adjustment_factor``. Adding a mode is adding one
subclass; the registry is filled by ``__init_subclass__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from portcon.constraints.base import Block, Rule
from portcon.errors import InputError, LimitsError
from portcon.limits import Limits, SizingMode
from portcon.market import MarketData
from portcon.sizing.diversification import (
    check_volatilities,
    diversification_risk_aversion,
    refuse_counts,
)
from portcon.sizing.objectives import SizingObjective
from portcon.sizing.residual import residual_objective
from portcon.sizing.risk_objectives import (
    ExactKelly,
    MaxDiversification,
    MaxSharpe,
    MeanVariance,
    MinimumVariance,
    QuadraticKelly,
    RiskParity,
)
from portcon.sizing.sentences import size_sentence
from portcon.sizing.sharpe import equivalent_risk_aversion

if TYPE_CHECKING:
    from portcon.constraints.benchmark import ActiveRisk
    from portcon.optimizer.program import Program


@dataclass(frozen=True, eq=False)
class Candidates:
    """The assets that passed the score threshold: what a sizing mode sees.

    ``held`` is True for a candidate in the current book (None: no current book).
    ``active`` is the benchmark in their risk model and ``benchmark_return`` μᵀb (None
    without a benchmark_weight column).
    """

    score: np.ndarray
    volatility: np.ndarray | None
    market: MarketData
    assets: tuple[str, ...] = ()
    bucket: np.ndarray | None = None
    held: np.ndarray | None = None
    active: ActiveRisk | None = None
    benchmark_return: float | None = None


class Sizing(ABC):
    """A sizing mode: raw sizes from scores, and the objective that realises them.

    Attributes
    ----------
    phrase
        How a size is set, for explanations ("score share").
    raw_name
        The raw size's adjective ("raw tier size", "raw adaptive size").
    by_score
        Sized from scores (raw sizes or shares): residual strategies and
        ``size_adjustment_factor`` apply. False for the risk modes.
    takes_base
        ``base_position_size`` makes the raw sizes absolute (base × multiplier).
    """

    mode: ClassVar[SizingMode]
    phrase: ClassVar[str]
    raw_name: ClassVar[str] = ""
    by_score: ClassVar[bool] = True
    takes_base: ClassVar[bool] = False
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

    @property
    def absolute(self) -> bool:
        """Raw sizes are fractions of the portfolio (a base size), not shares of the target."""
        return self.takes_base and self.limits.base_position_size is not None

    @property
    def proportional(self) -> bool:
        """Raw sizes are shares of the target (they may be tilted by volatility)."""
        return self.by_score and not self.absolute

    def raw(self, candidates: Candidates) -> np.ndarray:
        """Raw size (or share) per candidate, 0 meaning not held; a candidate not in the
        current book is scaled by ``size_adjustment_factor``."""
        sizes = self.sizes(candidates)
        factor = self.limits.size_adjustment_factor
        if factor is None or candidates.held is None:
            return sizes
        return np.where(candidates.held, sizes, factor * sizes)

    @abstractmethod
    def sizes(self, candidates: Candidates) -> np.ndarray:
        """The mode's raw size (or share) per candidate, before any new-position factor."""

    def exclusion(self, score: float) -> str:
        """Why a candidate with raw size 0 is not held."""
        return f"not held: {self.mode} gives score {score:.2f} no share"

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        """The objective realising these raw sizes: the residual strategy's."""
        return residual_objective(
            raw, candidates.score, self.limits, absolute=self.absolute, raw_name=self.raw_name
        )

    def refine(
        self, objective: SizingObjective, program_rules: list[Rule], market: MarketData
    ) -> SizingObjective:
        """A last look at the objective once the rules exist (most modes change nothing)."""
        return objective

    def sentence(
        self, program: Program, objective: SizingObjective | None, position: int, weight: float
    ) -> str:
        """How member ``position``'s weight was set, in words (its explanation's head)."""
        return size_sentence(self, program, objective, position, weight)


class EqualWeight(Sizing):
    """Equal shares for every eligible asset."""

    mode = SizingMode.EQUAL_WEIGHT
    phrase = "equal share"
    raw_name = "raw equal-weight size"
    takes_base = True

    def sizes(self, candidates: Candidates) -> np.ndarray:
        base = self.limits.base_position_size
        return np.full(len(candidates.score), 1.0 if base is None else base)


class ScoreWeighted(Sizing):
    """Shares proportional to score; scores ≤ 0 get no position."""

    mode = SizingMode.SCORE_WEIGHTED
    phrase = "score share"
    raw_name = "raw score-weighted size"

    def sizes(self, candidates: Candidates) -> np.ndarray:
        return np.maximum(candidates.score, 0.0)

    def exclusion(self, score: float) -> str:
        return f"not held: score {score:.2f} ≤ 0 gives no score-weighted share"


class Adaptive(Sizing):
    """Shares ∝ 1 + score / Σ score (the rebalancer's adaptive mode); with a
    ``base_position_size``, raw sizes base × (1 + score / Σ score)."""

    mode = SizingMode.ADAPTIVE
    phrase = "adaptive share"
    raw_name = "raw adaptive size"
    takes_base = True

    def sizes(self, candidates: Candidates) -> np.ndarray:
        total = float(candidates.score.sum())
        if total <= 0:
            multiplier = np.ones_like(candidates.score, dtype=float)
        else:
            multiplier = np.maximum(1.0 + candidates.score / total, 0.0)
        base = self.limits.base_position_size
        return multiplier if base is None else base * multiplier

    def exclusion(self, score: float) -> str:
        return f"not held: score {score:.2f} gives 1 + score/Σscore ≤ 0"


class InverseVolatility(Sizing):
    """Shares ∝ score / volatility; needs a ``volatility`` column."""

    mode = SizingMode.INVERSE_VOLATILITY
    phrase = "score / volatility share"
    raw_name = "raw score / volatility size"

    def sizes(self, candidates: Candidates) -> np.ndarray:
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
    raw_name = "raw tier size"
    takes_base = True

    @property
    def absolute(self) -> bool:
        return True  # base_position_size, or target_allocation / number eligible

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

    def sizes(self, candidates: Candidates) -> np.ndarray:
        multipliers = self.multipliers(candidates.score)
        return self.base(int(np.count_nonzero(multipliers))) * multipliers

    def exclusion(self, score: float) -> str:
        lowest = self.limits.score_tiers[-1][0]
        return f"not held: score {score:.2f} below the lowest tier {lowest:.2f}"


class _RiskBased(Sizing):
    """Modes sized by the risk model (and expected returns): every candidate is in play."""

    by_score = False
    needs_returns: ClassVar[bool] = False

    def sizes(self, candidates: Candidates) -> np.ndarray:
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
        blocks, bounds = _blocks_and_bounds(program_rules)
        gamma = equivalent_risk_aversion(market, blocks, bounds, self.limits.target_allocation)
        return MaxSharpe(market=market, risk_aversion=gamma)


def _blocks_and_bounds(program_rules: list[Rule]) -> tuple[list[Block], dict[str, np.ndarray]]:
    """The program's blocks and their bound values (what a homogenised ratio program reads)."""
    blocks = [block for rule in program_rules for block in rule.blocks()]
    bounds: dict[str, np.ndarray] = {}
    for rule in program_rules:
        bounds.update({k: np.asarray(v, dtype=float) for k, v in rule.parameters().items()})
    return blocks, bounds


class MaxDiversificationSizing(_RiskBased):
    """The most diversified portfolio (most σᵀw / √(wᵀΣw)) within the limits, sized as
    mean-variance with μ replaced by σ at γ* (see :mod:`portcon.sizing.diversification`)."""

    mode = SizingMode.MAX_DIVERSIFICATION
    phrase = "maximum diversification ratio"

    def sizes(self, candidates: Candidates) -> np.ndarray:
        sizes = super().sizes(candidates)
        check_volatilities(candidates.market, candidates.assets)
        return sizes

    def objective(self, raw: np.ndarray, candidates: Candidates) -> SizingObjective:
        return MaxDiversification(market=candidates.market, risk_aversion=1.0)

    def refine(
        self, objective: SizingObjective, program_rules: list[Rule], market: MarketData
    ) -> SizingObjective:
        refuse_counts(self.limits)
        blocks, bounds = _blocks_and_bounds(program_rules)
        target = self.limits.target_allocation
        gamma = diversification_risk_aversion(market, blocks, bounds, target)
        return MaxDiversification(market=market, risk_aversion=gamma)


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

    def sizes(self, candidates: Candidates) -> np.ndarray:
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
