"""Historical CVaR (issue 14 item 5) against skfolio and Riskfolio-Lib, on the same returns.

Comparisons, one function each (more can be added beside them, e.g. tracking error):

- ``min_cvar``: long-only, fully invested, least CVaR at 95% (no other limit; Riskfolio-Lib's
  ``Classic`` / ``CVaR`` / ``MinRisk`` states exactly this).
- ``cvar_cap``: least variance (sample covariance) with CVaR ≤ cap and a 10% per-asset cap,
  against skfolio's ``MeanRisk(risk_measure=VARIANCE, max_cvar=cap, max_weights=0.1)``.
- ``mean_cvar``: least CVaR with expected return ≥ r (a mean-CVaR efficient portfolio), against
  skfolio's ``MeanRisk(risk_measure=CVAR, min_return=r)``.
- ``speed``: min_cvar at N = 500 assets and 1,000 scenarios, every library in the same run;
  median wall time of a call (building and solving) and the ratios to portcon.

Printed per comparison: each library's CVaR of its own answer (recomputed here in numpy from
the scenarios), the largest weight difference to portcon and the objective's gap. Needs the
``bench`` extra (skfolio) and ``pip install riskfolio-lib`` (Riskfolio-Lib is skipped, with a
line saying so, when it is not installed).

Run: ``.venv/bin/python benchmarks/bench_tail.py [--assets 500] [--scenarios 1000]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

import portcon
from portcon.optimizer.model import clear_cache

LEVEL = 0.95


def returns(n: int, periods: int, seed: int) -> pd.DataFrame:
    """Fat-tailed daily returns: a market factor, two sector factors, Student-t noise."""
    rng = np.random.default_rng(seed)
    market = rng.standard_t(4, (periods, 1)) * 0.008
    sectors = rng.standard_t(4, (periods, 2)) * 0.005
    loadings = rng.uniform(0.5, 1.5, (1, n))
    sector_loadings = rng.normal(0, 0.6, (2, n))
    noise = rng.standard_t(5, (periods, n)) * rng.uniform(0.005, 0.02, n)
    drift = rng.uniform(-0.0002, 0.0008, n)
    values = drift + market @ loadings + sectors @ sector_loadings + noise
    return pd.DataFrame(values, columns=[f"A{i:04d}" for i in range(n)])


def cvar(weights: np.ndarray, history: pd.DataFrame) -> float:
    """Mean of the worst (1 − α) T losses, the last one fractionally."""
    losses = np.sort(-history.to_numpy() @ weights)[::-1]
    count = (1 - LEVEL) * len(losses)
    whole = int(np.floor(count))
    tail = losses[:whole].sum() + (count - whole) * (losses[whole] if whole < len(losses) else 0)
    return float(tail / count)


def portcon_weights(history: pd.DataFrame, limits: dict) -> np.ndarray:
    """portcon's answer over the history's columns."""
    scores = pd.Series(0.5, index=history.columns)
    base = {
        "min_score_threshold": 0.0,
        "target_allocation": 1.0,
        "risk_model": "historical",
        "confidence_level": LEVEL,
        "covariance_estimator": "sample",
        "max_single_position": None,
    }
    book = portcon.construct(scores, {**base, **limits}, returns=history)
    return book.weights.reindex(history.columns).fillna(0.0).to_numpy()


def skfolio_weights(history: pd.DataFrame, **options: object) -> np.ndarray:
    """skfolio's MeanRisk with the given options (long-only, budget 1, Clarabel)."""
    from skfolio.optimization import MeanRisk

    model = MeanRisk(cvar_beta=LEVEL, solver="CLARABEL", **options)
    return np.asarray(model.fit(history.to_numpy()).weights_)


def riskfolio_weights(history: pd.DataFrame) -> np.ndarray | None:
    """Riskfolio-Lib's Classic / CVaR / MinRisk (long-only, budget 1), None when absent."""
    try:
        import riskfolio as rp
    except ImportError:
        return None
    port = rp.Portfolio(returns=history, alpha=1 - LEVEL)
    port.solvers = ["CLARABEL"]
    port.assets_stats(method_mu="hist", method_cov="hist")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = port.optimization(model="Classic", rm="CVaR", obj="MinRisk", rf=0, l=0, hist=True)
    return None if found is None else found["weights"].reindex(history.columns).to_numpy()


