"""The count step of a construction: when the convex answer breaks a count rule, choose the
held assets (SCIP or the heuristic) and restate the program on that support.

The whole step runs within ``mip_time_limit`` seconds (a :class:`Deadline` reaches every
loop); what may follow it is one convex solve of the chosen support. Under max_sharpe the
support is searched by its Sharpe ratio (:mod:`portcon.counts.sharpe`) and γ* is recomputed
for the chosen support, so the weights are the maximum-Sharpe portfolio on it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from portcon.counts.deadline import Deadline
from portcon.counts.diagnose import diagnosed
from portcon.counts.heuristic import restricted
from portcon.counts.mip import select
from portcon.counts.rules import bucket_overrides, derive_counts, uses_counts, violated
from portcon.counts.selection import Selection
from portcon.counts.sharpe import sharpest
from portcon.counts.support import exclusion_reasons
from portcon.errors import InfeasibleError, LimitsError, SolverError
from portcon.optimizer import time_budget
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.sizing.diversification import count_message
from portcon.sizing.risk_objectives import MaxDiversification, MaxSharpe

COUNT_SHARE = 0.8  # of a call's time_limit left, the most the count step may use


def choose_support(
    program: Program, relaxation: Solution, correlations: np.ndarray | None
) -> tuple[Program, Selection] | None:
    """The program restricted to the chosen support and how it was chosen, or None when the
    convex answer ``relaxation`` already meets every count rule (or none is in force).

    Raises
    ------
    InfeasibleError
        When infeasibility of the count rules with the other limits is proven; its
        ``conflicts`` name every limit whose relaxation alone restores feasibility and its
        ``repairs`` give the verified value of each.
    SolverError
        When no support was found and infeasibility is not proven.
    """
    if not uses_counts(program.limits, program):
        return None
    counts = derive_counts(program, correlations)
    if not violated(relaxation.weights, counts):
        return None
    if isinstance(program.objective, MaxDiversification):  # its own search is not written yet
        raise LimitsError(count_message("a min_weight_if_held column"))
    deadline = Deadline(time_budget.cap(program.limits.mip_time_limit, COUNT_SHARE))
    search = sharpest if isinstance(program.objective, MaxSharpe) else select
    try:
        selection = search(program, counts, relaxation, deadline)
    except InfeasibleError as error:
        if not counts.keep:
            raise diagnosed(program, correlations, error) from None
        # held names first is a preference: the other count rules come before it
        counts = dataclasses.replace(counts, keep=0)
        try:
            selection = search(program, counts, relaxation, deadline)
        except InfeasibleError as again:
            raise diagnosed(program, correlations, again) from None
        note = "held names could not all keep their slots under the other count rules"
        selection = dataclasses.replace(selection, notes=(*selection.notes, note))
    held = selection.held
    overridden = bucket_overrides(held, counts)  # only where the support breaks a count
    selection = dataclasses.replace(selection, overridden=overridden)
    reasons = exclusion_reasons(program, held, counts, overridden)
    chosen = restricted(program, held, counts, reasons, overridden)
    if chosen is None:
        raise SolverError("the chosen support has no feasible weights", solver=selection.path)
    if deadline.passed():
        note = f"the count step reached its time limit ({deadline.seconds:g} s)"
        selection = dataclasses.replace(selection, notes=(*selection.notes, note))
    return chosen, selection
