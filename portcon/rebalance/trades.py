"""The trades from the book held now to the target, each with its action, reason and cost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portcon.constraints.base import AT_CURRENT

HOLD = AT_CURRENT  # a change smaller than this is no trade
ACTION_ORDER = {"close": 0, "reverse": 0, "decrease": 1, "hold": 4, "increase": 2, "open": 3}
"""Trading priority: selling first frees the cash that buying needs."""


def trade_table(
    target: pd.Series, current: pd.Series, reasons: pd.Series, cost_bps: pd.Series | None
) -> pd.DataFrame:
    """One row per asset held now or in the target.

    Columns: ``current``, ``target``, ``change``, ``action`` (``open``, ``close``,
    ``increase``, ``decrease`` (in size, long or short), ``reverse`` (long to short or back),
    ``hold``), ``priority`` (1 trades first: closes, decreases,
    increases, opens; larger trades first within each), ``reason`` (the asset's explanation:
    the rule that set its target), ``cost`` (|change| × cost in basis points, 0 without costs).
    """
    involved = (current != 0) | (target != 0)  # a short is involved as a long is
    frame = pd.DataFrame(
        {"current": current[involved], "target": target[involved]}, index=target.index[involved]
    )
    change = frame["target"] - frame["current"]
    change = change.where(change.abs() > HOLD, 0.0)
    frame["change"] = change
    frame["action"] = [
        _action(float(before), float(after), float(delta))
        for before, after, delta in zip(frame["current"], frame["target"], change, strict=True)
    ]
    order = frame["action"].map(ACTION_ORDER).to_numpy()
    ranked = np.lexsort((-change.abs().to_numpy(), order))
    priority = np.empty(len(frame), dtype=int)
    priority[ranked] = np.arange(1, len(frame) + 1)
    frame["priority"] = priority
    frame["reason"] = reasons.reindex(frame.index).fillna("").astype(str)
    bps = 0.0 if cost_bps is None else cost_bps.reindex(frame.index).fillna(0.0)
    frame["cost"] = change.abs() * bps / 1e4
    frame.index.name = target.index.name or "asset"
    return frame


def _action(current: float, target: float, change: float) -> str:
    if change == 0:
        return "hold"
    if current == 0:
        return "open"
    if target == 0:
        return "close"
    if (current > 0) != (target > 0):
        return "reverse"
    return "increase" if abs(target) > abs(current) else "decrease"


def one_way_turnover(trades: pd.DataFrame) -> float:
    """Σ |change| / 2: the fraction of the portfolio bought (= sold, with cash counted)."""
    return float(trades["change"].abs().sum() / 2.0)
