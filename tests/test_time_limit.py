"""construct(..., time_limit=): one wall-clock budget for every solve of a call.

The end-to-end cases use a count problem SCIP cannot close within its 20 s ``mip_time_limit``
(checked here: it reports reaching that limit); under a 1 s budget the call must stop long
before that. The bound asserted (10 s) is far from both, so a slow machine cannot fail it
unless the budget is ignored.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.optimizer import time_budget
from portcon.service import deadline
from portcon.service.settings import Settings

SLOW_COUNTS = {
    "sizing_mode": "min_variance",
    "max_total_positions": 8,
    "max_single_position": 0.3,
    "mip_method": "exact",
    "mip_time_limit": 20.0,
}


def _hard_book(n: int = 200) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0005, 0.01, size=(300, n)) + rng.normal(size=(300, 1)) * 0.01
    names = [f"A{i}" for i in range(n)]
    covariance = pd.DataFrame(np.cov(returns, rowvar=False) * 252, index=names, columns=names)
    return pd.Series(rng.uniform(0.6, 1.0, n), index=names), covariance


def test_a_spent_budget_raises_a_solver_error_saying_so():
    with pytest.raises(portcon.TimeLimitError) as raised:
        portcon.construct(pd.Series({"A": 0.9, "B": 0.8}), time_limit=1e-9)
    error = raised.value
    assert isinstance(error, portcon.SolverError) and error.retryable
    assert error.status == "time limit" and "time_limit" in str(error)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "5", True])
def test_a_time_limit_that_is_not_a_positive_number_is_an_input_error(bad):
    with pytest.raises(portcon.InputError, match="time_limit"):
        portcon.construct(pd.Series({"A": 0.9}), time_limit=bad)


@pytest.mark.parametrize(
    "limits",
    [
        {"sizing_mode": "score_weighted", "max_single_position": 0.4},
        {"sizing_mode": "min_variance", "max_total_positions": 3, "max_single_position": 0.5},
    ],
)
def test_a_generous_budget_changes_nothing(limits):
    rng = np.random.default_rng(0)
    names = list("ABCDEF")
    returns = pd.DataFrame(rng.normal(0.001, 0.02, size=(120, 6)), columns=names)
    scores = pd.Series(np.linspace(0.95, 0.7, 6), index=names)
    free = portcon.construct(scores, limits, returns=returns)
    budgeted = portcon.construct(scores, limits, returns=returns, time_limit=60)
    assert np.array_equal(free.weights.to_numpy(), budgeted.weights.to_numpy())
    assert free.cash == budgeted.cash


def test_budgets_nest_and_never_extend_an_outer_one():
    assert time_budget.remaining() is None and time_budget.solver_options("CLARABEL") == {}
    with time_budget.time_limit(0.5):
        with time_budget.time_limit(100):
            left = time_budget.remaining()
            assert left is not None and left <= 0.5
            assert time_budget.cap(30.0, 0.8) <= 0.8 * 0.5
            assert time_budget.solver_options("CLARABEL")["time_limit"] <= 0.5
            assert time_budget.solver_options("SCS")["time_limit_secs"] <= 0.5
            assert time_budget.solver_options("ECOS") == {}  # ECOS takes no time limit
        with time_budget.time_limit(0.01):
            inner = time_budget.remaining()
            assert inner is not None and inner <= 0.01
    assert time_budget.remaining() is None


def test_a_budget_stays_on_its_own_thread():
    seen: list[float | None] = []
    with time_budget.time_limit(5):
        other = threading.Thread(target=lambda: seen.append(time_budget.remaining()))
        other.start()
        other.join()
    assert seen == [None]


def test_the_count_step_stops_at_the_call_budget_not_at_mip_time_limit():
    scores, covariance = _hard_book()
    started = time.perf_counter()
    with pytest.raises(portcon.TimeLimitError, match="1 s time_limit"):
        portcon.construct(scores, SLOW_COUNTS, covariance=covariance, time_limit=1.0)
    assert time.perf_counter() - started < 10.0  # mip_time_limit alone would take 20 s


def test_a_service_request_past_its_cap_stops_its_solve():
    """The solver thread is freed soon after the 503, not when the solve would have ended."""
    scores, covariance = _hard_book()
    ended: list[float] = []

    def work() -> portcon.Portfolio:
        try:
            return portcon.construct(scores, SLOW_COUNTS, covariance=covariance)
        finally:
            ended.append(time.perf_counter())

    started = time.perf_counter()
    with pytest.raises(deadline.SolveTimeoutError):
        deadline.within(1.0, work, Settings().solver_threads)
    for _ in range(100):
        if ended:
            break
        time.sleep(0.1)
    assert ended and ended[0] - started < 10.0  # without the budget: 20 s of SCIP


def test_scip_out_of_a_share_the_budget_cut_is_a_time_limit():
    """SCIP finding nothing in a time the budget cut below mip_time_limit is the budget's
    doing (TimeLimitError); in its full mip_time_limit, or for another reason, it is not."""
    from types import SimpleNamespace

    from portcon.counts import mip
    from portcon.counts.deadline import Deadline

    program = SimpleNamespace(limits=portcon.Limits(mip_time_limit=20.0))
    ran_out = "SCIP found no portfolio within 0.2 s (timelimit)"
    with time_budget.time_limit(5.0):
        with pytest.raises(portcon.TimeLimitError, match=r"5 s time_limit.*0\.2 s of its 20 s"):
            mip._check_budget_cut(program, Deadline(0.2), ran_out)
        mip._check_budget_cut(program, Deadline(20.0), ran_out)  # its whole mip_time_limit
        mip._check_budget_cut(program, Deadline(0.2), "the SCIP worker crashed")
    mip._check_budget_cut(program, Deadline(0.2), ran_out)  # no budget: not a time limit
