"""cvxpy's SCIP interface with the model built in time linear in the non-zeros.

cvxpy's :class:`~cvxpy.reductions.solvers.conic_solvers.scip_conif.SCIP` walks every entry of
A once per second-order cone to find that cone's rows, and tests each variable's type by
searching the list of binary indices. The mixed-integer program of
:mod:`portcon.counts.formulation` has one cone per member, so at N = 2000 (10 factors) building
the SCIP model took ~80 s on this machine: SCIP's time limit ran out before it started. Here A is
walked once and its entries grouped by row in the same order cvxpy collects them, and the index
lists become sets, so every constraint gets the same terms in the same order and every variable
the same type, bounds and name: the same SCIP model.
"""

from __future__ import annotations

from typing import Any

import cvxpy.settings as s
from cvxpy.reductions.solvers.conic_solvers.scip_conif import (
    SCIP,
    ConstraintTypes,
    VariableTypes,
)


class LeanScip(SCIP):
    """cvxpy's SCIP interface; :meth:`_create_variables` and :meth:`_add_constraints` lean."""

    def _create_variables(self, model: Any, data: dict[str, Any], c: Any) -> list:
        """cvxpy's variables, each index's type looked up in a set rather than a list."""
        lower, upper = data.get(s.LOWER_BOUNDS), data.get(s.UPPER_BOUNDS)
        binary, integer = set(data[s.BOOL_IDX]), set(data[s.INT_IDX])
        variables = []
        for n, cost in enumerate(c):
            low: Any
            high: Any
            if n in binary:
                kind, low, high = VariableTypes.BINARY, 0, 1
            else:
                kind = VariableTypes.INTEGER if n in integer else VariableTypes.CONTINUOUS
                low = lower[n] if lower is not None else None
                high = upper[n] if upper is not None else None
            variables.append(model.addVar(obj=cost, name=f"x_{n}", vtype=kind, lb=low, ub=high))
        return variables

    def _add_constraints(
        self, model: Any, variables: list, matrix: Any, b: Any, dims: dict[str, Any]
    ) -> list:
        """cvxpy's constraints (equalities, inequalities, then per cone its rows as new
        variables, their defining equalities and the quadratic row), A's rows grouped once."""
        terms = rows_of(matrix)
        equal = _linear(model, variables, terms, range(dims[s.EQ_DIM]), b, ConstraintTypes.EQUAL)
        start = dims[s.EQ_DIM]
        end = start + dims[s.LEQ_DIM]
        less = _linear(
            model, variables, terms, range(start, end), b, ConstraintTypes.LESS_THAN_OR_EQUAL
        )
        cones, defining = [], []
        for length in dims[s.SOC_DIM]:
            cone, rows, new = _cone(model, variables, terms, range(end, end + length), b)
            cones.append(cone)
            defining += rows
            variables += new
            end += length
        return equal + less + defining + cones


def rows_of(matrix: Any) -> dict[int, list[tuple[float, int]]]:
    """The entries (coefficient, column) of cvxpy's dok matrix by row, in the order of its
    ``items()`` (what cvxpy's interface collects per row)."""
    terms: dict[int, list[tuple[float, int]]] = {}
    for (i, j), coefficient in matrix.items():
        terms.setdefault(int(i), []).append((coefficient, int(j)))
    return terms


def _linear(
    model: Any,
    variables: list,
    terms: dict[int, list[tuple[float, int]]],
    rows: range,
    b: Any,
    kind: str,
) -> list:
    from pyscipopt.scip import quicksum

    constraints: list = []
    for i in rows:
        row = terms.get(i)
        if not row:
            constraints.append(None)
            continue
        expression = quicksum(coefficient * variables[j] for coefficient, j in row)
        equal = kind == ConstraintTypes.EQUAL
        constraints.append(model.addCons(expression == b[i] if equal else expression <= b[i]))
    return constraints


def _cone(
    model: Any, variables: list, terms: dict[int, list[tuple[float, int]]], rows: range, b: Any
) -> tuple[Any, list, list]:
    from pyscipopt.scip import quicksum

    new: list[Any] = []
    for i in rows:
        low = 0 if not new else None
        new.append(
            model.addVar(obj=0, name=f"soc_t_{i}", vtype=VariableTypes.CONTINUOUS, lb=low, ub=None)
        )
    expressions = [
        b[i] - quicksum(coefficient * variables[j] for coefficient, j in terms.get(i, []))
        for i in rows
    ]
    defining = [model.addCons(new[k] == expression) for k, expression in enumerate(expressions)]
    cone = model.addCons(quicksum([v * v for v in new[1:]]) <= new[0] * new[0])
    return cone, defining, new
