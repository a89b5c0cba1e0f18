"""What every rule shares: named linear constraint rows over the weight vector.

Every portcon limit is linear in the weights, ``A w (+ cash) <sense> b``. A rule declares its
rows once (:class:`RowBlock`): the Limits field a user would relax, the subject of each row,
the coefficient matrix ``A``, the name of the ``cp.Parameter`` holding ``b`` and how ``b``
moves with each Limits field. The model builder turns blocks into cvxpy constraints; the
report reads the same blocks back to compute values, slacks, shadow prices and each rule's
share of the KKT stationarity identity — nothing is looked up by position or by string.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, TypeAlias

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from portcon.constraints.keys import LimitKey

if TYPE_CHECKING:
    from portcon.constraints.exposure import GrossExposureBlock
    from portcon.constraints.tail import ScenarioCVaRBlock

AT_CURRENT = 1e-7  # a weight this close to its current one is "not traded" (solver accuracy)
RISK_EXPOSURES = "risk.exposures"
RISK_SPECIFIC = "risk.specific"


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
        ∂b/∂field per row, for every Limits field (or per-name entry) that moves the bound.
    includes_cash
        True when the cash variable appears with coefficient 1 (the budget row).
    """

    rule: str
    subjects: tuple[str, ...]
    sense: Sense
    coefficients: sp.csr_array
    parameter: str
    bound_derivatives: Mapping[LimitKey, np.ndarray] = field(default_factory=dict)
    includes_cash: bool = False
    smooth: ClassVar[bool] = True

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.subjects)

    @property
    def label(self) -> str:
        """The block's name in a built model (unique: each block has its own Parameter)."""
        return self.parameter

    def values(self, weights: np.ndarray) -> np.ndarray:
        """Each row's left-hand side at ``weights`` (without cash)."""
        return self.coefficients @ weights

    def pullback(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """The rows' part of stationarity per asset: Aᵀ g."""
        return self.coefficients.T @ multipliers

    def gradients(self, weights: np.ndarray) -> np.ndarray:
        """∇ of each row's left-hand side: the dense rows of A."""
        return self.coefficients.toarray()

    def curvature(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray | None:
        """Σ_rows g_r ∇²c_r: none for linear rows."""
        return None

    def row_members(self, row: int | np.integer) -> np.ndarray:
        """Positions of the assets row ``row`` involves."""
        matrix = self.coefficients
        return matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """The cvxpy constraint for these rows, bound by the block's Parameter."""
        return self.over(ctx.weights, ctx.cash, ctx.parameter(self.parameter))

    def over(
        self,
        weights: cp.Expression,
        cash: cp.Expression | float,
        bound: cp.Expression | np.ndarray,
    ) -> cp.Constraint:
        """These rows over any weight and cash expressions, with any bound."""
        lhs = weights if self.is_identity else self.coefficients @ weights
        if self.includes_cash:
            lhs = lhs + cash
        return constrain(lhs, self.sense, bound)

    def bound_values(self, parameters: Mapping[str, float | np.ndarray]) -> np.ndarray:
        """The bound of every row, read from parameter values by name."""
        return np.broadcast_to(parameters[self.parameter], (self.rows,)).astype(float)

    def selected_assets(self) -> np.ndarray | None:
        """The one asset of each row when every row is a single coefficient 1, else None."""
        matrix = self.coefficients
        if matrix.nnz != matrix.shape[0] or not np.array_equal(
            matrix.indptr, np.arange(matrix.shape[0] + 1)
        ):
            return None
        if not np.all(matrix.data == 1):
            return None
        return matrix.indices

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
        size = matrix.shape[0]
        return (
            matrix.shape[1] == size
            and matrix.nnz == size
            and bool(np.array_equal(matrix.indices, np.arange(size)))
            and bool(np.array_equal(matrix.indptr, np.arange(size + 1)))
            and bool(np.all(matrix.data == 1))
        )


def slack(sense: Sense, values: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """How far each row is inside its bound: ≥ 0 where it holds (|·| for ``==`` rows' gap)."""
    return values - bound if sense == Sense.GE else bound - values


def constrain(lhs: cp.Expression, sense: Sense, rhs: cp.Expression | np.ndarray) -> cp.Constraint:
    """``lhs <sense> rhs`` as a cvxpy constraint."""
    if sense == Sense.LE:
        return lhs <= rhs
    if sense == Sense.GE:
        return lhs >= rhs
    return lhs == rhs


def factor_risk(
    weights: cp.Expression,
    exposures: cp.Expression | np.ndarray,
    specific: cp.Expression | np.ndarray,
) -> cp.Expression:
    """The stacked factor-form risk vector [Gᵀw; d∘w], with ‖·‖² = wᵀΣw."""
    return cp.hstack([exposures.T @ weights, cp.multiply(specific, weights)])


def multipliers(block: Block, constraint: cp.Constraint) -> np.ndarray:
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

    def risk(self) -> cp.Expression:
        """The stacked factor-form risk vector [Gᵀw; d∘w], with ‖·‖² = wᵀΣw."""
        return factor_risk(
            self.weights, self.parameter(RISK_EXPOSURES), self.parameter(RISK_SPECIFIC)
        )


class Rule(ABC):
    """One limit: its parameters (values that may change between solves) and its rows."""

    @abstractmethod
    def parameters(self) -> dict[str, float | np.ndarray]:
        """Parameter name → current value (re-bound on every solve of a cached model)."""

    @abstractmethod
    def blocks(self) -> Sequence[Block]:
        """The constraint rows this rule adds."""


@functools.lru_cache(maxsize=32)
def identity(size: int) -> sp.csr_array:
    """The ``size × size`` identity as a CSR array (one per size, shared: never written to)."""
    return sp.eye_array(size, format="csr")


@dataclass(frozen=True, eq=False, kw_only=True)
class PortfolioRow:
    """What the one-row, nonlinear blocks share: the portfolio as subject, ``<=``, one
    Parameter for the bound, every asset a member of the row."""

    rule: str
    parameter: str
    bound_derivatives: Mapping[LimitKey, np.ndarray] = field(default_factory=dict)
    subjects: tuple[str, ...] = ("portfolio",)
    sense: Sense = Sense.LE
    includes_cash: bool = False

    @property
    def rows(self) -> int:
        """Number of rows (one)."""
        return 1

    @property
    def label(self) -> str:
        """The block's name in a built model."""
        return self.parameter

    def bound_values(self, parameters: Mapping[str, float | np.ndarray]) -> np.ndarray:
        """The bound, read from parameter values by name."""
        return np.atleast_1d(np.asarray(parameters[self.parameter], dtype=float))

    def row_members(self, row: int | np.integer) -> np.ndarray:
        """Every asset."""
        return np.arange(self.size)

    @property
    def size(self) -> int:
        """Number of assets the row is over."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False, kw_only=True)
class VolatilityBlock(PortfolioRow):
    """One nonlinear row: √(wᵀΣw) ≤ bound, Σ = G Gᵀ + diag(d²) in factor form.

    Shares the interface of :class:`RowBlock` that the builder and report use; its part of
    stationarity is g · Σw / σ(w).
    """

    exposures: np.ndarray
    specific: np.ndarray
    smooth: ClassVar[bool] = True

    def _covariance_times(self, weights: np.ndarray) -> np.ndarray:
        return self.exposures @ (self.exposures.T @ weights) + self.specific**2 * weights

    def values(self, weights: np.ndarray) -> np.ndarray:
        """Portfolio volatility at ``weights``."""
        return np.array([np.sqrt(max(float(weights @ self._covariance_times(weights)), 0.0))])

    def pullback(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """g · ∇σ(w) = g · Σw / σ(w)."""
        sigma = float(self.values(weights)[0])
        if sigma <= 0:
            return np.zeros_like(weights)
        return float(multipliers[0]) * self._covariance_times(weights) / sigma

    def gradients(self, weights: np.ndarray) -> np.ndarray:
        """∇σ(w) = Σw / σ(w), as one row."""
        sigma = float(self.values(weights)[0])
        if sigma <= 0:
            return np.zeros((1, len(weights)))
        return (self._covariance_times(weights) / sigma)[None, :]

    def curvature(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray | None:
        """g ∇²σ(w) = g (Σ − Σw wᵀΣ / σ²) / σ."""
        sigma = float(self.values(weights)[0])
        if sigma <= 0:
            return None
        covariance = self.exposures @ self.exposures.T + np.diag(self.specific**2)
        direction = self._covariance_times(weights)
        hessian = (covariance - np.outer(direction, direction) / sigma**2) / sigma
        return float(multipliers[0]) * hessian

    @property
    def size(self) -> int:
        """Number of assets."""
        return len(self.specific)

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """‖[Gᵀw; d∘w]‖₂ ≤ bound."""
        return cp.norm(ctx.risk(), 2) <= ctx.parameter(self.parameter)

    def over(
        self,
        weights: cp.Expression,
        cash: cp.Expression | float,
        bound: cp.Expression | np.ndarray,
    ) -> cp.Constraint:
        """The volatility row over any weight expression, with any bound."""
        return cp.norm(factor_risk(weights, self.exposures, self.specific), 2) <= bound

    def layout(self) -> Hashable:
        """Shape in the problem."""
        return (self.rule, "volatility", self.parameter, self.exposures.shape)


@dataclass(frozen=True, eq=False, kw_only=True)
class TurnoverBlock(PortfolioRow):
    """One nonsmooth row: one-way turnover ½ Σ |w_i − w⁰_i| ≤ bound, w⁰ the current weights.

    Its part of stationarity is g/2 · sign(w_i − w⁰_i) for a traded asset; for an asset left
    at its current weight it is any value in [−g/2, g/2] (:meth:`kink`), the band the row
    adds around the current book.
    """

    current: np.ndarray
    current_parameter: str
    smooth: ClassVar[bool] = False

    def traded(self, weights: np.ndarray) -> np.ndarray:
        """True for each asset whose weight differs from its current one."""
        return np.abs(weights - self.current) > AT_CURRENT

    def values(self, weights: np.ndarray) -> np.ndarray:
        """One-way turnover at ``weights``."""
        return np.array([0.5 * float(np.abs(weights - self.current).sum())])

    def gradients(self, weights: np.ndarray) -> np.ndarray:
        """½ sign(w − w⁰), 0 where the weight is at its current one, as one row."""
        change = weights - self.current
        return (0.5 * np.sign(change) * self.traded(weights))[None, :]

    def pullback(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """g/2 · sign(w − w⁰) for traded assets, 0 for the others (see :meth:`kink`)."""
        return float(multipliers[0]) * self.gradients(weights)[0]

    def kink(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
        """Per asset, the half-width of this row's possible part of stationarity: |g|/2 where
        the weight is at its current one, 0 where it is traded."""
        return 0.5 * abs(float(multipliers[0])) * ~self.traded(weights)

    def curvature(self, weights: np.ndarray, multipliers: np.ndarray) -> np.ndarray | None:
        """None: piecewise linear."""
        return None

    @property
    def size(self) -> int:
        """Number of assets."""
        return len(self.current)

    def build(self, ctx: ModelContext) -> cp.Constraint:
        """½ ‖w − w⁰‖₁ ≤ bound, w⁰ a Parameter."""
        change = ctx.weights - ctx.parameter(self.current_parameter)
        return 0.5 * cp.norm1(change) <= ctx.parameter(self.parameter)

    def over(
        self,
        weights: cp.Expression,
        cash: cp.Expression | float,
        bound: cp.Expression | np.ndarray,
    ) -> cp.Constraint:
        """The turnover row over any weight expression, with any bound."""
        return 0.5 * cp.norm1(weights - self.current) <= bound

    def layout(self) -> Hashable:
        """Shape in the problem."""
        return (self.rule, "turnover", self.parameter, self.current.shape)


Block: TypeAlias = (
    "RowBlock | VolatilityBlock | TurnoverBlock | GrossExposureBlock | ScenarioCVaRBlock"
)
