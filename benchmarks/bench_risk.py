"""Long-only min-variance and mean-variance with a 5% cap and 10 bucket caps, against
PyPortfolioOpt and skfolio, at N = 50, 500, 2000.

Every library gets the same problem in the same run: PyPortfolioOpt and skfolio the dense
covariance (skfolio through a return matrix whose sample mean and covariance are exactly μ
and Σ), portcon the factor model with identical Σ. Printed: median wall time of a call
(building and solving), portcon's times (cold: the model cache emptied before every call,
so the problem is built and compiled each time, as the other libraries do; warm: cached
structure), the ratios, and the largest weight difference to portcon.

"first 3" is the median of the first three calls of a new structure (the cache emptied once
before them, imports and cvxpy already warm): what a user sees calling construct a few times
on one book. The load average of the shared machine is printed before and after.

Targets (issue 4): ≥ 30× faster than PyPortfolioOpt at N = 2000, never slower at N = 50,
weights equal to 1e-4. Issue 15: at N = 2000, mean-variance, the median of the first three
calls ≥ 50× faster than PyPortfolioOpt, same weights to 1e-5 (the last lines say whether).
Needs the `bench` extra: ``pip install -e ".[bench]"``.

Run: ``.venv/bin/python benchmarks/bench_risk.py [--sizes 50 500 2000] [--repeats 3]
[--modes mean_variance] [--no-skfolio]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import pandas as pd

import portcon
from portcon.optimizer.model import clear_cache

FACTORS = 10
BUCKETS = 10
CAP = 0.05
RISK_AVERSION = 2.0
SAME_WEIGHTS = 1e-5  # issue 15's tolerance against PyPortfolioOpt
FIRST_CALLS_TARGET = 50.0  # issue 15: PyPortfolioOpt / median of the first three calls, N = 2000


def problem(n: int, seed: int):
    """A factor model, expected returns and bucket labels for n assets."""
    rng = np.random.default_rng(seed)
    assets = [f"A{i:04d}" for i in range(n)]
    factors = [f"F{j}" for j in range(FACTORS)]
    loadings = pd.DataFrame(rng.normal(0, 0.3, (n, FACTORS)), index=assets, columns=factors)
    root = rng.normal(0, 0.2, (FACTORS, FACTORS))
    factor_cov = pd.DataFrame(
        root @ root.T / FACTORS + 0.01 * np.eye(FACTORS), index=factors, columns=factors
    )
    specific = pd.Series(rng.uniform(0.01, 0.09, n), index=assets)
    model = portcon.FactorModel(
        loadings=loadings, factor_covariance=factor_cov, specific_variance=specific
    )
    mu = pd.Series(rng.uniform(0.02, 0.15, n), index=assets)
    buckets = pd.Series([f"B{k % BUCKETS}" for k in range(n)], index=assets)
    bucket_cap = max(1.5 / BUCKETS, 0.15)
    return model, mu, buckets, bucket_cap


def timed(call, repeats: int):
    """Median seconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def first_calls(call, count: int = 3) -> tuple[float, pd.Series]:
    """Median seconds of the first ``count`` calls of a new structure, and the last result."""
    clear_cache()
    return timed(call, count)


