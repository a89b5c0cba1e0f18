"""What-if throughput: many scenarios (limit and score shocks) on N assets with a factor model.

Printed: per-scenario time of ``portcon.whatif`` (serial) against, in the same run,
(a) a fresh ``construct`` per scenario with the model pool cleared before each (what a run
without model reuse pays: one DPP compilation per scenario; timed half before the what-if
run and half after it, since the load drifts, and in CPU time too), (b) a plain ``construct`` per
scenario (which itself re-binds pooled models), and (c) the solver's own time, read two ways:
Clarabel's ``solve_time`` (which includes its setup) and the wall time inside Clarabel's
calls (its constructor, which also reads the data in, and ``solve``); the number of models
compiled during the serial run; scenarios per second serial, on a local process pool and on
a 2-worker Dask LocalCluster (processes, 127.0.0.1).

Run: ``.venv/bin/python benchmarks/bench_whatif.py [--scenarios 1000] [--n 500] [--serial]``
(``--serial``: skip the process pool and Dask runs). The load average is printed first: on a
shared machine every time here moves with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd

import portcon
from portcon.optimizer import model as model_module
from portcon.scenarios.inputs import Inputs, shocked


def problem(n: int, k: int = 10) -> tuple[pd.DataFrame, portcon.Limits, portcon.FactorModel]:
    rng = np.random.default_rng(0)
    assets = [f"A{i:04d}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.5, 1.0, n),
            "bucket": [f"B{i % 8}" for i in range(n)],
            "sector": [f"S{i % 11}" for i in range(n)],
        },
        index=assets,
    )
    factors = [f"F{j}" for j in range(k)]
    loadings = pd.DataFrame(rng.normal(0, 0.3, (n, k)), assets, factors)
    factor_cov = pd.DataFrame(np.diag(rng.uniform(0.01, 0.04, k)), factors, factors)
    model = portcon.FactorModel(loadings, factor_cov, pd.Series(rng.uniform(0.01, 0.05, n), assets))
    limits = portcon.Limits(
        sizing_mode="score_weighted",
        max_single_position=4.0 / n,
        max_bucket_allocation=0.2,
        min_score_threshold=None,
        max_portfolio_volatility=0.5,
    )
    return frame, limits, model


def scenarios(count: int, n: int) -> list[portcon.Scenario]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(count):
        if i % 2:
            change = {"limits": {"max_single_position": float(rng.uniform(2.5, 6.0)) / n}}
        else:
            bucket = f"B{rng.integers(8)}"
            factor = float(rng.uniform(0.7, 1.3))
            change = {"score_shocks": [{"buckets": [bucket], "multiply": factor}]}
        out.append(portcon.Scenario(name=f"s{i}", **change))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--fresh", type=int, default=50, help="constructs timed per baseline")
    parser.add_argument("--serial", action="store_true", help="skip the process pool and Dask")
    args = parser.parse_args()
    print("load average (1, 5, 15 min):", ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    frame, limits, model = problem(args.n)
    chosen = scenarios(args.scenarios, args.n)
    print(f"N = {args.n}, {args.scenarios} scenarios (limit and score shocks), factor model")

    builds = _count_builds()
    inputs = [shocked(_inputs(frame, limits, model), s) for s in chosen[: args.fresh]]
    half = len(inputs) // 2
    _time_constructs(inputs[:1], model, clear=True)  # imports and first-call work, untimed
    cold_before = _time_constructs(inputs[:half], model, clear=True)  # the load drifts: the
    inside = _time_clarabel_calls()  # baseline is timed half before the run, half after it
    compiled = builds[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    report = portcon.whatif(frame, limits, chosen, factor_model=model)
    serial, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    compiled = builds[0] - compiled
    inside.stop()
    cold_after = _time_constructs(inputs[half:], model, clear=True)
    per, cpu_per = serial / (len(chosen) + 1), cpu / (len(chosen) + 1)
    failed = len(report.failures)
    solver = statistics.mean(
        report.portfolio(name).solve_time for name in report.names if report.portfolio(name)
    )
    library = inside.seconds / (len(chosen) + 1)
    print(
        f"whatif serial: {1e3 * per:.1f} ms/scenario, {1 / per:.1f} scenarios/s, "
        f"{compiled} models compiled, {failed} failed"
    )
    print(
        f"solver's own time, as Clarabel reports it (solve_time: its setup, i.e. equilibration, "
        f"KKT assembly and factorisation, and its iterations): {1e3 * solver:.1f} ms/scenario "
        f"-> whatif/solver = {per / solver:.2f}"
    )
    print(
        f"solver's own time, measured around Clarabel's calls (the constructor, which also "
        f"copies the data into Rust, and solve): {1e3 * library:.1f} ms/scenario "
        f"({inside.calls / (len(chosen) + 1):.2f} solves/scenario) -> whatif/solver = "
        f"{per / library:.2f}"
    )
    print("where a scenario's time goes (ms, mean):", _stages(report))

    cold, cold_cpu = _means(cold_before + cold_after)
    warm, _ = _means(_time_constructs(inputs, model, clear=False))
    print(
        f"fresh construct, pool cleared (compiles): {1e3 * cold:.1f} ms, {cold / per:.2f}x "
        f"(CPU time: {1e3 * cold_cpu:.1f} ms against whatif's {1e3 * cpu_per:.1f} ms, "
        f"{cold_cpu / cpu_per:.2f}x)"
    )
    print(f"construct with the pool (re-binds): {1e3 * warm:.1f} ms, {warm / per:.1f}x")
    if args.serial:
        return

    started = time.perf_counter()
    parallel = portcon.whatif(frame, limits, chosen, "processes", workers=2, factor_model=model)
    elapsed = time.perf_counter() - started
    print(
        f"process pool (2 workers, incl. start-up): {(len(chosen) + 1) / elapsed:.1f} scenarios/s, "
        f"identical to serial: {parallel.weights.equals(report.weights)}"
    )
    _dask(frame, limits, chosen, model, report)


def _stages(report) -> str:
    """Mean per-scenario stage times: shocks (and what-if bookkeeping), construct's prepare
    (validation, market data, program), checkout (lending and re-binding the pooled model),
    solve chain beyond the solver, solver, polish (with absorbing cash), report (with the
    independent check)."""
    portfolios = [report.portfolio(name) for name in report.names if report.portfolio(name)]
    timings = [p.timings for p in portfolios]

    def mean(get) -> float:
        return 1e3 * statistics.mean(get(t) for t in timings)

    shocks = 1e3 * statistics.mean(o.seconds for o in report.outcomes) - mean(lambda t: t["total"])
    parts = {
        "shocks": shocks,
        "prepare": mean(lambda t: t["prepare"]),
        "checkout": mean(lambda t: t.get("build", 0.0)),
        "chain": mean(lambda t: t["solve"] - t["solver"]),
        "solver": mean(lambda t: t["solver"]),
        "polish": mean(lambda t: t.get("polish", 0.0)),
        "report": mean(lambda t: t.get("report", 0.0)),
    }
    return ", ".join(f"{name} {value:.1f}" for name, value in parts.items())


def _dask(frame, limits, chosen, model, report) -> None:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask: not installed (pip install 'portcon[dask]')")
        return
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        portcon.whatif(frame, limits, chosen[:4], client, factor_model=model)  # workers warm up
        started = time.perf_counter()
        result = portcon.whatif(frame, limits, chosen, client, factor_model=model)
        elapsed = time.perf_counter() - started
    print(
        f"dask LocalCluster (2 workers, warm): {(len(chosen) + 1) / elapsed:.1f} scenarios/s, "
        f"identical to serial: {result.weights.equals(report.weights)}"
    )


def _inputs(frame, limits, model):
    return Inputs.from_arguments(frame, limits, {"factor_model": model})


def _means(times: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean wall and mean CPU seconds."""
    return statistics.mean(t[0] for t in times), statistics.mean(t[1] for t in times)


