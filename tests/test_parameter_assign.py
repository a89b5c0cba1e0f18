"""model.assign stores what cvxpy's ``Parameter.value`` setter stores (the same object type,
dtype, shape and bytes) and refuses what it refuses, with the same message, on values of
every kind a pooled model could be given."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

from portcon.optimizer.model import assign

VALUES = [
    np.array([0.1, -2.0, 3.5]),
    np.array([np.inf, -np.inf, 0.0]),
    np.array([1.0, np.nan, 0.0]),
    np.array([1, 2, 3]),
    np.array([True, False, True]),
    [0.5, 0.25, 1e300],
    np.array([1.0 + 0j, 2.0, 3.0]),
    np.array([1.0, 2.0]),  # wrong shape
    np.zeros((3, 1)),
    sp.csr_array(np.array([[1.0, 0.0, 2.0]])),
    np.array(["a", "b", "c"], dtype=object),
]
SCALARS = [0.5, -1.0, np.float64(2.0), np.inf, np.nan, 3, True, np.array(0.7), np.array([0.7])]


def _outcome(parameter: cp.Parameter, value: object, how: str) -> tuple[object, ...]:
    try:
        if how == "setter":
            parameter.value = value
        else:
            assign(parameter, value)
    except Exception as error:  # the same exception either way is the point
        return ("error", type(error), str(error))
    held = parameter.value
    numbers = np.asarray(held)
    return (type(held), numbers.dtype, numbers.shape, numbers.tobytes())


PARAMETERS = [
    lambda shape: cp.Parameter(shape),
    lambda shape: cp.Parameter(shape, nonneg=True),
    lambda shape: cp.Parameter(shape, nonpos=True),
]


@pytest.mark.parametrize("make", PARAMETERS)
@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_vectors_are_stored_or_refused_as_the_setter_does(make, value) -> None:
    assert _outcome(make(3), value, "assign") == _outcome(make(3), value, "setter")


@pytest.mark.parametrize("make", PARAMETERS)
@pytest.mark.parametrize("value", SCALARS, ids=range(len(SCALARS)))
def test_scalars_are_stored_or_refused_as_the_setter_does(make, value) -> None:
    assert _outcome(make(()), value, "assign") == _outcome(make(()), value, "setter")


def test_a_solve_after_assign_gives_the_bits_of_a_solve_after_the_setter() -> None:
    x = cp.Variable(4)
    p = cp.Parameter(4)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(x - p)), [cp.sum(x) == 1, x >= 0])
    value = np.array([0.3, -0.2, 0.9, 0.1])
    p.value = value
    problem.solve(solver="CLARABEL")
    expected = x.value.tobytes()
    p.value = np.zeros(4)
    problem.solve(solver="CLARABEL")
    assign(p, value)
    problem.solve(solver="CLARABEL")
    assert x.value.tobytes() == expected
