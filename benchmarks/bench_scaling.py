"""Scaling curves: time and memory of construct from a factor model, N = 500 … 10,000.

Mean-variance with a 5% cap and 10 bucket caps (15%) from a 10-factor model (the problem of
benchmarks/bench_risk.py), without and with position counts (at most 30 names, each at least
1%; SCIP capped by ``mip_time_limit``). Each size and variant runs in a fresh child process,
so imports are paid once there (warmed on a 50-asset book first) and the peak memory is its own.

Printed per row: the first call of the structure (builds and compiles the cvxpy problem), the
median of two further calls (the structure cached, data re-bound), the peak of Python
allocations during the first call (tracemalloc: numpy arrays, cvxpy's and scipy's matrices),
the child's peak resident memory (ru_maxrss: imports, solver workspaces and SCIP's own memory
included), and for the count variant what the count step did: proven (the perspective bound or
SCIP within ``mip_gap``) or heuristic/stopped, with the gap it proved. The load average of the
shared machine is printed before and after; a dense N × N matrix of floats is shown for scale.

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--sizes 500 1000 2000 5000 10000]
[--mip-time-limit 10] [--memory-limit 6] [--no-counts]``. The default run takes about
3–5 minutes here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SIZES = (500, 1000, 2000, 5000, 10000)
FACTORS = 10
BUCKETS = 10
CAP = 0.05
BUCKET_CAP = 0.15
MAX_NAMES = 30
SMALLEST = 0.01


def problem(n: int, seed: int):
    """A 10-factor model, expected returns and bucket labels for n assets."""
    import portcon

    rng = np.random.default_rng(seed)
    assets = [f"A{i:05d}" for i in range(n)]
    factors = [f"F{j}" for j in range(FACTORS)]
    root = rng.normal(0, 0.2, (FACTORS, FACTORS))
    model = portcon.FactorModel(
        loadings=pd.DataFrame(rng.normal(0, 0.3, (n, FACTORS)), index=assets, columns=factors),
        factor_covariance=pd.DataFrame(
            root @ root.T / FACTORS + 0.01 * np.eye(FACTORS), index=factors, columns=factors
        ),
        specific_variance=pd.Series(rng.uniform(0.01, 0.09, n), index=assets),
    )
    mu = pd.Series(rng.uniform(0.02, 0.15, n), index=assets)
    buckets = pd.Series([f"B{k % BUCKETS}" for k in range(n)], index=assets)
    return model, mu, buckets


def construct(n: int, counts: bool, mip_time_limit: float, seed: int):
    import portcon

    model, mu, buckets = problem(n, seed)
    limits = dict(
        sizing_mode="mean_variance",
        risk_aversion=2.0,
        target_allocation=1.0,
        min_score_threshold=None,
        max_single_position=CAP,
        max_bucket_allocation=BUCKET_CAP,
    )
    if counts:
        limits.update(
            max_total_positions=MAX_NAMES,
            min_position_size=SMALLEST,
            mip_time_limit=mip_time_limit,
        )
    scores = pd.DataFrame({"score": 0.8, "bucket": buckets})
    return lambda: portcon.construct(scores, limits, factor_model=model, expected_returns=mu)


def child(n: int, counts: bool, mip_time_limit: float, memory_limit: float) -> dict[str, Any]:
    """One size and variant, measured in this (fresh) process: a MemoryError past
    ``memory_limit`` GB of address space rather than the machine's out-of-memory killer."""
    limit = int(memory_limit * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")
    construct(50, counts, mip_time_limit, seed=0)()  # imports, cvxpy's and SCIP's first use
    call = construct(n, counts, mip_time_limit, seed=n)
    before = _resident()
    started = time.perf_counter()
    portfolio = call()
    first = time.perf_counter() - started
    growth = _peak_resident() - before
    again = []
    for _ in range(2):
        started = time.perf_counter()
        portfolio = call()
        again.append(time.perf_counter() - started)
    held = int((portfolio.weights > 1e-9).sum())
    return {
        "first": first,
        "warm": statistics.median(again),
        "growth": growth,
        "maxrss": _peak_resident(),
        "held": held,
        "path": str(portfolio.path),
        "status": portfolio.status,
        "mip_gap": portfolio.mip_gap,
        "notes": [note for note in portfolio.notes if "SCIP" in note or "proven" in note][:1],
    }


def _resident() -> int:
    """Bytes resident now (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_resident() -> int:
    """The most bytes resident so far (ru_maxrss, kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_child(n: int, counts: bool, arguments: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(n)]
    command += ["--mip-time-limit", str(arguments.mip_time_limit)]
    command += ["--memory-limit", str(arguments.memory_limit)]
    if counts:
        command.append("--counts")
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        return {"error": (finished.stderr.strip().splitlines() or ["killed"])[-1]}
    return json.loads(finished.stdout.strip().splitlines()[-1])


def outcome(result: dict[str, Any], counts: bool) -> str:
    if not counts:
        return str(result["path"])
    gap = result["mip_gap"]
    proven = gap is not None and float(gap) <= 1e-4 and result["path"] == "mixed_integer"
    said = f"gap {float(gap):.1e}" if gap is not None else "no bound"
    return f"{'proven' if proven else 'not proven'} ({result['path']}, {said})"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--mip-time-limit", type=float, default=10.0)
    parser.add_argument("--no-counts", dest="with_counts", action="store_false")
    parser.add_argument(
        "--memory-limit", type=float, default=6.0, help="GB of address space per child"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--counts", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        result = child(
            arguments.child, arguments.counts, arguments.mip_time_limit, arguments.memory_limit
        )
        print(json.dumps(result))
        return
    print(f"load average before: {load()}")
    header = (
        f"{'N':>6} {'counts':<7}{'first':>10}{'warm':>10}{'1st-call RSS+':>15}{'max RSS':>10}"
        f"{'N×N floats':>12}{'held':>6}  count step"
    )
    print(header)
    print("-" * (len(header) + 30))
    variants = (False, True) if arguments.with_counts else (False,)
    for n in arguments.sizes:
        for counts in variants:
            result = run_child(n, counts, arguments)
            if "error" in result:
                print(f"{n:>6} {'on' if counts else 'off':<7} failed: {result['error']}")
                continue
            print(
                f"{n:>6} {'on' if counts else 'off':<7}"
                f"{1000 * float(result['first']):>8.0f}ms{1000 * float(result['warm']):>8.0f}ms"
                f"{float(result['growth']) / 1e6:>12.0f} MB"
                f"{float(result['maxrss']) / 1e6:>7.0f} MB{8 * n * n / 1e6:>9.0f} MB"
                f"{result['held']:>6}  {outcome(result, counts)}",
                flush=True,
            )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
