"""Everyday books under position counts: the shipped example with each preset (issue 15).

For each preset in ``portcon.PRESETS``: ``--repeats`` constructs of ``examples/scores.csv``
(42 assets) and of ``--perturbed`` score vectors (the example's scores plus seeded noise),
counts on; median / p90 / p99 per preset and the paths taken. The baseline, measured in the
same run: the same books with every count field off (the convex path), whose median is
printed with the ratio. The machine's load average is printed with the numbers.

Target (issue 15): median < 50 ms, p99 < 150 ms per construct with counts on.

Run: ``.venv/bin/python benchmarks/bench_presets.py [--repeats 20] [--perturbed 3] [--no-proof]
[--preset crisis]``
(``--no-proof``: SCIP for every count step, the path before the perspective proof).
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

import portcon
from portcon.counts import perspective
from portcon.counts.rules import COUNT_FIELDS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scores.csv"


def books(perturbed: int, seed: int = 0) -> list[pd.DataFrame]:
    """The example book and ``perturbed`` copies with seeded noise on the scores."""
    base = pd.read_csv(EXAMPLE, index_col="asset")
    base["days_held"] = np.where(base["current_weight"] > 0, 30, 0)  # momentum's holding rule
    rng = np.random.default_rng(seed)
    out = [base]
    for _ in range(perturbed):
        book = base.copy()
        book["score"] = np.clip(book["score"] + rng.normal(0.0, 0.05, len(book)), 0.0, 1.0)
        out.append(book)
    return out


def counts_off(name: str) -> portcon.Limits:
    """The preset with every count field switched off (the convex path)."""
    off = {field: None for field in COUNT_FIELDS if field != "bucket_position_limits"}
    return portcon.Limits.preset(name, **off)


def timed(book: pd.DataFrame, limits: portcon.Limits) -> tuple[float, str]:
    started = time.perf_counter()
    portfolio = portcon.construct(book, limits)
    return time.perf_counter() - started, str(portfolio.path)


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    ms = 1000.0 * np.asarray(seconds)
    return (
        float(np.median(ms)),
        float(np.percentile(ms, 90)),
        float(np.percentile(ms, 99)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20, help="constructs per book")
    parser.add_argument("--perturbed", type=int, default=3, help="seeded perturbed books")
    parser.add_argument(
        "--no-proof",
        action="store_true",
        help="switch off the perspective relaxation's proof (every count step runs SCIP)",
    )
    parser.add_argument("--preset", action="append", help="only these presets (repeatable)")
    args = parser.parse_args()
    names = args.preset or list(portcon.PRESETS)
    if args.no_proof:
        perspective.ENABLED = False
    scored = books(args.perturbed)
    # warm-up: imports, the SCIP worker's start, first compilations
    for name in names:
        timed(scored[0], portcon.Limits.preset(name))
        timed(scored[0], counts_off(name))
    print(f"load average before: {os.getloadavg()}")
    print(f"{len(scored)} books × {args.repeats} constructs per preset (ms)")
    header = "preset        median    p90     p99    convex median  ratio  paths"
    print(header)
    for name in names:
        limits, plain = portcon.Limits.preset(name), counts_off(name)
        counted, convex, paths = [], [], collections.Counter()
        for _ in range(args.repeats):
            for book in scored:  # interleaved, so load hits both alike
                seconds, path = timed(book, limits)
                counted.append(seconds)
                paths[path] += 1
                convex.append(timed(book, plain)[0])
        median, p90, p99 = percentiles(counted)
        base = percentiles(convex)[0]
        taken = ", ".join(f"{path} {n}" for path, n in paths.most_common())
        print(
            f"{name:<12} {median:7.1f} {p90:7.1f} {p99:7.1f}   {base:10.1f}    "
            f"{median / base:5.1f}  {taken}"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