def load() -> str:
    """The 1, 5 and 15 minute load averages of this machine."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_portcon(model, mu, buckets, bucket_cap, mode: str) -> pd.Series:
    scores = pd.DataFrame({"score": 0.8, "bucket": buckets})
    limits = dict(
        sizing_mode=mode,
        target_allocation=1.0,
        min_score_threshold=None,
        max_single_position=CAP,
        max_bucket_allocation=bucket_cap,
        risk_aversion=RISK_AVERSION,
    )
    return portcon.construct(scores, limits, factor_model=model, expected_returns=mu).weights


def run_pypfopt(covariance, mu, buckets, bucket_cap, mode: str) -> pd.Series:
    from pypfopt import EfficientFrontier

    frontier = EfficientFrontier(mu, covariance, weight_bounds=(0, CAP))
    groups = sorted(set(buckets))
    frontier.add_sector_constraints(
        buckets.to_dict(), dict.fromkeys(groups, 0.0), dict.fromkeys(groups, bucket_cap)
    )
    if mode == "min_variance":
        frontier.min_volatility()
    else:
        frontier.max_quadratic_utility(risk_aversion=RISK_AVERSION)
    return pd.Series(frontier.clean_weights(cutoff=0, rounding=None))


def exact_returns(covariance: np.ndarray, mu: np.ndarray, seed: int) -> np.ndarray:
    """T × n returns whose sample mean is μ and sample covariance (T − 1) is Σ, exactly."""
    n = len(mu)
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(n + 50, n))
    draws -= draws.mean(axis=0)
    whitening = np.linalg.cholesky(np.cov(draws, rowvar=False))
    white = np.linalg.solve(whitening, draws.T).T
    return mu + white @ np.linalg.cholesky(covariance).T


def run_skfolio(returns, buckets, bucket_cap, mode: str) -> np.ndarray:
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    objective = (
        ObjectiveFunction.MINIMIZE_RISK
        if mode == "min_variance"
        else ObjectiveFunction.MAXIMIZE_UTILITY
    )
    groups = [list(buckets)]
    constraints = [f"{group} <= {bucket_cap}" for group in sorted(set(buckets))]
    # skfolio's utility is μᵀw − λ·wᵀΣw: λ = γ/2 matches portcon's μᵀw − (γ/2) wᵀΣw
    model = MeanRisk(
        objective_function=objective,
        risk_aversion=RISK_AVERSION / 2,
        max_weights=CAP,
        groups=groups,
        linear_constraints=constraints,
    )
    return model.fit(returns).weights_


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 2000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--modes", nargs="+", default=["min_variance", "mean_variance"], choices=MODES
    )
    parser.add_argument("--no-skfolio", dest="skfolio", action="store_false")
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    run_portcon(*problem(50, seed=0), "min_variance")  # imports and cvxpy warmed first
    print(f"load average before: {load()}")
    header = (
        f"{'mode':<14}{'N':>6}{'portcon cold':>14}{'first 3':>10}{'warm':>9}{'PyPortfolioOpt':>16}"
        f"{'skfolio':>10}{'PyPO/cold':>11}{'PyPO/first3':>13}{'PyPO/warm':>11}{'skf/warm':>10}"
        f"{'|Δw| PyPO':>11}{'|Δw| skf':>10}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for n in arguments.sizes:
        model, mu, buckets, bucket_cap = problem(n, seed=n)
        covariance = model.covariance()
        returns = exact_returns(covariance.to_numpy(), mu.to_numpy(), seed=n)
        for mode in arguments.modes:
            row = measure(arguments, (model, mu, buckets, bucket_cap), covariance, returns, mode)
            print(f"{mode:<14}{n:>6}" + row.line())
            if n == 2000 and mode == "mean_variance":
                verdicts.append(row.verdict())
    print(f"load average after: {load()}")
    for verdict in verdicts:
        print(verdict)


MODES = ("min_variance", "mean_variance")


class Row:
    """One line of the table: seconds per library and the largest weight differences."""

    def __init__(self, times: dict[str, float], gaps: dict[str, float]) -> None:
        self.times, self.gaps = times, gaps

    def line(self) -> str:
        t, ms = self.times, {key: 1000 * value for key, value in self.times.items()}
        return (
            f"{ms['cold']:>12.1f}ms{ms['first']:>8.1f}ms{ms['warm']:>7.1f}ms"
            f"{ms['pypo']:>14.1f}ms{ms['skf']:>8.1f}ms{t['pypo'] / t['cold']:>11.1f}"
            f"{t['pypo'] / t['first']:>13.1f}{t['pypo'] / t['warm']:>11.1f}"
            f"{t['skf'] / t['warm']:>10.1f}{self.gaps['pypo']:>11.1e}{self.gaps['skf']:>10.1e}"
        )

    def verdict(self) -> str:
        ratio = self.times["pypo"] / self.times["first"]
        met = ratio >= FIRST_CALLS_TARGET and self.gaps["pypo"] <= SAME_WEIGHTS
        return (
            f"issue 15 target (N = 2000 mean-variance, first three calls >= "
            f"{FIRST_CALLS_TARGET:.0f}x PyPortfolioOpt, weights within {SAME_WEIGHTS:g}): "
            f"{ratio:.1f}x, |dw| {self.gaps['pypo']:.1e}: {'met' if met else 'NOT met'}"
        )


def measure(arguments, data, covariance, returns, mode: str) -> Row:
    """Time every library on one problem; the weight differences are to portcon's answer."""
    model, mu, buckets, bucket_cap = data

    def ours() -> pd.Series:
        return run_portcon(model, mu, buckets, bucket_cap, mode)

    def fresh_structure() -> pd.Series:
        clear_cache()
        return ours()

    first, weights = first_calls(ours)
    cold, weights = timed(fresh_structure, arguments.repeats)
    warm, weights = timed(ours, arguments.repeats)
    pypo, theirs = timed(
        lambda: run_pypfopt(covariance, mu, buckets, bucket_cap, mode), arguments.repeats
    )
    skf, skw = float("nan"), np.full(len(weights), np.nan)
    if arguments.skfolio:
        skf, skw = timed(lambda: run_skfolio(returns, buckets, bucket_cap, mode), arguments.repeats)
    gaps = {
        "pypo": float(np.abs(weights.to_numpy() - theirs.reindex(weights.index).to_numpy()).max()),
        "skf": float(np.abs(weights.to_numpy() - skw).max()),
    }
    times = {"cold": cold, "first": first, "warm": warm, "pypo": pypo, "skf": skf}
    return Row(times, gaps)


if __name__ == "__main__":
    main()
