"""Generate examples/history.csv and examples/history_returns.csv (seeded, reproducible).

One year of weekly rebalances (52 Fridays of 2025) for 40 assets in 4 buckets. Each asset's
score is a slow AR(1) signal around its own level plus weekly noise, and the levels are
spread around 0.6 (portcon's default ``min_score_threshold``), so a third of the names
hover near the threshold and cross it often: what an entry/keep band and grace are for.
``trending_confidence`` and ``cost_bps`` vary by asset; weekly returns (a one-factor model,
about 20% annual volatility) drift the weights between rebalances.

    .venv/bin/python examples/make_history.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20250110
WEEKS = 52
ASSETS = 40
BUCKETS = ("Equity", "Credit", "Rates", "Real Assets")
THRESHOLD = 0.6
HERE = Path(__file__).parent


def make_history(
    seed: int = SEED, weeks: int = WEEKS, size: int = ASSETS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long score history and the weekly returns (dates × assets)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-03", periods=weeks, freq="7D")
    assets = [f"A{k:02d}" if size <= 100 else f"A{k:03d}" for k in range(size)]
    buckets = [BUCKETS[k % len(BUCKETS)] for k in range(size)]
    level = THRESHOLD + rng.normal(0.0, 0.06, size)
    persistence, shock, noise = 0.85, 0.02, 0.02
    signal = np.zeros(size)
    confidence_level = rng.uniform(0.55, 0.95, size)
    cost = rng.choice([5.0, 10.0, 15.0, 25.0], size)
    rows = []
    for date in dates:
        signal = persistence * signal + rng.normal(0.0, shock, size)
        score = np.clip(level + signal + rng.normal(0.0, noise, size), 0.0, 1.0)
        confidence = np.clip(confidence_level + rng.normal(0.0, 0.05, size), 0.0, 1.0)
        for k, asset in enumerate(assets):
            day = date.date().isoformat()
            trend = round(float(confidence[k]), 3)
            rows.append((day, asset, round(float(score[k]), 4), buckets[k], trend, cost[k]))
    columns = ["date", "asset", "score", "bucket", "trending_confidence", "cost_bps"]
    history = pd.DataFrame(rows, columns=columns)
    market = rng.normal(0.0015, 0.02, weeks)
    beta = rng.uniform(0.5, 1.5, size)
    idio = rng.normal(0.0, 0.02, (weeks, size))
    returns = pd.DataFrame(
        np.round(market[:, None] * beta + idio, 6), index=dates.date, columns=assets
    )
    returns.index.name = "date"
    return history, returns


def main() -> None:
    history, returns = make_history()
    history.to_csv(HERE / "history.csv", index=False)
    returns.to_csv(HERE / "history_returns.csv")
    print(f"wrote {HERE / 'history.csv'} ({len(history)} rows) and history_returns.csv")


if __name__ == "__main__":
    main()
