"""Sizing objectives: the term each sizing mode minimises.

Each objective knows its cvxpy form (DPP: data enter through Parameters), its value and
subgradient in numpy (for the KKT attribution, computed from the weights alone, independently
of the solver's duals), and how it moves with the Limits fields it depends on (for
sensitivities by the envelope theorem).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.constraints.keys import LimitKey

TOP_SLICE_KINK = 2.0
KINK_BAND = 1e-7


class SizingObjective(ABC):
    """One objective term over the weights (and cash).

    Attributes
    ----------
    meaning
        What the minimised value is, in words and units, for every printed price.
    free_cash
        True when cash costs the objective nothing: uninvested target is then the
        objective's choice (``cash_choice`` says why), never a rollover the limits forced.
    """

    meaning: ClassVar[str] = "the sizing objective"
    free_cash: ClassVar[bool] = False
    cash_choice: ClassVar[str] = ""

    def describe(self) -> str:
        """What the minimised value is, in words and units."""
        return self.meaning

    @abstractmethod
    def parameters(self) -> dict[str, float | np.ndarray]:
        """Parameter name → value."""

    @abstractmethod
    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """The cvxpy objective and any auxiliary constraints it needs."""

    @abstractmethod
    def value(self, weights: np.ndarray, cash: float) -> float:
        """The objective at a point, in numpy."""

    @abstractmethod
    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ends of ∂f/∂w_i (equal where f is differentiable)."""

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        """∇²f at ``weights``, or None where f is not twice differentiable (no polishing)."""
        return None

    def hessian_parts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """∇²f as diag(d) + V Vᵀ: (d per asset, V assets × k), or None (then :meth:`hessian`).

        A factor-model objective states its curvature without an N × N matrix, so the polish
        can solve its KKT systems sparse (optimizer/factor_kkt.py).
        """
        return None

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        """f with each separable w_i² replaced by its perspective w_i²/z_i (None: unsupported).

        ``held`` are the binaries z_i. The perspective is the tight convex relaxation of
        "w_i = 0 unless z_i = 1" for a quadratic term, much tighter than a bare big-M.
        ``anchors`` (members × points) are weights at which its tangent planes are added as
        linear cuts (see :func:`perspective_squares`).
        """
        return None

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        """∂L/∂field at the optimum for the Limits fields the objective depends on.

        ``auxiliary_duals`` are the duals of the constraints :meth:`expression` added, in order.
        """
        return {}

    def structure(self) -> Hashable:
        """What must match for a built model to be reused."""
        return type(self).__name__


@dataclass(frozen=True, eq=False)
class Proportional(SizingObjective):
    """minimise ½ Σ w_i² / m_i + ρ · cash, shares m_i > 0 summing to 1.

    With Σ w + cash = target and caps, the KKT conditions give w_i = min(cap_i, ν m_i): the
    exact limit of cap-then-renormalise. ρ exceeds every cap_i / m_i, so cash is only used when
    the limits cannot absorb the target (the rollover).
    """

    meaning: ClassVar[str] = "½Σw²/share, a sizing distance (no unit)"
    shares: np.ndarray
    cash_penalty: float

    @classmethod
    def from_raw(cls, raw: np.ndarray) -> Proportional:
        """Normalise raw sizes to shares and choose the cash penalty."""
        shares = np.asarray(raw, dtype=float) / float(np.sum(raw))
        return cls(shares=shares, cash_penalty=1.0 + 1.0 / float(shares.min()))

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.scale": 1.0 / np.sqrt(self.shares),
            "sizing.cash_penalty": self.cash_penalty,
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        scaled = cp.multiply(ctx.parameter("sizing.scale"), ctx.weights)
        penalty = ctx.parameter("sizing.cash_penalty") * ctx.cash
        return 0.5 * cp.sum_squares(scaled) + penalty, []

    def value(self, weights: np.ndarray, cash: float) -> float:
        return float(0.5 * np.sum(weights**2 / self.shares) + self.cash_penalty * cash)

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = weights / self.shares
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return np.diag(1.0 / self.shares)

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        squares, cone = perspective_squares(ctx.weights, held, anchors)
        return 0.5 * (1.0 / self.shares) @ squares + self.cash_penalty * ctx.cash, cone


@dataclass(frozen=True, eq=False)
class Reinvested(Proportional):
    """A residual strategy's answer with the small cash it left spread in proportion.

    minimise ½ Σ w_i² / m_i + ρ · cash with m ∝ the strategy's weights w⁰ (``before``): every
    position grows by the same factor until a limit holds it, so a position the strategy left
    at 0 stays there (``rollover_threshold``; see :mod:`portcon.optimizer.absorb`).
    ``first`` is the strategy's objective, ``leftover`` the cash reinvested.
    """

    meaning: ClassVar[str] = (
        "½Σw²/w⁰ over the residual strategy's weights w⁰, its leftover below "
        "rollover_threshold reinvested in proportion (no unit)"
    )
    first: SizingObjective
    before: np.ndarray
    leftover: float
    threshold: float


@dataclass(frozen=True, eq=False)
class _Tiered(SizingObjective):
    """Shared data of raw-size objectives: absolute raw sizes r_i (tier sizes, base ×
    multiplier, or target × share; see :mod:`portcon.sizing.residual`).

    ``base_field`` is the Limits field the raw sizes scale with (``base_position_size``, or
    ``target_allocation``), ``raw_per_base`` is ∂r_i/∂field and ``raw_name`` names a raw size
    in explanations ("raw tier size").
    """

    raw: np.ndarray
    base_field: str
    raw_per_base: np.ndarray
    raw_name: str

    def _raw_derivative(self, per_raw: np.ndarray) -> dict[LimitKey, float]:
        return {LimitKey(self.base_field): float(per_raw @ self.raw_per_base)}


