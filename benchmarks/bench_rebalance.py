"""Replay of 52 weekly rebalances on N = 500 with costs and counts (issue 10, item 8).

For each configuration (one threshold; entry/keep band; band and grace) it runs
``portcon.replay`` and then, in the same run, a fresh ``portcon.construct`` on each step's
inputs (the date's scores with the state the replay carried), and prints the time per step of
both (the difference is what replaying adds: state carrying, drift, counters, tables),
whether every step's weights agree (max |Δw|), turnover, costs, opens and round trips.

    .venv/bin/python benchmarks/bench_rebalance.py [--size 500] [--steps 52]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import portcon

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
from make_history import make_history

LIMITS = {
    "max_single_position": 0.02,
    "max_total_positions": 80,
    "max_new_positions": 15,
    "max_positions_per_bucket": 25,
    "transaction_cost_bps": 10.0,
}
RUNS = {
    "one threshold": {},
    "band": {"min_score_new_position": 0.65},
    "band + grace": {
        "min_score_new_position": 0.65,
        "grace_period_days": 21,
        "grace_decay_rate": 0.8,
    },
}


def fresh_steps(history: pd.DataFrame, result: portcon.ReplayResult, limits: dict) -> tuple:
    """Seconds per fresh construct on each step's inputs, and the largest weight difference."""
    seconds, worst = [], 0.0
    for date in result.weights.index:
        rows = history[pd.to_datetime(history["date"]) == date]
        scores = rows.drop(columns="date").set_index("asset")
        state = result.states[result.states["date"] == date].set_index("asset")
        state = state.drop(columns="date")
        started = time.perf_counter()
        weights = portcon.construct(scores.join(state), limits).weights
        seconds.append(time.perf_counter() - started)
        gap = np.abs(result.weights.loc[date, weights.index].to_numpy() - weights.to_numpy())
        worst = max(worst, float(gap.max()))
    return float(np.mean(seconds)), worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--steps", type=int, default=52)
    arguments = parser.parse_args()
    history, returns = make_history(weeks=arguments.steps, size=arguments.size)
    print(f"N = {arguments.size}, {arguments.steps} weekly steps, limits {LIMITS}")
    header = f"{'run':<15}{'replay s/step':>14}{'fresh s/step':>13}{'max|Δw|':>9}"
    print(header + f"{'turnover':>10}{'costs bp':>9}{'opens':>7}{'trips':>7}{'MIP steps':>10}")
    for name, extra in RUNS.items():
        limits = {**LIMITS, **extra}
        started = time.perf_counter()
        result = portcon.replay(history, limits, returns=returns)
        per_step = (time.perf_counter() - started) / arguments.steps
        fresh, worst = fresh_steps(history, result, limits)
        totals = result.totals()
        mip = int((result.paths != "convex").sum())
        print(
            f"{name:<15}{per_step:>14.3f}{fresh:>13.3f}{worst:>9.1e}{totals['turnover']:>10.2f}"
            f"{1e4 * totals['costs']:>9.1f}{totals['opens']:>7.0f}"
            f"{len(result.round_trips):>7}{mip:>10}"
        )


if __name__ == "__main__":
    main()
