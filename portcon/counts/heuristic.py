"""The labelled heuristic for count limits, and the tie rule shared with SCIP's answers.

Greedy by relaxed weight (score breaks ties), then one-for-one swaps; its gap is measured
against the convex relaxation. Supports are valued by solving them as convex programs.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from portcon.counts.rules import Counts, count_conflict, count_fields, violated
from portcon.counts.selection import Selection
from portcon.counts.support import with_support
from portcon.errors import InfeasibleError, SolverError
from portcon.optimizer.model import build
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.optimizer.solve import solve

HEURISTIC_CANDIDATES = 12
HEURISTIC_SECONDS = 5.0
TIE = 1e-9
TIE_SECONDS = 2.0


def prefer_scores(program: Program, counts: Counts, selection: Selection) -> Selection:
    """Among supports of equal value, hold the higher scores.

    Swaps the lowest-scoring held member for the highest-scoring one left out while the
    objective does not get worse (to 1e-9 relative): with equal weights and K positions this
    walks to the K best scores.
    """
    if selection.overridden is not None and selection.overridden.any():
        return selection  # a swap would have to re-decide the overrides too
    scores = program.universe.score[program.members]
    held = selection.held.copy()
    value = _objective(program, held, counts)
    if value is None:
        return selection
    started, trials = time.perf_counter(), 0
    budget = 2 * int(held.sum()) + 2
    swapped = True
    while swapped and trials < budget and time.perf_counter() - started < TIE_SECONDS:
        swapped = False
        for drop in sorted(np.flatnonzero(held), key=lambda i: scores[i]):
            add = next(
                (
                    j
                    for j in sorted(np.flatnonzero(~held), key=lambda i: -scores[i])
                    if scores[j] > scores[drop] and _admissible(_swap(held, drop, j), counts)
                ),
                None,
            )
            if add is None:
                continue
            trials += 1
            trial_value = _objective(program, _swap(held, drop, add), counts)
            if trial_value is not None and trial_value <= value + TIE * max(1.0, abs(value)):
                held, value, swapped = _swap(held, drop, add), min(value, trial_value), True
                break
            if trials >= budget:
                break
    return dataclasses.replace(selection, held=held)


def _swap(held: np.ndarray, drop: int, add: int) -> np.ndarray:
    trial = held.copy()
    trial[drop], trial[add] = False, True
    return trial


def heuristic(program: Program, counts: Counts, relaxation: Solution) -> Selection:
    """Greedy by relaxation weight (score breaks ties), then one-for-one swap improvement.

    The gap is measured against the convex relaxation's objective, a valid lower bound.
    """
    started = time.perf_counter()
    order = np.lexsort((-program.universe.score[program.members], -relaxation.weights))
    held = _greedy(order, counts)
    best = _objective(program, held, counts)
    if best is None:
        raise InfeasibleError(count_conflict(program, counts), conflicts=count_fields(counts))
    improved = True
    while improved and time.perf_counter() - started < HEURISTIC_SECONDS:
        improved = False
        outside = [i for i in order if not held[i]][:HEURISTIC_CANDIDATES]
        inside = sorted(np.flatnonzero(held), key=lambda i: relaxation.weights[i])
        for drop in inside:
            for add in outside:
                trial = held.copy()
                trial[drop], trial[add] = False, True
                if not _admissible(trial, counts):
                    continue
                value = _objective(program, trial, counts)
                if value is not None and value < best - 1e-12:
                    held, best, improved = trial, value, True
                    break
            if improved:
                break
    bound = relaxation.objective
    gap = (best - bound) / max(abs(bound), 1e-12)
    return Selection(
        held=held, path="heuristic", gap=max(gap, 0.0), bound=bound, status="heuristic"
    )


def _greedy(order: np.ndarray, counts: Counts) -> np.ndarray:
    held = np.zeros(len(order), dtype=bool)
    limits = counts.limits
    if limits.min_buckets_represented is not None and counts.buckets is not None:
        chosen_buckets: set[str] = set()
        for i in order:
            bucket = counts.buckets[i]
            if bucket in chosen_buckets or counts.upper[i] < counts.represented:
                continue
            trial = held.copy()
            trial[i] = True
            if _admissible(trial, counts, complete=False):
                held = trial
                chosen_buckets.add(bucket)
            if len(chosen_buckets) >= limits.min_buckets_represented:
                break
    for i in order:
        if held[i] or counts.upper[i] < max(counts.lower[i], 1e-12):
            continue
        trial = held.copy()
        trial[i] = True
        if _admissible(trial, counts, complete=False):
            held = trial
    return held


def _admissible(held: np.ndarray, counts: Counts, complete: bool = True) -> bool:
    """The count rules that depend on the support alone (a partial support may still lack
    buckets: ``complete=False`` skips min_buckets_represented)."""
    weights = np.where(held, np.maximum(counts.lower, counts.represented), 0.0)
    broken = set(violated(weights, counts)) - {"min_position_size"}
    if not complete:
        broken.discard("min_buckets_represented")
    return not broken


def _objective(program: Program, held: np.ndarray, counts: Counts) -> float | None:
    fixed = with_support(program, held, {}, counts)
    try:
        return solve(fixed, build(fixed)).objective
    except (InfeasibleError, SolverError):
        return None
