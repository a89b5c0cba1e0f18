"""Time construct() at N = 50, 500, 5000: score-weighted sizing with bucket and sector caps.

Prints, per N, the wall time of a cold call (new structure: the cvxpy problem is built and
canonicalised), of warm calls (new scores, so the eligible set and hence the structure
usually change; "+explain" adds building the explanations, which happens on first access),
of what-if calls (same assets, limits moved: cached DPP model, Parameters
re-bound only), the solver's own time, and the ratio warm wall / solver. Baselines measured
in the same run: the solver's own time, and a plain cvxpy formulation of the same program
built on every call (what a user would write by hand).

Targets (issue 2): N = 500 under 50 ms; wall / solver under 3 at N = 5000.

Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_construct.py [--repeats R]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cvxpy as cp
import numpy as np
import pandas as pd

import portcon
from portcon.optimizer.model import clear_cache

SIZES = (50, 500, 5000)


def universe(n: int, seed: int) -> pd.DataFrame:
    """Random scores in [0.5, 1) over 10 buckets and 11 sectors."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.uniform(0.5, 1.0, n),
            "bucket": [f"B{k}" for k in rng.integers(0, 10, n)],
            "sector": [f"S{k}" for k in rng.integers(0, 11, n)],
        },
        index=[f"A{i:05d}" for i in range(n)],
    )


def limits(n: int) -> portcon.Limits:
    """Caps that bind at every size."""
    return portcon.Limits(
        sizing_mode="score_weighted",
        max_single_position=max(2.5 / n, 0.001),
        max_bucket_allocation=0.12,
        max_sector_allocation=0.11,
    )


def plain_cvxpy(frame: pd.DataFrame, lim: portcon.Limits) -> float:
    """The same program written directly in cvxpy, built on every call; returns wall seconds."""
    started = time.perf_counter()
    eligible = frame[frame["score"] >= lim.min_score_threshold]
    shares = eligible["score"].to_numpy() / eligible["score"].sum()
    w, cash = cp.Variable(len(eligible)), cp.Variable(nonneg=True)
    constraints = [cp.sum(w) + cash == lim.target_allocation, w >= 0, w <= lim.max_single_position]
    for column, cap in (
        ("bucket", lim.max_bucket_allocation),
        ("sector", lim.max_sector_allocation),
    ):
        for group in eligible[column].unique():
            members = np.flatnonzero(eligible[column].to_numpy() == group)
            constraints.append(cp.sum(w[members]) <= cap)
    penalty = 1 + 1 / shares.min()
    objective = 0.5 * cp.sum_squares(cp.multiply(1 / np.sqrt(shares), w)) + penalty * cash
    cp.Problem(cp.Minimize(objective), constraints).solve(solver="CLARABEL")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    header = (
        f"{'N':>6} {'cold ms':>9} {'warm ms':>9} {'what-if ms':>11} {'solver ms':>10} "
        f"{'warm/solver':>12} {'+explain ms':>11} "
        f"{'plain cvxpy ms':>15} {'plain/warm':>11}"
    )
    print(header)
    print("-" * len(header))
    for n in SIZES:
        clear_cache()
        lim = limits(n)
        started = time.perf_counter()
        portcon.construct(universe(n, 0), lim)
        cold = time.perf_counter() - started
        walls, solvers, explained = [], [], []
        for seed in range(1, repeats + 1):
            frame = universe(n, 0).assign(score=universe(n, seed)["score"].to_numpy())
            started = time.perf_counter()
            portfolio = portcon.construct(frame, lim)
            walls.append(time.perf_counter() - started)
            solvers.append(portfolio.solve_time)
            _ = portfolio.explanations  # reasons and KKT parts are built on first access
            explained.append(time.perf_counter() - started)
        whatifs = []
        for step in range(repeats + 1):
            moved = lim.replace(max_bucket_allocation=0.12 + 0.002 * step)
            started = time.perf_counter()
            portcon.construct(frame, moved)
            whatifs.append(time.perf_counter() - started)
        whatif = statistics.median(whatifs[1:])  # the first compiles the DPP form
        plain = statistics.median(plain_cvxpy(universe(n, s), lim) for s in range(1, 3))
        warm, solver = statistics.median(walls), statistics.median(solvers)
        print(
            f"{n:>6} {1000 * cold:>9.1f} {1000 * warm:>9.1f} {1000 * whatif:>11.1f} "
            f"{1000 * solver:>10.2f} {warm / solver:>12.1f} "
            f"{1000 * statistics.median(explained):>11.1f} "
            f"{1000 * plain:>15.1f} {plain / warm:>11.2f}"
        )
    print(f"\nsolver: {portfolio.solver}; warm = median of {repeats} calls with new scores")


if __name__ == "__main__":
    main()
