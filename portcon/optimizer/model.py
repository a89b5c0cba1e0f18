"""Program → :class:`Model`: a DPP cvxpy Problem with labelled constraints, pooled by structure.

Building and canonicalising a cvxpy problem costs more than solving a small one. Every
number that can change between two constructions of the same shape (scores, caps, targets)
is a ``cp.Parameter``, so a model is built once per structure and later solves only re-bind
Parameter values; cvxpy then skips canonicalisation.

A cvxpy Problem (and the solver objects it keeps) can serve one solve at a time, so models
are *checked out* of the pool for a solve and returned after it: two threads solving the
same structure at once get two models. A pooled model is always solved through its DPP
compilation, and a one-off model (:func:`build`) never is, so the numbers a solver sees for
an input never depend on which model served it, or on what it solved before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import cvxpy as cp
import numpy as np
from cvxpy.interface import matrix_utilities as intf

from portcon.constraints.base import ModelContext
from portcon.optimizer.program import Program

CACHE_SIZE = 16  # structures kept
IDLE_PER_STRUCTURE = 4  # idle models kept per structure (one per concurrent solver thread)
M = TypeVar("M")


@dataclass(eq=False)
class Model:
    """A built problem: its variables and parameters, and one constraint per rule block.

    Attributes
    ----------
    context
        Variables and Parameters.
    constraints
        Block label → its cvxpy constraint (labels are the blocks' Parameter names).
    auxiliary
        The sizing objective's own constraints, in the order it declared them.
    problem
        The cvxpy Problem.
    dpp
        True for pooled models: every solve goes through the DPP compilation (compiled once,
        re-bound after). False for one-off models, whose only solve treats Parameters as
        constants (cheaper to compile once).
    """

    context: ModelContext
    constraints: dict[str, cp.Constraint]
    auxiliary: list[cp.Constraint]
    problem: cp.Problem
    dpp: bool
    _per_solver: dict[str, cp.Problem] = field(default_factory=dict)

    def for_solver(self, solver: str) -> cp.Problem:
        """The problem to hand ``solver``: one Problem object per solver, same expressions.

        cvxpy keeps the compiled form of only the last solver on a Problem, so a chain that
        alternates solvers would recompile on every call without this.
        """
        if solver not in self._per_solver:
            self._per_solver[solver] = cp.Problem(self.problem.objective, self.problem.constraints)
        return self._per_solver[solver]

    def bind(self, program: Program) -> None:
        """Set every Parameter from the program's current values.

        A Parameter already holding the same bits is left as it is: cvxpy validates every
        value it is given (~40 µs each), and between two scenarios most values (the risk
        model, most caps) do not change. The solver sees the same numbers either way.
        """
        values = program.parameters()
        missing = set(self.context.parameters) ^ set(values)
        if missing:
            raise RuntimeError(f"parameters out of step with the model: {sorted(missing)}")
        for name, value in values.items():
            parameter = self.context.parameters[name]
            if not _same_bits(parameter.value, value):
                assign(parameter, value)


def assign(parameter: cp.Parameter, value: object) -> None:
    """``parameter.value = value``, without cvxpy's projection check where it cannot fail.

    For a real Parameter without attributes (no sign, bounds or sparsity) cvxpy's check
    compares the value with its real part, which differs only where the value is NaN. Such a
    value is stored as cvxpy stores it (``intf.convert``, ~1 µs instead of ~70 µs); anything
    else, NaN included, goes through cvxpy's setter and its errors.
    """
    if parameter.num_attributes == 0 and parameter.sparse_idx is None:
        converted = intf.convert(value)
        numbers = None if intf.is_sparse(converted) else np.asarray(converted)
        if (
            numbers is not None
            and numbers.dtype.kind in "fiub"  # real numbers
            and numbers.shape == parameter.shape
            and not np.isnan(numbers).any()
        ):
            parameter.save_value(converted)
            return
    parameter.value = value


def _same_bits(held: object, given: object) -> bool:
    """True when ``given`` is, bit for bit, the value a Parameter already holds."""
    if held is None:
        return False
    old, new = np.asarray(held), np.asarray(given)
    return old.dtype == new.dtype and old.shape == new.shape and old.tobytes() == new.tobytes()


class IdleModels(Generic[M]):
    """Built models kept by structure key, each lent to one caller at a time (thread-safe).

    At most ``idle`` models per key and ``structures`` keys are kept (the least recently
    used key goes first). Models are built and bound by the caller.
    """

    def __init__(self, structures: int = CACHE_SIZE, idle: int = IDLE_PER_STRUCTURE) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[Hashable, list[M]] = OrderedDict()
        self._structures = structures
        self._idle_limit = idle

    def take(self, key: Hashable) -> M | None:
        """An idle model of ``key``, now lent to the caller, or None."""
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give_back(self, key: Hashable, model: M) -> None:
        """Return a lent (or newly built) model of ``key``."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(idle) < self._idle_limit:
                idle.append(model)
            while len(self._idle) > self._structures:
                self._idle.popitem(last=False)

    def clear(self) -> None:
        """Forget every idle model."""
        with self._lock:
            self._idle.clear()


class ModelPool:
    """Built models by structure; each is lent to one solve at a time (thread-safe)."""

    def __init__(self, structures: int = CACHE_SIZE, idle: int = IDLE_PER_STRUCTURE) -> None:
        self._models: IdleModels[Model] = IdleModels(structures, idle)

    @contextmanager
    def checkout(self, program: Program) -> Iterator[Model]:
        """A model of the program's structure, bound to its values, for the ``with`` block."""
        key = program.structure()
        model = self._models.take(key)
        if model is None:
            model = _build(program, dpp=True)
        model.bind(program)
        try:
            yield model
        finally:
            self._models.give_back(key, model)

    def clear(self) -> None:
        """Forget every idle model."""
        self._models.clear()


_pool = ModelPool()


def checkout(program: Program) -> AbstractContextManager[Model]:
    """A pooled model for ``program`` (see :meth:`ModelPool.checkout`)."""
    return _pool.checkout(program)


def build(program: Program) -> Model:
    """A one-off model for ``program``, bound to its values and never shared or pooled.

    For programs solved once (trial supports of a search): no DPP compilation is paid for.
    """
    model = _build(program, dpp=False)
    model.bind(program)
    return model


def clear_cache() -> None:
    """Forget every pooled model."""
    _pool.clear()


def _build(program: Program, dpp: bool) -> Model:
    context = ModelContext(len(program.members))
    for name, value in program.parameters().items():
        context.add_parameter(name, value)
    named: dict[str, cp.Constraint] = {}
    for block in program.blocks:
        if block.label in named:
            raise RuntimeError(f"two constraint blocks share the label {block.label!r}")
        named[block.label] = block.build(context)
    objective, auxiliary = program.require_objective().expression(context)
    constraints = [*named.values(), *auxiliary, context.cash >= 0]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    # cvxpy 1.9 types its @compute_once decorator as taking self alone, hiding `dpp`.
    if not problem.is_dcp(dpp=True):  # type: ignore[call-arg]
        raise RuntimeError("portcon built a problem that is not DPP; this is a bug")
    return Model(context=context, constraints=named, auxiliary=auxiliary, problem=problem, dpp=dpp)