@dataclass(frozen=True, eq=False)
class TieredDeviation(_Tiered):
    """minimise ½ Σ (w_i − r_i)² / r_i: hold raw sizes, scale down proportionally to fit.

    Cash costs nothing: when raw sizes do not fill the target the rest stays in cash
    (residual_strategy 'cash').
    """

    meaning: ClassVar[str] = "½Σ(w − raw)²/raw, the distance from the raw sizes (no unit)"
    free_cash: ClassVar[bool] = True
    cash_choice: ClassVar[str] = (
        "residual_strategy 'cash' keeps what the raw sizes (within their limits) leave"
    )

    def parameters(self) -> dict[str, float | np.ndarray]:
        root = np.sqrt(self.raw)
        return {"sizing.scale": 1.0 / root, "sizing.root_raw": root}

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        scaled = cp.multiply(ctx.parameter("sizing.scale"), ctx.weights)
        return 0.5 * cp.sum_squares(scaled - ctx.parameter("sizing.root_raw")), []

    def value(self, weights: np.ndarray, cash: float) -> float:
        return float(0.5 * np.sum((weights - self.raw) ** 2 / self.raw))

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gradient = (weights - self.raw) / self.raw
        return gradient, gradient

    def hessian(self, weights: np.ndarray) -> np.ndarray | None:
        return np.diag(1.0 / self.raw)

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        # ½ (w − r)²/r = ½ w²/r − w + ½ r
        squares, cone = perspective_squares(ctx.weights, held, anchors)
        expression = 0.5 * (1.0 / self.raw) @ squares - cp.sum(ctx.weights) + 0.5 * self.raw.sum()
        return expression, cone

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        ratio = (weights - self.raw) / self.raw
        return self._raw_derivative(-ratio - 0.5 * ratio**2)


@dataclass(frozen=True, eq=False)
class TieredTopSlice(_Tiered):
    """Hold raw sizes first, then give the residual to the highest scores first (top_slice).

    f(w) = Σ ½ s_i² / r_i + (κ − π_i) s_i − π_i w_i with shortfall s_i = max(r_i − w_i, 0),
    priorities π_i ∈ (0, 1] increasing with score and κ = 2 > π. f is convex with slope
    (w − r)/r − κ below the raw size and −π above it, so every unit first goes to raw
    sizes (scaled down proportionally when they overflow the target), then to residual in
    order of π (the greedy top slice, as one linear program), and only then to cash.
    """

    meaning: ClassVar[str] = "the top-slice sizing function (no unit; lower is better)"

    priority: np.ndarray

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            "sizing.scale": 1.0 / np.sqrt(self.raw),
            "sizing.raw": self.raw,
            "sizing.kink": TOP_SLICE_KINK - self.priority,
            "sizing.priority": self.priority,
        }

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        shortfall = cp.Variable(ctx.size, name="shortfall")
        scaled = cp.multiply(ctx.parameter("sizing.scale"), shortfall)
        objective = (
            0.5 * cp.sum_squares(scaled)
            + ctx.parameter("sizing.kink") @ shortfall
            - ctx.parameter("sizing.priority") @ ctx.weights
        )
        return objective, [shortfall + ctx.weights >= ctx.parameter("sizing.raw"), shortfall >= 0]

    def _shortfall(self, weights: np.ndarray) -> np.ndarray:
        return np.maximum(self.raw - weights, 0.0)

    def value(self, weights: np.ndarray, cash: float) -> float:
        shortfall = self._shortfall(weights)
        kink = TOP_SLICE_KINK - self.priority
        return float(
            np.sum(0.5 * shortfall**2 / self.raw + kink * shortfall - self.priority * weights)
        )

    def subgradient(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        below = np.minimum(weights - self.raw, 0.0) / self.raw - TOP_SLICE_KINK
        lower = np.where(weights > self.raw + KINK_BAND, -self.priority, below)
        upper = np.where(weights < self.raw - KINK_BAND, below, -self.priority)
        return lower, upper

    def limit_derivatives(
        self, weights: np.ndarray, auxiliary_duals: list[np.ndarray]
    ) -> dict[LimitKey, float]:
        # L = ½ s²/r + (κ − π) s − π w + η (r − s − w): ∂L/∂r = −½ s²/r² + η, exact at the kink
        # too, where η (the shortfall row's dual) picks the right one-sided slope.
        shortfall = self._shortfall(weights)
        shortfall_dual = auxiliary_duals[0]
        return self._raw_derivative(-0.5 * (shortfall / self.raw) ** 2 + shortfall_dual)


def perspective_squares(
    weights: cp.Variable, held: cp.Variable, anchors: np.ndarray
) -> tuple[cp.Variable, list[cp.Constraint]]:
    """t with t_i ≥ w_i² / z_i (rotated cones ‖(2w_i, t_i − z_i)‖ ≤ t_i + z_i).

    Plus the perspective cuts t_i ≥ 2 a w_i − a² z_i at every anchor a (tangents of w²/z,
    valid since (w − a z)² ≥ 0): a mixed-integer solver that approximates cones by cuts then
    starts from a strong linear bound instead of t ≥ 0 (Frangioni & Gentile, 2006).
    """
    squares = cp.Variable(weights.shape[0], nonneg=True, name="perspective")
    cone = cp.SOC(squares + held, cp.vstack([2 * weights, squares - held]), axis=0)
    cuts = [
        squares >= cp.multiply(2 * anchors[:, k], weights) - cp.multiply(anchors[:, k] ** 2, held)
        for k in range(anchors.shape[1])
    ]
    return squares, [cone, *cuts]
