"""The turnover cap: one-way turnover from the current book at most ``max_turnover``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.constraints.base import Block, Rule, TurnoverBlock
from portcon.constraints.keys import LimitKey
from portcon.errors import InfeasibleError

CURRENT_PARAMETER = "turnover.current"


@dataclass(frozen=True, eq=False)
class TurnoverCap(Rule):
    """½ Σ_members |w_i − w⁰_i| ≤ max_turnover − ½ Σ_closed w⁰_j.

    One-way turnover is half the summed absolute weight changes (what is bought, which equals
    what is sold when cash is counted as an asset). Assets that are not variables of the
    program (excluded by a rule) are closed whatever happens: their turnover is spent first,
    so ``bound`` is what remains of the cap for the members.

    Dual: the objective decrease per unit of extra turnover allowed.
    """

    current: np.ndarray
    bound: float
    limit = "max_turnover"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: float(self.bound), CURRENT_PARAMETER: self.current}

    def blocks(self) -> list[Block]:
        return [
            TurnoverBlock(
                rule=self.limit,
                parameter=self.limit,
                current=self.current,
                current_parameter=CURRENT_PARAMETER,
                bound_derivatives={LimitKey(self.limit): np.ones(1)},
            )
        ]


def turnover_cap(
    cap: float | None, current: np.ndarray | None, members: np.ndarray, assets: pd.Index
) -> TurnoverCap | None:
    """The cap over the members, net of closing every other held asset; None when off.

    Raises
    ------
    InfeasibleError
        When closing the held assets that are not members already trades more than the cap.
    """
    if cap is None:
        return None
    if current is None:
        return TurnoverCap(current=np.zeros(len(members)), bound=cap)
    closed = np.ones(len(current), dtype=bool)
    closed[members] = False
    closing = 0.5 * float(np.abs(current[closed]).sum())
    if closing > cap:
        names = listing(str(asset) for asset in assets[closed & (current != 0)])
        needed = float(np.nextafter(closing, np.inf))
        raise InfeasibleError(
            f"max_turnover = {cap:g} cannot be met: closing {names} (excluded by a rule: "
            f"see their reasons) alone trades {closing:.6g} one-way; raise max_turnover to at "
            f"least {closing:.6g}, or keep them (lower min_score_threshold, or set "
            "grace_period_days)",
            conflicts=["max_turnover"],
            repairs=[{"max_turnover": min(needed, 1.0)}],
        )
    return TurnoverCap(current=current[members].astype(float), bound=cap - closing)
