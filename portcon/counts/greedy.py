"""Incremental admissibility of a growing support, and the floor-aware greedy.

:class:`Tracker` keeps running counts (positions, new positions, per-bucket positions and the
overrides they need, held correlation partners, and the floors already committed under each
linear cap row), so asking whether one more member fits costs O(its rows), not O(members).
The greedy adds members in a given order while they fit: counts, and floors within every
cap (the target included), so the support it returns has room for its own floors.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Sense
from portcon.counts.deadline import Deadline
from portcon.counts.rules import Counts
from portcon.optimizer.program import Program

ROOM = 1e-12  # floors may fill a cap to within this


def floor_rows(program: Program) -> tuple[sp.csc_array, np.ndarray]:
    """The linear rows that cap a sum of weights (A w ≤ b, A ≥ 0; the target row too)."""
    values = program.parameters()
    matrices, bounds = [], []
    for block in program.blocks:
        if not isinstance(block, RowBlock) or block.sense == Sense.GE:
            continue
        if block.sense == Sense.EQ and block.rule != "target_allocation":
            continue
        matrix = sp.csr_array(block.coefficients)
        if matrix.nnz and np.all(matrix.data > 0):
            matrices.append(matrix)
            bounds.append(np.broadcast_to(block.bound_values(values), (matrix.shape[0],)))
    if not matrices:
        return sp.csc_array((0, len(program.members))), np.zeros(0)
    return sp.csc_array(sp.vstack(matrices)), np.concatenate(bounds).astype(float)


class Tracker:
    """Running count-rule state of a support built one member at a time."""

    def __init__(self, program: Program, counts: Counts) -> None:
        size = len(counts.lower)
        self.counts = counts
        self.held = np.zeros(size, dtype=bool)
        self.total = 0
        self.new = 0
        self.matrix, self.bounds = floor_rows(program)
        self.load = np.zeros(len(self.bounds))
        self.partners: list[list[int]] = [[] for _ in range(size)]
        for i, j, _ in counts.pairs:
            self.partners[i].append(j)
            self.partners[j].append(i)
        self.bucket = np.full(size, -1)
        self.limit: list[int] = []
        if counts.buckets is not None:
            for k, (label, limit) in enumerate(counts.bucket_limits.items()):
                self.bucket[counts.buckets == label] = k
                self.limit.append(limit)
        self.in_bucket = np.zeros(len(self.limit), dtype=int)
        self.plain = np.zeros(len(self.limit), dtype=int)  # held names that may not override
        self.excess = 0

    def _counted(self, i: int) -> bool:
        return self.bucket[i] >= 0 and (
            bool(self.counts.new[i]) or not self.counts.limits.allow_bucket_overflow
        )

    def _bucket_excess(self, k: int, inside: int, plain: int) -> int:
        """Overrides bucket k needs (10**9: none can make it admissible)."""
        excess = max(0, inside - self.limit[k])
        return excess if excess == 0 or plain == 0 else 10**9

    def fits(self, i: int) -> bool:
        """True when holding member ``i`` too keeps every count rule and floor admissible."""
        counts, limits = self.counts, self.counts.limits
        if self.held[i] or counts.upper[i] < max(counts.lower[i], 1e-12):
            return False
        if limits.max_total_positions is not None and self.total >= limits.max_total_positions:
            return False
        new_limit = limits.max_new_positions
        if new_limit is not None and counts.new[i] and self.new >= new_limit:
            return False
        if any(self.held[j] for j in self.partners[i]):
            return False
        if self._counted(i):
            k = self.bucket[i]
            overridable = counts.overridable is not None and bool(counts.overridable[i])
            before = self._bucket_excess(k, self.in_bucket[k], self.plain[k])
            after = self._bucket_excess(k, self.in_bucket[k] + 1, self.plain[k] + (not overridable))
            allowed = limits.max_bucket_overrides if counts.overridable is not None else 0
            if self.excess - before + after > allowed:
                return False
        rows, column = self._column(i)
        return bool(np.all(self.load[rows] + column * counts.lower[i] <= self.bounds[rows] + ROOM))

    def _column(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        start, stop = self.matrix.indptr[i], self.matrix.indptr[i + 1]
        return self.matrix.indices[start:stop], self.matrix.data[start:stop]

    def add(self, i: int) -> None:
        """Hold member ``i`` (call :meth:`fits` first)."""
        counts = self.counts
        self.held[i] = True
        self.total += 1
        self.new += int(counts.new[i])
        if self._counted(i):
            k = self.bucket[i]
            overridable = counts.overridable is not None and bool(counts.overridable[i])
            before = self._bucket_excess(k, self.in_bucket[k], self.plain[k])
            self.in_bucket[k] += 1
            self.plain[k] += not overridable
            self.excess += self._bucket_excess(k, self.in_bucket[k], self.plain[k]) - before
        rows, column = self._column(i)
        self.load[rows] += column * counts.lower[i]


def greedy(
    program: Program, counts: Counts, order: np.ndarray, deadline: Deadline | None = None
) -> np.ndarray:
    """Members in ``order`` while they fit; the required buckets are seeded first.

    Stops early (with what it has) when ``deadline`` passes.
    """
    tracker = Tracker(program, counts)
    limits = counts.limits
    if limits.min_buckets_represented is not None and counts.buckets is not None:
        chosen: set[str] = set()
        for i in order:
            if len(chosen) >= limits.min_buckets_represented:
                break
            bucket = counts.buckets[i]
            if bucket in chosen or counts.upper[i] < counts.represented:
                continue
            if tracker.fits(i):
                tracker.add(i)
                chosen.add(bucket)
    for step, i in enumerate(order):
        if step % 256 == 0 and deadline is not None and deadline.passed():
            break
        if tracker.fits(i):
            tracker.add(i)
    return tracker.held
