"""Tracking error against skfolio and Riskfolio-Lib: the same benchmark-relative problems, the
same covariance, weights, objective and speed in the same run, at N = 50 and 500.

Cases (long-only, fully invested, a 5% cap on every asset so the benchmark — up to 8% in its
largest names — cannot be held exactly):

- ``min_tracking_error``: minimise (w−b)ᵀΣ(w−b). skfolio: ``MeanRisk`` minimising variance
  with ``target_weights = b``; Riskfolio: minimise the tracking error is not an objective, so
  it is skipped there.
- ``te_cap``: minimise wᵀΣw subject to √((w−b)ᵀΣ(w−b)) ≤ 2%. skfolio: ``max_tracking_error``
  with y = X b; Riskfolio: ``allowTE``, ``TE``, ``benchweights``.

skfolio and Riskfolio state the tracking error on a return matrix X (T × N) as
‖X(w − b)‖/√(T − 1). X is built with sample mean exactly 0 and sample covariance exactly Σ,
so that is exactly √((w−b)ᵀΣ(w−b)) and every library solves the same problem; portcon gets the
factor model of Σ. Printed: median seconds of a call (building and solving; portcon cold with
its model cache emptied, and warm), the ratio to portcon warm, the largest weight difference
to portcon, and each answer's objective and tracking error recomputed here in numpy from the
dense Σ (the fair comparison where the optimum is flat).

Needs the ``bench`` extra (skfolio, Riskfolio-Lib): ``pip install -e ".[bench]"``.
Run: ``.venv/bin/python benchmarks/bench_tracking.py [--sizes 50 500] [--repeats 3]``.
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
CAP = 0.05
TRACKING_CAP = 0.02


def problem(n: int, seed: int) -> tuple[portcon.FactorModel, np.ndarray]:
    """A factor model and a cap-weighted-like benchmark (largest names above the cap)."""
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
    sizes = rng.pareto(1.2, n) + 1.0
    benchmark = sizes / sizes.sum()
    for _ in range(50):  # cap the largest at 8% (still above the 5% asset cap)
        benchmark = np.minimum(benchmark, 0.08)
        benchmark = benchmark / benchmark.sum()
    return model, benchmark


def zero_mean_returns(covariance: np.ndarray, seed: int) -> np.ndarray:
    """T × n returns with sample mean exactly 0 and sample covariance (T − 1) exactly Σ."""
    n = covariance.shape[0]
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(n + 50, n))
    draws -= draws.mean(axis=0)
    whitening = np.linalg.cholesky(np.cov(draws, rowvar=False))
    white = np.linalg.solve(whitening, draws.T).T
    return white @ np.linalg.cholesky(covariance).T


def run_portcon(model: portcon.FactorModel, benchmark: np.ndarray, case: str) -> np.ndarray:
    assets = model.loadings.index
    scores = pd.DataFrame({"score": 0.8, "benchmark_weight": benchmark}, index=assets)
    limits: dict = {
        "target_allocation": 1.0,
        "min_score_threshold": None,
        "max_single_position": CAP,
        "allow_cash_rollover": False,
    }
    if case == "min_tracking_error":
        limits["sizing_mode"] = "min_tracking_error"
    else:
        limits.update(sizing_mode="min_variance", max_tracking_error=TRACKING_CAP)
    book = portcon.construct(scores, limits, factor_model=model)
    return book.weights.reindex(assets).to_numpy()


def run_skfolio(returns: np.ndarray, benchmark: np.ndarray, case: str) -> np.ndarray:
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    if case == "min_tracking_error":
        model = MeanRisk(
            objective_function=ObjectiveFunction.MINIMIZE_RISK,
            max_weights=CAP,
            target_weights=benchmark,
        )
        return model.fit(returns).weights_
    model = MeanRisk(
        objective_function=ObjectiveFunction.MINIMIZE_RISK,
        max_weights=CAP,
        max_tracking_error=TRACKING_CAP,
    )
    return model.fit(returns, returns @ benchmark).weights_


def run_riskfolio(returns: np.ndarray, benchmark: np.ndarray, case: str) -> np.ndarray | None:
    if case == "min_tracking_error":
        return None
    import riskfolio as rp

    assets = [f"A{i:04d}" for i in range(returns.shape[1])]
    frame = pd.DataFrame(returns, columns=assets)
    portfolio = rp.Portfolio(returns=frame, upperlng=CAP)
    portfolio.assets_stats(method_mu="hist", method_cov="hist")
    portfolio.kindbench = True  # the benchmark is given by its weights
    portfolio.benchweights = pd.DataFrame(benchmark, index=assets)
    portfolio.allowTE = True
    portfolio.TE = TRACKING_CAP
    weights = portfolio.optimization(model="Classic", rm="MV", obj="MinRisk", hist=True)
    return weights.to_numpy().ravel()


def timed(call, repeats: int):
    """Median seconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def describe(weights: np.ndarray, covariance: np.ndarray, benchmark: np.ndarray, case: str):
    """(objective, tracking error, worst limit breach) of an answer, in numpy."""
    active = weights - benchmark
    tracking = float(np.sqrt(active @ covariance @ active))
    objective = (
        tracking**2 if case == "min_tracking_error" else float(weights @ covariance @ weights)
    )
    breach = max(
        float(np.max(weights - CAP)),
        float(-np.min(weights)),
        abs(float(weights.sum()) - 1.0),
        tracking - TRACKING_CAP if case == "te_cap" else 0.0,
    )
    return objective, tracking, max(breach, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    header = (
        f"{'case':<20}{'N':>5}{'library':>11}{'time':>10}{'/warm':>8}{'|Δw|':>10}"
        f"{'objective':>14}{'TE':>10}{'breach':>10}"
    )
    print(header)
    print("-" * len(header))
    for n in arguments.sizes:
        model, benchmark = problem(n, seed=n)
        covariance = model.covariance().to_numpy()
        returns = zero_mean_returns(covariance, seed=n)
        for case in ("min_tracking_error", "te_cap"):

            def cold_call(case=case, model=model, benchmark=benchmark):
                clear_cache()
                return run_portcon(model, benchmark, case)

            cold, ours = timed(cold_call, arguments.repeats)
            warm, ours = timed(lambda: run_portcon(model, benchmark, case), arguments.repeats)  # noqa: B023
            rows = [("portcon cold", cold, ours), ("portcon warm", warm, ours)]
            for name, runner in (("skfolio", run_skfolio), ("riskfolio", run_riskfolio)):
                seconds, theirs = timed(
                    lambda runner=runner: runner(returns, benchmark, case),  # noqa: B023
                    arguments.repeats,
                )
                if theirs is not None:
                    rows.append((name, seconds, np.asarray(theirs, dtype=float)))
            for name, seconds, weights in rows:
                objective, tracking, breach = describe(weights, covariance, benchmark, case)
                gap = float(np.abs(weights - ours).max())
                print(
                    f"{case:<20}{n:>5}{name:>13}{seconds:>9.3f}s{seconds / warm:>7.1f}"
                    f"{gap:>10.1e}{objective:>14.8f}{tracking:>10.6f}{breach:>10.1e}"
                )


if __name__ == "__main__":
    main()