def _time_constructs(inputs, model, clear: bool) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of one construct per input; with ``clear``, the pool emptied
    before each (after the run, so the run's own model is compiled by the run)."""
    times = []
    for one in inputs:
        if clear:
            model_module.clear_cache()
        started, cpu = time.perf_counter(), time.process_time()
        portcon.construct(one.scores, one.limits, **one.market)
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    if clear:
        model_module.clear_cache()
    return times


class _ClarabelCalls:
    """Wall time spent inside ``clarabel.DefaultSolver(...)`` and its ``solve()`` while
    installed (cvxpy looks the class up at every solve)."""

    def __init__(self) -> None:
        import clarabel

        self.seconds, self.calls = 0.0, 0
        self._module, self._real = clarabel, clarabel.DefaultSolver
        meter = self

        class Timed:
            def __init__(self, *args, **kwargs) -> None:
                started = time.perf_counter()
                self._solver = meter._real(*args, **kwargs)
                meter.seconds += time.perf_counter() - started

            def solve(self):
                started = time.perf_counter()
                result = self._solver.solve()
                meter.seconds += time.perf_counter() - started
                meter.calls += 1
                return result

            def __getattr__(self, name):
                return getattr(self._solver, name)

        clarabel.DefaultSolver = Timed

    def stop(self) -> None:
        self._module.DefaultSolver = self._real


def _time_clarabel_calls() -> _ClarabelCalls:
    return _ClarabelCalls()


def _count_builds() -> list[int]:
    count = [0]
    real = model_module._build

    def counting(program, dpp):
        count[0] += 1
        return real(program, dpp)

    model_module._build = counting
    return count


if __name__ == "__main__":
    main()
