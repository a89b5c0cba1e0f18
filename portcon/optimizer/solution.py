"""`Solution`: what a solve returned, aligned with the program's rule blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from portcon.constraints.base import Block


class SolutionPath(StrEnum):
    """How a construction's answer was found.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> portcon.construct(pd.Series({"A": 0.9, "B": 0.8})).path
    <SolutionPath.CONVEX: 'convex'>
    >>> [path.value for path in portcon.SolutionPath]
    [...'convex', 'mixed_integer'...]
    """

    CONVEX = "convex"
    """One convex program: no count rule was in force or broken."""
    MIXED_INTEGER = "mixed_integer"
    """SCIP chose the held assets for the count rules; the support was then solved convexly."""
    HEURISTIC = "heuristic"
    """The labelled greedy and swap search chose the held assets (no optimality proof)."""


@dataclass(frozen=True, eq=False)
class Solution:
    """What the solver returned, aligned with the program's rule blocks.

    Attributes
    ----------
    weights
        Weights of the program's members, round-off tidied (see :func:`tidy`).
    cash
        The program's cash variable: the part of target_allocation left uninvested.
    objective
        The minimised objective at ``weights``.
    blocks
        The program's rule blocks, in order.
    multipliers
        Signed multipliers per block (shadow prices of its rows).
    bounds
        Parameter name → value used in this solve.
    auxiliary_duals
        Duals of the objective's auxiliary constraints, in order.
    status, solver
        Final solver status and the solver that produced it.
    tried
        Every solver tried, in order.
    timings
        Seconds: ``solve`` (every attempt of the chain up to the accepted one, compilation
        included) and ``solver`` (the accepted solver's own time).
    """

    weights: np.ndarray
    cash: float
    objective: float
    blocks: list[Block]
    multipliers: list[np.ndarray]
    bounds: dict[str, np.ndarray]
    auxiliary_duals: list[np.ndarray]
    status: str
    solver: str
    tried: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)
