"""What thread safety costs one thread, and what several threads gain.

Built models are lent from a pool, one solve at a time (portcon/optimizer/model.py). Printed,
per N: the median warm ``construct`` on one thread; the median cost of lending a model
(lock, pop, re-bind the Parameters, return) measured alone, and its share of the construct;
and the wall time of 40 constructs of one structure on 1, 2 and 4 threads (this machine has
2 cores; the solver releases the GIL only in parts, so expect less than linear gains).

Run: ``.venv/bin/python benchmarks/bench_threads.py``.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

import portcon
from portcon.optimizer.model import ModelPool, clear_cache
from portcon.optimizer.program import compile_program
from portcon.universe import Universe

CALLS = 40


def problem(n: int, k: int) -> tuple[pd.DataFrame, portcon.Limits]:
    """Problem k of one structure: the same assets and buckets, other scores and caps."""
    rng = np.random.default_rng(k)
    frame = pd.DataFrame(
        {"score": rng.uniform(0.61, 1.0, n), "bucket": [f"B{i % 8}" for i in range(n)]},
        index=[f"A{i:05d}" for i in range(n)],
    )
    limits = portcon.Limits(
        sizing_mode="score_weighted",
        max_single_position=2.5 / n + 0.0001 * (k % 5),
        max_bucket_allocation=0.2,
    )
    return frame, limits


def lending_cost(n: int, repeats: int = 200) -> float:
    """Median seconds to check a pooled model out and back in (bind included)."""
    frame, limits = problem(n, 0)
    program = compile_program(Universe.from_scores(frame), limits)
    pool = ModelPool()
    with pool.checkout(program):
        pass  # built once
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with pool.checkout(program):
            pass
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def threaded_wall(n: int, threads: int) -> float:
    problems = [problem(n, k) for k in range(CALLS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda p: portcon.construct(*p), problems))
    return time.perf_counter() - started


def main() -> None:
    print(
        f"{'N':>6} {'warm ms':>8} {'lend ms':>8} {'lend %':>7} "
        f"{'1 thr s':>8} {'2 thr s':>8} {'4 thr s':>8}"
    )
    for n in (50, 500, 2000):
        clear_cache()
        frame, limits = problem(n, 0)
        portcon.construct(frame, limits)
        warm = []
        for k in range(1, 11):
            started = time.perf_counter()
            portcon.construct(*problem(n, k))
            warm.append(time.perf_counter() - started)
        construct_time = statistics.median(warm)
        lend = lending_cost(n)
        walls = [threaded_wall(n, threads) for threads in (1, 2, 4)]
        print(
            f"{n:>6} {1e3 * construct_time:>8.1f} {1e3 * lend:>8.3f} "
            f"{100 * lend / construct_time:>6.2f}% " + " ".join(f"{wall:>8.2f}" for wall in walls)
        )


if __name__ == "__main__":
    main()
