"""`Selection`: which assets a count-limited construction holds, and how that was decided."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portcon.optimizer.solution import SolutionPath


@dataclass(frozen=True)
class Selection:
    """Which members are held, and how that was decided.

    Attributes
    ----------
    held
        Boolean per member.
    path
        ``"mixed_integer"`` (SCIP) or ``"heuristic"``.
    gap
        (objective − bound) / max(|objective|, 1e-12), with ``objective`` the convex
        objective of the held support; never negative.
    bound
        A proven lower bound on the objective of every portfolio meeting the count rules
        (SCIP's dual bound or the convex relaxation's objective, whichever is higher).
    status
        Solver status.
    overridden
        Members that break their bucket's limits by bucket override (None: no overrides).
    notes
        Sentences for the reader: a solver that failed or stopped early and what replaced it,
        what is guaranteed (max_sharpe), time limits reached.
    objective
        The convex objective of the held support (None when not computed).
    """

    held: np.ndarray
    path: SolutionPath
    gap: float
    bound: float
    status: str
    overridden: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    objective: float | None = None
