"""The same scenarios on a process pool and on a 2-worker Dask LocalCluster give the serial
report exactly (every model is solved through its DPP compilation, in every process)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import portcon
from tests.conftest import random_universe
from tests.test_whatif import LIMITS, market

SCENARIOS = [
    {"name": "cap", "limits": {"max_single_position": 0.2}},
    {"name": "bucket", "limits": {"bucket_caps": {"B0": 0.25}}},
    {"name": "scores", "score_shocks": [{"buckets": ["B1"], "multiply": 2.0}]},
    {"name": "vol", "volatility_shocks": [{"sectors": ["S0"], "multiply": 2.0}]},
    {"name": "halt", "exclude": ["A002"]},
    {"name": "bad", "exclude": ["NOPE"]},
]


@pytest.fixture(scope="module")
def problem() -> tuple[pd.DataFrame, dict, dict]:
    frame = random_universe(5, n=14, buckets=3, sectors=2, low=0.5)
    return frame, {**LIMITS, "sizing_mode": "min_variance"}, market(frame, seed=5)


@pytest.fixture(scope="module")
def serial(problem) -> portcon.ScenarioReport:
    frame, limits, data = problem
    return portcon.whatif(frame, limits, SCENARIOS, **data)


def same(left: portcon.ScenarioReport, right: portcon.ScenarioReport) -> None:
    pd.testing.assert_frame_equal(left.weights, right.weights, check_exact=True)
    columns = ["status", "cash", "hhi", "volatility", "expected_return", "turnover"]
    pd.testing.assert_frame_equal(left.metrics[columns], right.metrics[columns], check_exact=True)
    pd.testing.assert_frame_equal(left.binding, right.binding, check_exact=True)
    pd.testing.assert_frame_equal(left.failures, right.failures)


def test_process_pool_gives_the_serial_report(problem, serial) -> None:
    frame, limits, data = problem
    ticks: list[tuple[int, int]] = []
    report = portcon.whatif(
        frame,
        limits,
        SCENARIOS,
        "processes",
        workers=2,
        progress=lambda *t: ticks.append(t),
        **data,
    )
    same(serial, report)
    assert ticks[-1] == (len(SCENARIOS) + 1, len(SCENARIOS) + 1)


def test_any_executor_gives_the_serial_report(problem, serial) -> None:
    frame, limits, data = problem
    with ThreadPoolExecutor(2) as pool:
        same(serial, portcon.whatif(frame, limits, SCENARIOS, pool, **data))


def test_dask_local_cluster_gives_the_serial_report(problem, serial) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, timeout="60s") as client,
    ):
        frame, limits, data = problem
        report = portcon.whatif(frame, limits, SCENARIOS, client, **data)
        sweep = portcon.sweep(frame, limits, "max_single_position", [0.1, 0.2], client, **data)
    same(serial, report)
    local = portcon.sweep(frame, limits, "max_single_position", [0.1, 0.2], **data)
    same(local, sweep)
