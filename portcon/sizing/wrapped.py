"""An objective that adds convex terms to an inner sizing objective (costs, regularisation).

The wrapper keeps the inner objective's cash behaviour, and both its expression and its
perspective (the mixed-integer form) are the inner one's plus the wrapper's own terms.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from portcon.constraints.base import ModelContext
from portcon.sizing.objectives import SizingObjective

__all__ = ["AddedTerms", "innermost", "rewrapped"]


@dataclass(frozen=True, eq=False)
class AddedTerms(SizingObjective):
    """``inner`` plus the terms :meth:`added_terms` states."""

    inner: SizingObjective

    @property
    def free_cash(self) -> bool:  # type: ignore[override]
        return self.inner.free_cash

    @property
    def cash_choice(self) -> str:  # type: ignore[override]
        return self.inner.cash_choice

    @abstractmethod
    def added_terms(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        """The wrapper's own terms and the auxiliary rows they need."""

    def expression(self, ctx: ModelContext) -> tuple[cp.Expression, list[cp.Constraint]]:
        inner, auxiliary = self.inner.expression(ctx)
        terms, rows = self.added_terms(ctx)
        return inner + terms, [*auxiliary, *rows]

    def perspective(
        self, ctx: ModelContext, held: cp.Variable, anchors: np.ndarray
    ) -> tuple[cp.Expression, list[cp.Constraint]] | None:
        inner = self.inner.perspective(ctx, held, anchors)
        if inner is None:
            return None
        terms, rows = self.added_terms(ctx)
        return inner[0] + terms, [*inner[1], *rows]


def innermost(objective: SizingObjective) -> SizingObjective:
    """The sizing objective under every wrapper that adds terms (costs, regularisation)."""
    while isinstance(objective, AddedTerms):
        objective = objective.inner
    return objective


def rewrapped(objective: SizingObjective, replacement: SizingObjective) -> SizingObjective:
    """``objective`` with its innermost sizing objective replaced, wrappers kept."""
    if not isinstance(objective, AddedTerms):
        return replacement
    return dataclasses.replace(objective, inner=rewrapped(objective.inner, replacement))
