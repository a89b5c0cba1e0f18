"""Trade sizes fixed by a chosen trade pattern: buy at least, sell at least, or do not trade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense
from portcon.constraints.keys import LimitKey

LIMIT = "min_trade_size"


@dataclass(frozen=True, eq=False)
class TradePattern(Rule):
    """Per member, one row from the chosen direction of its trade (``+1``, ``-1`` or ``0``):

    - buy: w_i ≥ w⁰_i + m (priced per unit of min_trade_size);
    - sell: w_i ≤ w⁰_i − m, or w_i ≤ 0 when the whole position is smaller than m (a close);
    - none: w_i = w⁰_i.

    Dual: the rows' prices say what trading less (or, for the held rows, at all) is worth;
    min_trade_size's sensitivity sums the buy and sell rows.
    """

    assets: tuple[str, ...]
    current: np.ndarray
    direction: np.ndarray
    minimum: float

    def _pick(self, sign: int) -> np.ndarray:
        return np.flatnonzero(self.direction == sign)

    def _bounds(self) -> dict[str, np.ndarray]:
        buy, sell, hold = self._pick(1), self._pick(-1), self._pick(0)
        closes = self.current[sell] < self.minimum
        return {
            "min_trade_size.buy": self.current[buy] + self.minimum,
            "min_trade_size.sell": np.where(closes, 0.0, self.current[sell] - self.minimum),
            "min_trade_size.hold": self.current[hold].astype(float),
        }

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {name: bound for name, bound in self._bounds().items() if len(bound)}

    def blocks(self) -> list[RowBlock]:
        buy, sell = self._pick(1), self._pick(-1)
        closes = self.current[sell] < self.minimum
        rows = [
            ("min_trade_size.buy", buy, Sense.GE, np.ones(len(buy))),
            ("min_trade_size.sell", sell, Sense.LE, np.where(closes, 0.0, -1.0)),
            ("min_trade_size.hold", self._pick(0), Sense.EQ, None),
        ]
        size = len(self.direction)
        return [
            RowBlock(
                rule=LIMIT,
                subjects=tuple(self.assets[k] for k in positions),
                sense=sense,
                coefficients=sp.csr_array(
                    (np.ones(len(positions)), (np.arange(len(positions)), positions)),
                    shape=(len(positions), size),
                ),
                parameter=name,
                bound_derivatives={} if moves is None else {LimitKey(LIMIT): moves},
            )
            for name, positions, sense, moves in rows
            if len(positions)
        ]
