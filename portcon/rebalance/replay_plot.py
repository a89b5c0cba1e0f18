"""The replay's figure: weights as a stacked area over time, and turnover (the ``plots`` extra).

Built on :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot state, no display);
matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from portcon.rebalance.replay_result import ReplayResult

SHOWN = 15  # largest positions drawn one by one; the rest are one "other" band


def figure(result: ReplayResult) -> Figure:
    """Weights (stacked area, the largest :data:`SHOWN` assets by mean weight, the rest as
    "other", cash on top) and one-way turnover per rebalance with round trips marked."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    weights = result.weights
    index = pd.DatetimeIndex(weights.index)
    dates = index.to_pydatetime()
    order = weights.mean().sort_values(ascending=False).index
    top = [a for a in order[:SHOWN] if weights[a].max() > 0]
    bands = [100 * weights[a].to_numpy() for a in top]
    labels = [str(a) for a in top]
    rest = weights.drop(columns=top).sum(axis=1).to_numpy()
    if rest.max(initial=0.0) > 0:
        bands.append(100 * rest)
        labels.append("other")
    bands.append(100 * result.cash.to_numpy())
    labels.append("cash")
    drawn = Figure(figsize=(11, 7), layout="constrained")
    upper, lower = drawn.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    colours: list[object] = list(_palette(len(top)))
    colours += ["#9e9e9e"] * (len(bands) - 1 - len(top)) + ["#eeeeee"]  # other, cash
    upper.stackplot(dates, np.vstack(bands), labels=labels, colors=colours, linewidth=0)
    upper.set_ylabel("weight, %")
    upper.set_ylim(0, 100)
    upper.set_title("target weights after each rebalance", fontsize=10, loc="left")
    upper.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    lower.bar(dates, 100 * result.turnover.to_numpy(), width=_bar_days(index), color="#d9822b")
    lower.set_ylabel("one-way turnover, %")
    trips = int(result.counters["round_trips"].sum())
    lower.set_title(
        f"turnover (total {100 * result.turnover.sum():.0f}%); {trips} round trips",
        fontsize=10,
        loc="left",
    )
    return drawn


def _bar_days(dates: pd.DatetimeIndex) -> float:
    """Bar width: 80% of the typical spacing between rebalances, in days."""
    if len(dates) < 2:
        return 1.0
    return 0.8 * float(np.median(np.diff(dates.values) / np.timedelta64(1, "D")))


def _palette(count: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(k % 20) for k in range(count)]


def png_bytes(result: ReplayResult) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure(result).savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def write_png(result: ReplayResult, path: Path) -> Path:
    """Write the figure to ``path`` (a PNG) and return the path."""
    path.write_bytes(png_bytes(result))
    return path
