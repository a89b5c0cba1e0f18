"""Benchmark-relative rules: the tracking-error cone and the active-weight bounds.

With the benchmark b (the scores' ``benchmark_weight`` column) the active weights are
a = w − b over the whole universe; an asset that is not a member of the program has w = 0,
so its active weight −b is a constant. In factor form (Σ = G Gᵀ + diag(d²)) the tracking
error is the norm of one stacked vector,

    TE(w) = ‖[Gᵀw − Gᵀ_all b ;  d∘w − d∘b ;  ‖d_out∘b_out‖]‖,

with G, d, w over the members and the constants carrying the benchmark's holdings outside the
book. ``max_tracking_error`` is one second-order-cone row TE(w) ≤ cap (:class:`TrackingErrorBlock`);
its part of stationarity is g·Σa/TE (the gradient of TE), its multiplier g the objective's
decrease per unit (1.00 = 100% a year) of extra tracking error allowed.

Active bounds are ordinary rows: b_i − m ≤ w_i ≤ b_i + m for ``max_active_weight`` m and
B_g − c ≤ Σ_{i∈g} w_i ≤ B_g + c per group, B_g the group's benchmark weight (members and
not). The upper row's bound moves +1 with the field, the lower row's −1, so the price of the
field is the sum of both rows' prices. A lower row that cannot bind in a long-only book
(b_i − m ≤ 0) is left out.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import ClassVar

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import (
    RISK_EXPOSURES,
    RISK_SPECIFIC,
    Block,
    ModelContext,
    RowBlock,
    Rule,
    Sense,
    VolatilityBlock,
)
from portcon.constraints.keys import LimitKey

TRACKING = "max_tracking_error"
ACTIVE = "max_active_weight"


@dataclass(frozen=True, eq=False)
class ActiveRisk:
    """The benchmark in the factor form of the members' risk model.

    Attributes
    ----------
    exposures, specific
        G and d over the members.
    benchmark
        b over the members.
    factor_offset
        Gᵀ_all b: the benchmark's factor exposure, over the whole universe.
    outside
        ‖d∘b‖ over the assets that are not members (their specific risk, a constant).
    """

    exposures: np.ndarray
    specific: np.ndarray
    benchmark: np.ndarray
    factor_offset: np.ndarray
    outside: float

    @classmethod
    def of(
        cls, exposures: np.ndarray, specific: np.ndarray, benchmark: np.ndarray, members: np.ndarray
    ) -> ActiveRisk:
        """From the universe's G, d and b and the members' positions in it."""
        outside = np.ones(len(benchmark), dtype=bool)
        outside[members] = False
        return cls(
            exposures=exposures[members],
            specific=specific[members],
            benchmark=benchmark[members],
            factor_offset=exposures.T @ benchmark,
            outside=float(np.linalg.norm(specific[outside] * benchmark[outside])),
        )

    @property
    def specific_anchor(self) -> np.ndarray:
        """d∘b over the members."""
        return self.specific * self.benchmark

    def residuals(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Gᵀw − Gᵀ_all b, d∘w − d∘b): the stacked vector's parts that move with w."""
        return (
            self.exposures.T @ weights - self.factor_offset,
            self.specific * weights - self.specific_anchor,
        )

    def variance(self, weights: np.ndarray) -> float:
        """aᵀΣa, the squared tracking error."""
        factor, specific = self.residuals(weights)
        return float(factor @ factor + specific @ specific + self.outside**2)

    def tracking_error(self, weights: np.ndarray) -> float:
        """√(aᵀΣa)."""
        return float(np.sqrt(max(self.variance(weights), 0.0)))

    def active_times(self, weights: np.ndarray) -> np.ndarray:
        """(Σa) over the members: the gradient of ½ aᵀΣa."""
        factor, specific = self.residuals(weights)
        return self.exposures @ factor + self.specific * specific

    def covariance(self) -> np.ndarray:
        """Σ over the members (dense, for curvature)."""
        return self.exposures @ self.exposures.T + np.diag(self.specific**2)

    def parameters(self, prefix: str, scale: float = 1.0) -> dict[str, float | np.ndarray]:
        """√scale × the constants of the stacked vector, as Parameter values."""
        root = np.sqrt(scale)
        return {
            f"{prefix}.factor_offset": root * self.factor_offset,
            f"{prefix}.specific_anchor": root * self.specific_anchor,
            f"{prefix}.outside": np.array([root * self.outside]),
        }

    def stacked(
        self,
        ctx: ModelContext,
        prefix: str,
        exposures: cp.Expression,
        specific: cp.Expression,
    ) -> cp.Expression:
        """The stacked vector over the model's weights, constants from ``prefix`` Parameters."""
        return cp.hstack(
            [
                exposures.T @ ctx.weights - ctx.parameter(f"{prefix}.factor_offset"),
                cp.multiply(specific, ctx.weights) - ctx.parameter(f"{prefix}.specific_anchor"),
                ctx.parameter(f"{prefix}.outside"),
            ]
        )


