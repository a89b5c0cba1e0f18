"""The count step of a construction: when the convex answer breaks a count rule, choose the
held assets (SCIP or the heuristic) and restate the program on that support."""

from __future__ import annotations

import numpy as np

from portcon.counts.mip import select
from portcon.counts.rules import derive_counts, uses_counts, violated
from portcon.counts.selection import Selection
from portcon.counts.support import exclusion_reasons, with_support
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution


def choose_support(
    program: Program, relaxation: Solution, correlations: np.ndarray | None
) -> tuple[Program, Selection] | None:
    """The program restricted to the chosen support and how it was chosen, or None when the
    convex answer ``relaxation`` already meets every count rule (or none is in force)."""
    if not uses_counts(program.limits, program):
        return None
    counts = derive_counts(program, correlations)
    if not (counts.overrides_possible or violated(relaxation.weights, counts)):
        return None
    selection = select(program, counts, relaxation)
    held, overridden = selection.held, selection.overridden
    reasons = exclusion_reasons(program, held, counts, overridden)
    return with_support(program, held, reasons, counts, overridden), selection
