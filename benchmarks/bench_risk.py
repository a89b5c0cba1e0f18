"""Long-only min-variance and mean-variance with a 5% cap and 10 bucket caps, against
PyPortfolioOpt and skfolio, at N = 50, 500, 2000.

Every library gets the same problem in the same run: PyPortfolioOpt and skfolio the dense
covariance (skfolio through a return matrix whose sample mean and covariance are exactly μ
and Σ), portcon the factor model with identical Σ. Printed: median wall time of a call
(building and solving), portcon's times (cold: the model cache emptied before every call,
so the problem is built and compiled each time, as the other libraries do; warm: cached
structure), the ratios, and the largest weight difference to portcon.

Targets (issue 4): ≥ 30× faster than PyPortfolioOpt at N = 2000, never slower at N = 50,
weights equal to 1e-4. Needs the `bench` extra: ``pip install -e ".[bench]"``.

Run: ``.venv/bin/python benchmarks/bench_risk.py [--sizes 50 500 2000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
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
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    header = (
        f"{'mode':<14}{'N':>6}{'portcon cold':>14}{'warm':>9}{'PyPortfolioOpt':>16}"
        f"{'skfolio':>10}{'PyPO/cold':>11}{'PyPO/warm':>11}{'skf/warm':>10}"
        f"{'|Δw| PyPO':>11}{'|Δw| skf':>10}"
    )
    print(header)
    print("-" * len(header))
    for n in arguments.sizes:
        model, mu, buckets, bucket_cap = problem(n, seed=n)
        covariance = model.covariance()
        returns = exact_returns(covariance.to_numpy(), mu.to_numpy(), seed=n)
        for mode in ("min_variance", "mean_variance"):

            def fresh_structure(mode=mode, model=model, mu=mu, buckets=buckets, cap=bucket_cap):
                clear_cache()
                return run_portcon(model, mu, buckets, cap, mode)

            cold, ours = timed(fresh_structure, arguments.repeats)
            warm, ours = timed(
                lambda: run_portcon(model, mu, buckets, bucket_cap, mode),  # noqa: B023
                arguments.repeats,
            )
            pypo, theirs = timed(
                lambda: run_pypfopt(covariance, mu, buckets, bucket_cap, mode),  # noqa: B023
                arguments.repeats,
            )
            skf, skw = timed(
                lambda: run_skfolio(returns, buckets, bucket_cap, mode),  # noqa: B023
                arguments.repeats,
            )
            gap_pypo = float(np.abs(ours.to_numpy() - theirs.reindex(ours.index).to_numpy()).max())
            gap_skf = float(np.abs(ours.to_numpy() - skw).max())
            print(
                f"{mode:<14}{n:>6}{1000 * cold:>12.1f}ms{1000 * warm:>7.1f}ms"
                f"{1000 * pypo:>14.1f}ms{1000 * skf:>8.1f}ms{pypo / cold:>11.1f}"
                f"{pypo / warm:>11.1f}{skf / warm:>10.1f}{gap_pypo:>11.1e}{gap_skf:>10.1e}"
            )


if __name__ == "__main__":
    main()
