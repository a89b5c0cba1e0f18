"""Bucket balance: each bucket's weight within a tolerance of an equal share of the invested.

The rebalancer's ``bucket_balance_tolerance`` as one convex rule. For the B buckets that have
an eligible asset (program members), with a_b = 1_b − (1/B)·1 over the members:

    a_bᵀ w ≤ tolerance        (upper rows: bucket b holds at most its share + tolerance)
    a_bᵀ w ≥ −tolerance       (lower rows: bucket b holds at least its share − tolerance)

The share is of the invested weight Σ w (not of target_allocation), so the rows are
homogeneous: w = 0 meets them, and cash absorbs what the balance leaves unused (with its
reason). Dual: objective decrease per unit of extra tolerance on that bucket's side; an upper
row's bound moves +1 with the field, a lower row's −1.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense
from portcon.constraints.keys import LimitKey

if TYPE_CHECKING:
    from portcon.optimizer.program import Program

FIELD = "bucket_balance_tolerance"
UPPER = f"{FIELD}:upper"
LOWER = f"{FIELD}:lower"


@dataclass(frozen=True, eq=False)
class BucketBalance(Rule):
    """|Σ_{i∈b} w_i − Σ_i w_i / B| ≤ tolerance for each of the B buckets among the members."""

    labels: np.ndarray
    tolerance: float

    def _buckets(self) -> list[str]:
        return list(dict.fromkeys(str(label) for label in self.labels))

    def _matrix(self) -> np.ndarray:
        buckets = self._buckets()
        membership = np.array([self.labels == b for b in buckets], dtype=float)
        return membership - 1.0 / len(buckets)

    def parameters(self) -> dict[str, float | np.ndarray]:
        rows = len(self._buckets())
        return {
            UPPER: np.full(rows, self.tolerance),
            LOWER: np.full(rows, -self.tolerance),
        }

    def blocks(self) -> list[RowBlock]:
        buckets = tuple(self._buckets())
        matrix = sp.csr_array(self._matrix())
        ones = np.ones(len(buckets))
        return [
            RowBlock(
                rule=FIELD,
                subjects=buckets,
                sense=Sense.LE,
                coefficients=matrix,
                parameter=UPPER,
                bound_derivatives={LimitKey(FIELD): ones},
            ),
            RowBlock(
                rule=FIELD,
                subjects=buckets,
                sense=Sense.GE,
                coefficients=matrix,
                parameter=LOWER,
                bound_derivatives={LimitKey(FIELD): -ones},
            ),
        ]


def balance_rules(labels: np.ndarray | None, tolerance: float | None) -> list[Rule]:
    """The balance rule over the members' bucket labels; none when it cannot bind.

    Raises
    ------
    LimitsError
        When the tolerance is set and the scores have no bucket column.
    """
    if tolerance is None:
        return []
    if labels is None:
        from portcon.errors import LimitsError

        raise LimitsError(
            f"{FIELD} is set but the scores have no 'bucket' column; add the column or switch "
            "it off"
        )
    if len(set(labels)) < 2:  # one bucket always holds exactly its share
        return []
    return [BucketBalance(labels=np.asarray(labels, dtype=object), tolerance=tolerance)]


def with_balance(program: Program) -> Program:
    """``program`` with the bucket balance rule over its members, when the field is set."""
    labels = program.universe.bucket
    rules = balance_rules(
        None if labels is None else labels[program.members],
        program.limits.bucket_balance_tolerance,
    )
    if not rules or not len(program.members):
        return program
    return dataclasses.replace(program, rules=[*program.rules, *rules])


def balanced_buckets(program: Program) -> frozenset[str] | None:
    """The buckets the balance rule covers (for the independent check), or None when off."""
    labels = program.universe.bucket
    if program.limits.bucket_balance_tolerance is None or labels is None:
        return None
    return frozenset(str(label) for label in labels[program.members])
