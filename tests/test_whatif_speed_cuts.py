"""The per-scenario cuts of the what-if speed work give what the paths they replace give, bit
for bit: lists kept between a pooled problem's solves (optimizer/clarabel_direct.py)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from portcon.optimizer import clarabel_direct


def _bits(values: list[float]) -> bytes:
    return np.asarray(values, dtype=float).tobytes()


def test_kept_lists_are_the_lists_of_the_arrays_handed_over_bit_for_bit() -> None:
    """Arrays changing between solves (a value, a sign of zero, a NaN, a shape, a dtype) get
    new lists; unchanged arrays the kept ones; every list equals ``tolist`` of its array."""
    rng = np.random.default_rng(5)
    lists = clarabel_direct._Lists()
    base = rng.normal(size=40)
    changes = [base, base.copy(), np.where(np.arange(40) == 3, base + 1e-16, base)]
    signed = base.copy()
    signed[7] = 0.0
    changes += [signed, np.where(np.arange(40) == 7, -0.0, signed), base[:39].copy()]
    changes += [np.where(np.arange(40) == 2, np.nan, base), base.astype(np.float32)]
    changes += [base.copy()]
    previous = None
    for array in changes:
        listed = lists.listed("q", array)
        assert _bits(listed) == np.asarray(array.tolist(), dtype=float).tobytes()
        assert [type(value) for value in listed] == [type(v) for v in array.tolist()]
        if previous is not None and previous[0].dtype == array.dtype:
            same = previous[0].tobytes() == array.tobytes() and previous[0].shape == array.shape
            assert (listed is previous[1]) == same
        previous = (array, listed)
    zero = lists.listed("b", np.array([0.0]))
    minus = lists.listed("b", np.array([-0.0]))
    assert math.copysign(1.0, zero[0]) == 1.0 and math.copysign(1.0, minus[0]) == -1.0


def test_the_kept_upper_triangle_is_the_triangle_of_the_matrix_handed_over() -> None:
    rng = np.random.default_rng(6)
    lists = clarabel_direct._Lists()
    dense = np.where(rng.random((12, 12)) < 0.4, rng.normal(size=(12, 12)), 0.0)
    first = sp.csc_array(dense + dense.T)
    changed = first.copy()
    changed.data[0] += 1.0
    for matrix in (first, first.copy(), changed, first):
        upper = lists.upper_triangle(matrix)
        expected = sp.triu(matrix).tocsc()
        for part in ("data", "indices", "indptr"):
            assert getattr(upper, part).tobytes() == getattr(expected, part).tobytes()
    assert lists.upper_triangle(first.copy()) is lists.upper_triangle(first)
