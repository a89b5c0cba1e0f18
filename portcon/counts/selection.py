"""`Selection`: which assets a count-limited construction holds, and how that was decided."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        Relative gap to the best bound (SCIP's, or the convex relaxation's for the heuristic).
    bound
        Lower bound on the objective of any portfolio meeting the count rules.
    status
        Solver status.
    overridden
        Members that break their bucket's limits by bucket override (None: no overrides).
    """

    held: np.ndarray
    path: str
    gap: float
    bound: float
    status: str
    overridden: np.ndarray | None = None