def report(name: str, history: pd.DataFrame, answers: dict[str, np.ndarray | None]) -> None:
    """CVaR of each answer, weight differences and CVaR gaps to portcon."""
    mine = answers["portcon"]
    assert mine is not None
    print(f"\n{name}: N = {history.shape[1]}, T = {history.shape[0]}")
    for library, weights in answers.items():
        if weights is None:
            print(f"  {library:10s} not installed (pip install riskfolio-lib): skipped")
            continue
        gap = cvar(weights, history) - cvar(mine, history)
        print(
            f"  {library:10s} CVaR {cvar(weights, history):.8f}  "
            f"max|w - portcon| {np.max(np.abs(weights - mine)):.2e}  CVaR - portcon {gap:+.2e}"
        )


def compare_min_cvar(history: pd.DataFrame) -> None:
    """Least CVaR, long-only, fully invested."""
    from skfolio import RiskMeasure

    answers = {
        "portcon": portcon_weights(history, {"sizing_mode": "min_cvar"}),
        "skfolio": skfolio_weights(history, risk_measure=RiskMeasure.CVAR),
        "riskfolio": riskfolio_weights(history),
    }
    report("min_cvar", history, answers)


def compare_cvar_cap(history: pd.DataFrame) -> None:
    """Least variance with CVaR ≤ cap and a 10% single-asset cap."""
    from skfolio import RiskMeasure

    least = cvar(portcon_weights(history, {"sizing_mode": "min_cvar"}), history)
    cap = 1.1 * least
    limits = {"sizing_mode": "min_variance", "max_portfolio_risk": cap, "max_single_position": 0.1}
    answers = {
        "portcon": portcon_weights(history, limits),
        "skfolio": skfolio_weights(
            history, risk_measure=RiskMeasure.VARIANCE, max_cvar=cap, max_weights=0.1
        ),
    }
    report(f"min variance with CVaR <= {cap:.6f} and a 10% cap", history, answers)


def compare_mean_cvar(history: pd.DataFrame) -> None:
    """Least CVaR with a mean return floor (per period for skfolio, per year for portcon)."""
    from skfolio import RiskMeasure

    mean = history.mean().to_numpy()
    least = portcon_weights(history, {"sizing_mode": "min_cvar"})
    floor = 0.5 * (float(mean @ least) + float(np.sort(mean)[-5:].mean()))
    limits = {"sizing_mode": "min_cvar", "min_expected_return": floor * 252}
    answers = {
        "portcon": portcon_weights(history, limits),
        "skfolio": skfolio_weights(history, risk_measure=RiskMeasure.CVAR, min_return=floor),
    }
    report(f"mean-CVaR, mean return >= {floor:.6f} a period", history, answers)


def timed(call: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def speed(history: pd.DataFrame, repeats: int) -> None:
    """min_cvar wall time per library in the same run, and the ratios to portcon (cold)."""
    from skfolio import RiskMeasure

    def cold() -> object:
        clear_cache()  # built and compiled every call, as the other libraries do
        return portcon_weights(history, {"sizing_mode": "min_cvar"})

    results = {
        "portcon": timed(cold, repeats),
        "skfolio": timed(lambda: skfolio_weights(history, risk_measure=RiskMeasure.CVAR), repeats),
    }
    try:
        import riskfolio  # noqa: F401

        results["riskfolio"] = timed(lambda: riskfolio_weights(history), repeats)
    except ImportError:
        print("  riskfolio-lib not installed: its speed is not measured")
    n, t = history.shape[1], history.shape[0]
    print(f"\nspeed, min_cvar, N = {n}, T = {t} (median of {repeats}, seconds)")
    for library, seconds in results.items():
        print(f"  {library:10s} {seconds:8.3f} s   {seconds / results['portcon']:6.2f} × portcon")


def main() -> None:
    """Weights and objectives on a small problem, then speed at the requested size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    small = returns(30, 500, seed=1)
    compare_min_cvar(small)
    compare_cvar_cap(small)
    compare_mean_cvar(small)
    large = returns(arguments.assets, arguments.scenarios, seed=2)
    compare_min_cvar(large)
    speed(large, arguments.repeats)


if __name__ == "__main__":
    main()
