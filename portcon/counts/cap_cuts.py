"""Group-cap cuts for the relaxed perspective program: what n held names can fill of a cap.

A group cap row Σ_{i∈I} w_i ≤ C (a bucket or sector cap over a long-only book) with each held
member at most u_i ≤ u = max_{i∈I} u_i holds at most min(C, n·u) when n of its members are held.
With z in [0, 1] the relaxation sees only w_i ≤ u_i z_i and the cap, so n = Σ_{i∈I} z_i spread
over more groups than any support can use invests more than any support can (the `crisis`
preset: five held names in four buckets under a 35% bucket cap and an 18% position cap hold at
most 0.89, the relaxation 0.90). The chord of min(C, n·u) through n = k and k + 1, with
k = ⌊C/u⌋ and r = C − k·u ∈ [0, u):

    Σ_{i∈I} w_i ≤ k·u + r·(Σ_{i∈I} z_i − k)

is valid at every integer n (below k it lies above n·u since r < u; beyond k + 1 above C)
and cuts the fractional points between. Slope and right-hand side are Parameters, re-bound per
call; which rows get a cut (every ≤ row over weights alone with 0/1 coefficients on two or more
members) is part of the structure.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import ModelContext, RowBlock, Sense
from portcon.counts.rules import Counts
from portcon.optimizer.program import Program

SLOPE, BOUND = "cuts.slope", "cuts.bound"
ROOM = 1e-12  # added to each right-hand side: the chord is exact at n = k and k + 1


def cap_rows(program: Program, counts: Counts) -> list[tuple[int, int]]:
    """(block index, row) of every group cap the cut applies to (none for books with shorts)."""
    if counts.short is not None:
        return []
    found = []
    for index, block in enumerate(program.blocks):
        if not isinstance(block, RowBlock) or block.sense != Sense.LE or block.includes_cash:
            continue
        matrix = sp.csr_array(block.coefficients)
        for row in range(block.rows):
            data = matrix.data[matrix.indptr[row] : matrix.indptr[row + 1]]
            if len(data) >= 2 and np.all(data == 1.0):
                found.append((index, row))
    return found


def _members(program: Program, rows: list[tuple[int, int]]) -> sp.csr_array:
    """The 0/1 membership matrix of the cut rows (rows × members)."""
    size = len(program.members)
    if not rows:
        return sp.csr_array((0, size))
    blocks = program.blocks
    picked = []
    for index, row in rows:
        block = blocks[index]
        assert isinstance(block, RowBlock)
        picked.append(sp.csr_array(block.coefficients)[[row]])
    return sp.csr_array(sp.vstack(picked))


def cut_values(program: Program, counts: Counts) -> dict[str, np.ndarray]:
    """Slope r and right-hand side k·u − r·k of each cut, by Parameter name."""
    rows = cap_rows(program, counts)
    values = program.parameters()
    members = _members(program, rows)
    slopes, bounds = np.zeros(len(rows)), np.zeros(len(rows))
    for position, (index, row) in enumerate(rows):
        block = program.blocks[index]
        assert isinstance(block, RowBlock)
        cap = float(block.bound_values(values)[row])
        inside = members.indices[members.indptr[position] : members.indptr[position + 1]]
        largest = float(np.max(np.maximum(counts.upper[inside], 0.0)))
        if largest <= 1e-12 or cap <= 0:
            slopes[position], bounds[position] = 0.0, max(cap, 0.0) + ROOM
            continue
        whole = np.floor(cap / largest)
        rest = max(cap - whole * largest, 0.0)
        slopes[position], bounds[position] = rest, whole * largest - rest * whole + ROOM
    return {SLOPE: slopes, BOUND: bounds}


def cut_constraints(
    program: Program,
    counts: Counts,
    ctx: ModelContext,
    held: cp.Variable,
    params: dict[str, cp.Parameter],
) -> list[cp.Constraint]:
    """Σ_I w − r Σ_I z ≤ k·u − r·k per cap row (DPP: r and the bound are Parameters)."""
    rows = cap_rows(program, counts)
    if not rows:
        return []
    members = _members(program, rows)
    return [members @ ctx.weights - cp.multiply(params[SLOPE], members @ held) <= params[BOUND]]


def structure(program: Program, counts: Counts) -> tuple:
    """Which rows carry a cut (part of the relaxed program's shape)."""
    return tuple(cap_rows(program, counts))
