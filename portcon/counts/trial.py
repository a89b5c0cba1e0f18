"""Trial supports on one pooled model: the support as per-member bounds, not as row sets.

The count search values many supports of one program (the tie pass, the heuristic's swaps).
:class:`~portcon.counts.support.SupportRule` states a support as rows over the excluded and
floored members, so each support is a new problem shape and pays a cvxpy compilation
(~15–25 ms). :class:`TrialSupport` states it as two rows per member whose bounds are
Parameters: w_i ≤ u_i (0 when excluded, else above the member's largest feasible weight) and
w_i ≥ ℓ_i (the floor when held with one, 0 when excluded, else below any feasible weight).
Every support of a program then has the same shape, so the pooled model is compiled once and
each trial costs a re-bind and a solve. The feasible set is the same as SupportRule's, so is
the optimum; the weights and explanations of the chosen support still come from SupportRule.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from portcon.constraints.base import RowBlock, Rule, Sense, identity
from portcon.counts.rules import Counts
from portcon.optimizer.program import Program

SLACK = 1.0  # beyond a member's largest (or smallest) feasible weight: a row that never binds
UPPER, LOWER = "trial_support.upper", "trial_support.lower"


@dataclass(frozen=True, eq=False)
class TrialSupport(Rule):
    """A support as per-member bound rows (``upper``, ``lower``) of a fixed shape."""

    upper: np.ndarray
    lower: np.ndarray
    assets: tuple[str, ...]

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {UPPER: self.upper, LOWER: self.lower}

    def blocks(self) -> list[RowBlock]:
        rows = identity(len(self.assets))
        return [
            RowBlock(
                rule="trial_support",
                subjects=self.assets,
                sense=sense,
                coefficients=rows,
                parameter=parameter,
            )
            for sense, parameter in ((Sense.LE, UPPER), (Sense.GE, LOWER))
        ]


def trial_program(program: Program, held: np.ndarray, counts: Counts) -> Program:
    """``program`` restricted to support ``held``, in the fixed shape of :class:`TrialSupport`.

    Held members keep their floor (``counts.lower``) and may go down to −(short cap) when
    they may be short; members not held are fixed at 0.
    """
    short = np.zeros(len(held)) if counts.short is None else counts.short
    free_low = -short - SLACK
    lower = np.where(held, np.where(counts.lower > 0, counts.lower, free_low), 0.0)
    upper = np.where(held, np.maximum(counts.upper, 0.0) + SLACK, 0.0)
    trial = TrialSupport(upper=upper, lower=lower, assets=program.assets)
    return dataclasses.replace(program, rules=[*program.rules, trial])
