"""Program → :class:`Model`: a DPP cvxpy Problem with named constraints, cached by structure.

Building and canonicalising a cvxpy problem costs more than solving a small one. Every
number that can change between two constructions of the same shape (scores, caps, targets)
is a ``cp.Parameter``, so a model is built once per structure and later solves only re-bind
Parameter values; cvxpy then skips canonicalisation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

import cvxpy as cp

from portcon.constraints.base import ModelContext
from portcon.optimizer.program import Program

CACHE_SIZE = 16


@dataclass(eq=False)
class Model:
    """A built problem: its variables and parameters, one constraint per rule block, in order.

    Constraint k belongs to the k-th block of the program's rules (in rule order); the report
    pairs them with the blocks of the program being solved, so a model reused for another
    universe of the same shape never reports stale labels.
    """

    context: ModelContext
    constraints: list[cp.Constraint]
    auxiliary: list[cp.Constraint]
    problem: cp.Problem
    solves: dict[str, int] = field(default_factory=dict)
    _per_solver: dict[str, cp.Problem] = field(default_factory=dict)

    def for_solver(self, solver: str) -> cp.Problem:
        """The problem to hand ``solver``: one Problem object per solver, same expressions.

        cvxpy keeps the compiled form of only the last solver on a Problem, so a chain that
        alternates solvers would recompile on every call without this.
        """
        if solver not in self._per_solver:
            self._per_solver[solver] = cp.Problem(self.problem.objective, self.problem.constraints)
        return self._per_solver[solver]

    def first_solve(self, solver: str) -> bool:
        """True until ``solver`` has solved this model once.

        A DPP compilation costs about three plain ones, and pays off only from the second
        solve of the same structure: the first solve treats Parameters as constants.
        """
        return self.solves.get(solver, 0) == 0

    def bind(self, program: Program) -> None:
        """Set every Parameter from the program's current values."""
        values = program.parameters()
        missing = set(self.context.parameters) ^ set(values)
        if missing:
            raise RuntimeError(f"parameters out of step with the model: {sorted(missing)}")
        for name, value in values.items():
            self.context.parameters[name].value = value


_cache: OrderedDict[Hashable, Model] = OrderedDict()


def build(program: Program) -> Model:
    """The model for a program: from the cache when its structure was built before."""
    key = program.structure()
    model = _cache.get(key)
    if model is None:
        model = _build(program)
        _cache[key] = model
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    model.bind(program)
    return model


def clear_cache() -> None:
    """Forget every cached model."""
    _cache.clear()


def _build(program: Program) -> Model:
    context = ModelContext(len(program.members))
    for name, value in program.parameters().items():
        context.add_parameter(name, value)
    named = [block.build(context) for block in program.blocks]
    objective, auxiliary = program.objective.expression(context)
    problem = cp.Problem(cp.Minimize(objective), [*named, *auxiliary, context.cash >= 0])
    if not problem.is_dcp(dpp=True):
        raise RuntimeError("portcon built a problem that is not DPP; this is a bug")
    return Model(context=context, constraints=named, auxiliary=auxiliary, problem=problem)
