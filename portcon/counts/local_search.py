"""Strong incumbents for hard count problems: a local search over supports.

Moves are insert (hold one more member), swap (one out, one in) and drop, each valued as the
small QP of :mod:`portcon.counts.support_qp` on the changed support. Which members to try
first comes from the current support's reduced costs (the first-order change of the objective
per unit of a member not held, row prices included), so a pass tries the few dozen most
promising members rather than all N. From a local optimum an iterated local search kicks the
best support (a few members replaced by promising outsiders, drawn by a seeded generator so
runs repeat) and descends again, keeping the best, until its time is up.

Every support tried passes :func:`portcon.counts.heuristic.admissible` (every count rule,
floors within every cap). The answer is a candidate: the count step re-values it on the
program and reports it as the heuristic's answer with its gap, or keeps SCIP's when better.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from portcon.constraints.base import RowBlock
from portcon.counts.greedy import greedy
from portcon.counts.heuristic import admissible, required_members
from portcon.counts.rules import Counts
from portcon.counts.support_qp import SupportQP, SupportValue, quadratic_form, support_qp
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution

CANDIDATES = 24  # outsiders tried per pass, by reduced cost
PAIRED = 8  # the most promising outsiders tried in pairs (one out, two in)
KICK_SIZES = (1, 2, 3)  # members replaced by a kick
IMPROVEMENT = 1e-9  # relative: a move must lower the objective by more than this
SEED = 0
STALLED = 50  # kicks in a row without an admissible, feasible support end the search
STALE_SECONDS, STALE_FACTOR = 15.0, 2.0  # the search ends when its best is this old
STALE_KICKS = 1000  # ... or after this many kicks without a better support
SMALLEST = 100  # members; up to this SCIP (or the proof) is fast enough alone
STATUS = "local search"


@dataclass(frozen=True)
class Incumbent:
    """The best support found, its small-QP objective, and the work done (QP solves, seconds
    spent, seconds until the best support was found)."""

    held: np.ndarray
    objective: float
    solves: int
    seconds: float
    found_after: float


_Move = tuple[np.ndarray, SupportValue]  # a support and its value


class _Search:
    def __init__(
        self,
        program: Program,
        counts: Counts,
        qp: SupportQP,
        until: float,
        stop: Callable[[], bool] | None,
    ) -> None:
        self.program, self.counts, self.qp, self.until = program, counts, qp, until
        self.stop = stop
        self.cache: dict[bytes, SupportValue | None] = {}
        self.eligible = counts.upper >= np.maximum(counts.lower, 1e-12)
        self.rng = np.random.default_rng(SEED)

    def out_of_time(self) -> bool:
        return time.perf_counter() >= self.until or (self.stop is not None and self.stop())

    def value(self, held: np.ndarray) -> SupportValue | None:
        key = np.packbits(held).tobytes()
        if key not in self.cache:
            self.cache[key] = self.qp.value(np.flatnonzero(held))
        return self.cache[key]

    def try_move(
        self, held: np.ndarray, drop: int | None, add: int | None, best: float
    ) -> _Move | None:
        trial = held.copy()
        if drop is not None:
            trial[drop] = False
        if add is not None:
            trial[add] = True
        if not admissible(self.program, trial, self.counts):
            return None
        found = self.value(trial)
        if found is None or found.objective >= best - IMPROVEMENT * max(abs(best), 1e-12):
            return None
        return trial, found

    def promising(self, held: np.ndarray, found: SupportValue, size: int) -> np.ndarray:
        """Members not held, most promising first: the lowest change of the objective from
        holding it at its floor, r·ℓ + ½hℓ² (reduced cost r, curvature h; ℓ at least 1e-4)."""
        outside = np.flatnonzero(~held & self.eligible)
        step = np.maximum(self.counts.lower[outside], 1e-4)
        change = found.reduced[outside] * step + 0.5 * self.qp.curvature[outside] * step**2
        order = np.argsort(change, kind="stable")
        return outside[order[:size]]

    def descend(self, held: np.ndarray, found: SupportValue) -> tuple[np.ndarray, SupportValue]:
        """First-improvement descent over insert, swap and drop moves to a local optimum."""
        while not self.out_of_time():
            moved = self._one_move(held, found)
            if moved is None:
                break
            held, found = moved
        return held, found

    def _one_move(self, held: np.ndarray, found: SupportValue) -> _Move | None:
        best = found.objective
        candidates = self.promising(held, found, CANDIDATES)
        inside = np.flatnonzero(held)
        by_weight = inside[np.argsort(found.weights, kind="stable")]
        for add in candidates:
            moved = self.try_move(held, None, add, best)
            if moved is not None:
                return moved
        for drop in by_weight:
            for add in candidates:
                if self.out_of_time():
                    return None
                moved = self.try_move(held, drop, add, best)
                if moved is not None:
                    return moved
        for drop in by_weight:
            moved = self.try_move(held, drop, None, best)
            if moved is not None:
                return moved
        return self._exchange(held, by_weight, candidates[:PAIRED], best)

    def _exchange(
        self, held: np.ndarray, by_weight: np.ndarray, candidates: np.ndarray, best: float
    ) -> _Move | None:
        """One member out, two in: where floors fill the budget, the only way to a support
        with one more member."""
        for drop in by_weight:
            for first, second in itertools.combinations(candidates, 2):
                if self.out_of_time():
                    return None
                trial = held.copy()
                trial[second] = True
                moved = self.try_move(trial, drop, first, best)
                if moved is not None:
                    return moved
        return None

    def kick(self, held: np.ndarray, found: SupportValue) -> tuple[np.ndarray, SupportValue] | None:
        """``held`` with a few members replaced by promising outsiders (admissible), valued."""
        pool = self.promising(held, found, 3 * CANDIDATES)
        inside = np.flatnonzero(held)
        for _ in range(20):
            size = min(int(self.rng.choice(KICK_SIZES)), len(inside), len(pool))
            if size == 0:
                return None
            trial = held.copy()
            trial[self.rng.choice(inside, size, replace=False)] = False
            trial[self.rng.choice(pool, size, replace=False)] = True
            if admissible(self.program, trial, self.counts):
                kicked = self.value(trial)
                if kicked is not None:
                    return trial, kicked
        return None


def applies(program: Program, counts: Counts) -> bool:
    """True when the search runs on ``program``: more than ``SMALLEST`` members and a
    program :func:`portcon.counts.support_qp.support_qp` can state."""
    if len(program.members) <= SMALLEST or counts.short is not None:
        return False
    if counts.overrides_possible or quadratic_form(program) is None:
        return False
    return all(isinstance(block, RowBlock) for block in program.blocks)


def incumbent(
    program: Program,
    counts: Counts,
    relaxation: Solution,
    until: float,
    starts: list[np.ndarray] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Incumbent | None:
    """The best support the local search finds by ``until`` (a ``time.perf_counter`` time),
    or earlier when ``stop()`` turns true (SCIP has answered, say).

    Starts from the floor-aware greedy by relaxed weight and from ``starts``. None when the
    search does not apply (see :func:`portcon.counts.support_qp.support_qp`) or finds no
    support with feasible weights.
    """
    started = time.perf_counter()
    if not applies(program, counts):
        return None
    qp = support_qp(program, counts, relaxation.objective)
    if qp is None:
        return None
    search = _Search(program, counts, qp, until, stop)
    best: tuple[np.ndarray, SupportValue] | None = None
    found_after = 0.0
    for held in [_greedy_start(program, counts, relaxation), *(starts or [])]:
        if search.out_of_time() or not admissible(program, held, counts):
            continue
        found = search.value(held)
        if found is None:
            continue
        held, found = search.descend(held, found)
        if best is None or found.objective < best[1].objective:
            best, found_after = (held, found), time.perf_counter() - started
    failures = fruitless = 0
    while best is not None and not search.out_of_time() and failures < STALLED:
        stale = time.perf_counter() - started > max(STALE_SECONDS, STALE_FACTOR * found_after)
        if stale or fruitless >= STALE_KICKS:
            break  # no better support for a while: leave the processor to SCIP
        kicked = search.kick(*best)
        if kicked is None:
            failures += 1
            continue
        failures, fruitless = 0, fruitless + 1
        held, found = search.descend(*kicked)
        if found.objective < best[1].objective - IMPROVEMENT * max(abs(best[1].objective), 1e-12):
            best, found_after = (held, found), time.perf_counter() - started
            fruitless = 0
    if best is None:
        return None
    seconds = time.perf_counter() - started
    return Incumbent(best[0], best[1].objective, qp.solves, seconds, found_after)


def _greedy_start(program: Program, counts: Counts, relaxation: Solution) -> np.ndarray:
    first = -2.0 * required_members(program)
    if counts.priority is not None:
        first -= counts.priority.astype(float)
    size = np.abs(relaxation.weights)
    order = np.lexsort((-program.universe.score[program.members], -size, first))
    return greedy(program, counts, order)