@dataclass(frozen=True, eq=False, kw_only=True)
class TrackingErrorBlock(VolatilityBlock):
    """One second-order-cone row: TE(w) = √((w−b)ᵀΣ(w−b)) ≤ bound (see the module).

    The volatility row of the active weights: ``exposures`` and ``specific`` are the members'
    G and d, as for :class:`VolatilityBlock`, and ``active`` adds the benchmark. Its part of
    stationarity is g · Σa / TE(w).
    """

    active: ActiveRisk
    smooth: ClassVar[bool] = True

    def values(self, weights: np.ndarray) -> np.ndarray:
        """The tracking error at ``weights``."""
        return np.array([self.active.tracking_error(weights)])

    def gradients(self, weights: np.ndarray) -> np.ndarray:
        """∇TE(w) = Σa / TE, as one row (0 at TE = 0)."""
        error = self.active.tracking_error(weights)
        if error <= 0:
            return np.zeros((1, len(weights)))
        return (self.active.active_times(weights) / error)[None, :]

    def pullback(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """g · Σa / TE."""
        return float(multipliers[0]) * self.gradients(weights)[0]

    def curvature(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray | None:
        """g ∇²TE = g (Σ − Σa aᵀΣ / TE²) / TE."""
        error = self.active.tracking_error(weights)
        if error <= 0:
            return None
        direction = self.active.active_times(weights)
        hessian = (self.active.covariance() - np.outer(direction, direction) / error**2) / error
        return float(multipliers[0]) * hessian

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """‖stacked‖₂ ≤ bound, over the model's risk Parameters."""
        stacked = self.active.stacked(
            ctx, self.rule, ctx.parameter(RISK_EXPOSURES), ctx.parameter(RISK_SPECIFIC)
        )
        return cp.norm(stacked, 2) <= ctx.parameter(self.parameter)

    def over(
        self,
        weights: cp.Expression,
        cash: cp.Expression | float,
        bound: cp.Expression | np.ndarray,
    ) -> cp.Constraint:
        """The tracking-error row over any weight expression, with any bound."""
        active = self.active
        stacked = cp.hstack(
            [
                active.exposures.T @ weights - active.factor_offset,
                cp.multiply(active.specific, weights) - active.specific_anchor,
                np.array([active.outside]),
            ]
        )
        return cp.norm(stacked, 2) <= bound

    def layout(self) -> Hashable:
        """Shape in the problem."""
        return (self.rule, "tracking", self.parameter, self.active.exposures.shape)


@dataclass(frozen=True, eq=False)
class TrackingErrorCap(Rule):
    """√((w−b)ᵀΣ(w−b)) ≤ max_tracking_error (a second-order cone, factor form).

    Dual: the objective's decrease per unit (1.00 = 100% a year) of extra tracking error.
    """

    active: ActiveRisk
    cap: float
    limit = TRACKING

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.cap), **self.active.parameters(self.limit)}

    def blocks(self) -> list[Block]:
        return [
            TrackingErrorBlock(
                rule=self.limit,
                parameter=self.limit,
                exposures=self.active.exposures,
                specific=self.active.specific,
                active=self.active,
                bound_derivatives={LimitKey(self.limit): np.ones(1)},
            )
        ]


@dataclass(frozen=True, eq=False)
class ActiveBounds(Rule):
    """center − m ≤ A w ≤ center + m row by row: active bounds of one field.

    ``rows`` (rows × members) sums the members of each subject (one asset, or a group);
    ``center`` is each subject's benchmark weight; ``lower`` marks the rows whose lower bound
    can bind. ``keys`` are the Limits entries each row's m belongs to (one key for a global
    field, one per subject for a per-name field).
    """

    rule: str
    subjects: tuple[str, ...]
    rows: sp.csr_array
    center: np.ndarray
    allowed: np.ndarray
    lower: np.ndarray
    keys: tuple[LimitKey, ...]

    def _bound(self, side: str) -> np.ndarray:
        if side == "upper":
            return self.center + self.allowed
        return (self.center - self.allowed)[self.lower]

    def parameters(self) -> dict[str, float | np.ndarray]:
        values: dict[str, float | np.ndarray] = {f"{self.rule}:upper": self._bound("upper")}
        if self.lower.any():
            values[f"{self.rule}:lower"] = self._bound("lower")
        return values

    def _derivatives(self, chosen: np.ndarray, sign: float) -> dict[LimitKey, np.ndarray]:
        derivatives: dict[LimitKey, np.ndarray] = {}
        for row, k in enumerate(chosen):
            key = self.keys[int(k)]
            derivatives.setdefault(key, np.zeros(len(chosen)))[row] = sign
        return derivatives

    def blocks(self) -> list[Block]:
        every = np.arange(len(self.subjects))
        blocks: list[Block] = [
            RowBlock(
                rule=self.rule,
                subjects=self.subjects,
                sense=Sense.LE,
                coefficients=self.rows,
                parameter=f"{self.rule}:upper",
                bound_derivatives=self._derivatives(every, 1.0),
            )
        ]
        chosen = np.flatnonzero(self.lower)
        if len(chosen):
            blocks.append(
                RowBlock(
                    rule=self.rule,
                    subjects=tuple(self.subjects[int(k)] for k in chosen),
                    sense=Sense.GE,
                    coefficients=sp.csr_array(self.rows[chosen]),
                    parameter=f"{self.rule}:lower",
                    bound_derivatives=self._derivatives(chosen, -1.0),
                )
            )
        return blocks
