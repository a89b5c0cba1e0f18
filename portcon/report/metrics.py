"""Portfolio metrics: concentration, cash, and group exposure against caps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from portcon.limits import Limits
from portcon.universe import Universe


@dataclass(frozen=True, eq=False)
class Metrics:
    """Summary numbers of a portfolio.

    Attributes
    ----------
    positions
        Number of assets held.
    largest_position
        Largest weight.
    hhi
        Herfindahl–Hirschman index of the invested weights, Σ (w_i / Σw)².
    effective_positions
        1 / hhi: the number of equal positions with the same concentration.
    invested, cash
        Σ w and 1 − Σ w.
    bucket_exposure, sector_exposure
        Per group: ``exposure``, ``cap`` (NaN when uncapped), ``headroom``; None without the
        column.
    """

    positions: int
    largest_position: float
    hhi: float
    effective_positions: float
    invested: float
    cash: float
    bucket_exposure: pd.DataFrame | None
    sector_exposure: pd.DataFrame | None

    def copy(self) -> Metrics:
        """A copy whose exposure tables are copies too."""

        def copied(table: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if table is None else table.copy()

        return replace(
            self,
            bucket_exposure=copied(self.bucket_exposure),
            sector_exposure=copied(self.sector_exposure),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""

        def frame(table: pd.DataFrame | None) -> dict[str, dict[str, float | None]] | None:
            if table is None:
                return None
            return {
                str(group): {str(k): (None if pd.isna(v) else float(v)) for k, v in row.items()}
                for group, row in table.iterrows()
            }

        return {
            "positions": self.positions,
            "largest_position": self.largest_position,
            "hhi": self.hhi,
            "effective_positions": self.effective_positions,
            "invested": self.invested,
            "cash": self.cash,
            "bucket_exposure": frame(self.bucket_exposure),
            "sector_exposure": frame(self.sector_exposure),
        }


def compute_metrics(weights: np.ndarray, universe: Universe, limits: Limits) -> Metrics:
    """Metrics of ``weights`` (aligned with the universe)."""
    invested = float(weights.sum())
    held = weights > 0
    hhi = float(np.sum((weights / invested) ** 2)) if invested > 0 else 0.0
    return Metrics(
        positions=int(held.sum()),
        largest_position=float(weights.max(initial=0.0)),
        hhi=hhi,
        effective_positions=1.0 / hhi if hhi > 0 else 0.0,
        invested=invested,
        cash=1.0 - invested,
        bucket_exposure=_exposure(
            weights, universe.bucket, limits.max_bucket_allocation, limits.bucket_caps
        ),
        sector_exposure=_exposure(
            weights, universe.sector, limits.max_sector_allocation, limits.sector_caps
        ),
    )


def _exposure(
    weights: np.ndarray, labels: np.ndarray | None, global_cap: float | None, overrides: Any
) -> pd.DataFrame | None:
    if labels is None:
        return None
    exposure = pd.Series(weights, index=labels).groupby(level=0, sort=False).sum()
    caps = pd.Series(
        [overrides.get(g, global_cap) for g in exposure.index], index=exposure.index, dtype=float
    )
    frame = pd.DataFrame({"exposure": exposure, "cap": caps})
    frame["headroom"] = frame["cap"] - frame["exposure"]
    frame.index.name = "group"
    return frame
