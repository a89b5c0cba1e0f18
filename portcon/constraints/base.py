"""What every rule shares: named linear constraint rows over the weight vector.

Every portcon limit is linear in the weights, ``A w (+ cash) <sense> b``. A rule declares its
rows once (:class:`RowBlock`): the Limits field a user would relax, the subject of each row,
the coefficient matrix ``A``, the name of the ``cp.Parameter`` holding ``b`` and how ``b``
moves with each Limits field. The model builder turns blocks into cvxpy constraints; the
report reads the same blocks back to compute values, slacks, shadow prices and each rule's
share of the KKT stationarity identity — nothing is looked up by position or by string.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import cvxpy as cp
import numpy as np
import scipy.sparse as sp


class Sense(StrEnum):
    """Direction of a constraint row."""

    LE = "<="
    GE = ">="
    EQ = "=="


@dataclass(frozen=True, eq=False)
class RowBlock:
    """A block of constraint rows ``A @ w (+ cash) <sense> b`` belonging to one Limits field.

    Attributes
    ----------
    rule
        The Limits field a user would relax (or a structural name such as ``long_only``).
    subjects
        One label per row: an asset, a bucket, a sector or ``"portfolio"``.
    sense
        ``<=``, ``>=`` or ``==``.
    coefficients
        Sparse ``rows × n`` matrix over the program's assets.
    parameter
        Name of the cvxpy Parameter holding the bound vector.
    bound_derivatives
        ∂b/∂field per row, for every Limits field that moves the bound.
    includes_cash
        True when the cash variable appears with coefficient 1 (the budget row).
    """

    rule: str
    subjects: tuple[str, ...]
    sense: Sense
    coefficients: sp.csr_array
    parameter: str
    bound_derivatives: Mapping[str, np.ndarray] = field(default_factory=dict)
    includes_cash: bool = False

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.subjects)

    def bound_values(self, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
        """The bound of every row, read from parameter values by name."""
        return np.broadcast_to(parameters[self.parameter], (self.rows,)).astype(float)

    def layout(self) -> Hashable:
        """The block's shape in the problem (not its labels or bound values)."""
        matrix = self.coefficients
        return (
            self.rule,
            self.sense,
            self.includes_cash,
            self.parameter,
            matrix.shape,
            matrix.indptr.tobytes(),
            matrix.indices.tobytes(),
            matrix.data.tobytes(),
        )

    @property
    def is_identity(self) -> bool:
        """True when the block is one row per asset with coefficient 1."""
        matrix = self.coefficients
        return (
            matrix.shape[0] == matrix.shape[1]
            and (matrix != sp.eye_array(matrix.shape[0])).nnz == 0
        )


def multipliers(block: RowBlock, constraint: cp.Constraint) -> np.ndarray:
    """Signed multipliers g of a block's rows, with stationarity ``∇f + Σ Aᵀ g = 0``.

    g is also each row's shadow price: the decrease of the optimal objective per unit increase
    of the row's bound. cvxpy reports λ ≥ 0 for ``<=`` and ``>=`` rows alike and y with
    Lagrangian ``f + y (A w − b)`` for ``==`` rows, so only ``>=`` rows change sign.
    """
    dual = np.atleast_1d(np.asarray(constraint.dual_value, dtype=float)).ravel()
    return -dual if block.sense == Sense.GE else dual


class ModelContext:
    """The variables and parameters of one model, handed to each rule while building."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.weights = cp.Variable(size, name="weights")
        self.cash = cp.Variable(name="cash")
        self.parameters: dict[str, cp.Parameter] = {}

    def add_parameter(self, name: str, value: float | np.ndarray, nonneg: bool = False) -> None:
        """Create the named Parameter (once) with its first value."""
        if name in self.parameters:
            raise ValueError(f"parameter {name!r} declared twice")
        shape = np.shape(value)
        self.parameters[name] = cp.Parameter(shape, name=name, nonneg=nonneg, value=value)

    def parameter(self, name: str) -> cp.Parameter:
        """The Parameter declared under ``name``."""
        return self.parameters[name]

    def constrain(self, block: RowBlock) -> cp.Constraint:
        """Build the cvxpy constraint for a block of rows."""
        lhs = self.weights if block.is_identity else block.coefficients @ self.weights
        if block.includes_cash:
            lhs = lhs + self.cash
        rhs = self.parameter(block.parameter)
        if block.sense == Sense.LE:
            return lhs <= rhs
        if block.sense == Sense.GE:
            return lhs >= rhs
        return lhs == rhs


class Rule(ABC):
    """One limit: its parameters (values that may change between solves) and its rows."""

    @abstractmethod
    def parameters(self) -> dict[str, float | np.ndarray]:
        """Parameter name → current value (re-bound on every solve of a cached model)."""

    @abstractmethod
    def blocks(self) -> list[RowBlock]:
        """The constraint rows this rule adds."""

    def structure(self) -> Hashable:
        """What must match for a built model to be reused: class and coefficient pattern."""
        return (type(self).__name__, *(block.layout() for block in self.blocks()))


def identity(size: int) -> sp.csr_array:
    """The ``size × size`` identity as a CSR array."""
    return sp.eye_array(size, format="csr")
