"""Benchmark-relative books (issue 14, item 4): bad inputs, the infeasibility diagnosis and the
benchmark_weight column through the CSV files and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.cli.main import main
from portcon.errors import InfeasibleError, InputError, LimitsError
from portcon.universe import Universe
from tests.test_benchmark_tracking import ASSETS, BENCHMARK, COVARIANCE, LOOSE, MU, SCORES, SIGMA, N

REPAIR = 1e-5  # a repair is the least relaxation plus a 1e-6 margin, rounded to 6 digits


def _construct(limits: dict, scores: pd.DataFrame = SCORES) -> portcon.Portfolio:
    return portcon.construct(
        scores, limits, covariance=COVARIANCE, expected_returns=pd.Series(MU, index=ASSETS)
    )


def _least_tracking_error(cap: float, active: float) -> float:
    """min √(aᵀΣa) over 0 ≤ w ≤ cap, |w − b| ≤ active, Σw = 1, written out by hand."""
    w = cp.Variable(N)
    problem = cp.Problem(
        cp.Minimize(cp.quad_form(w - BENCHMARK, SIGMA)),
        [cp.sum(w) == 1, w >= 0, w <= cap, cp.abs(w - BENCHMARK) <= active],
    )
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return float(np.sqrt(problem.value))


def test_diagnosis_repairs_a_too_tight_tracking_error_cap_with_an_active_bound() -> None:
    """A0 is 30% of the benchmark but max_single_position is 20%: no book tracks it closer than
    the least tracking error under the caps; the repair raises max_tracking_error to it."""
    limits = {
        **LOOSE,
        "sizing_mode": "mean_variance",
        "max_single_position": 0.2,
        "max_active_weight": 0.12,
        "max_tracking_error": 0.001,
    }
    with pytest.raises(InfeasibleError) as caught:
        _construct(limits)
    error = caught.value
    assert "max_tracking_error" in error.conflicts
    least = _least_tracking_error(0.2, 0.12)
    assert least > 0.01  # the cap is far too tight: a test that can fail
    repair = next(r for r in error.repairs if set(r) == {"max_tracking_error"})
    assert least <= repair["max_tracking_error"] <= least + REPAIR
    assert "raise max_tracking_error to" in str(error)
    book = _construct({**limits, **repair})  # the repair works
    assert book.metrics.tracking_error <= repair["max_tracking_error"] + 1e-8
    with pytest.raises(InfeasibleError):  # and is minimal: halfway back fails
        _construct({**limits, "max_tracking_error": (0.001 + repair["max_tracking_error"]) / 2})


def test_diagnosis_repairs_an_active_bound_against_a_position_cap() -> None:
    """b(A0) − max_active_weight = 30% − 6% > max_single_position 20%: raise max_active_weight
    to 10% or max_single_position to 24%."""
    limits = {**LOOSE, "sizing_mode": "min_tracking_error", "max_single_position": 0.2}
    limits["max_active_weight"] = 0.06
    with pytest.raises(InfeasibleError) as caught:
        _construct(limits)
    repairs = caught.value.repairs
    active = next(r for r in repairs if "max_active_weight" in r)
    assert active["max_active_weight"] == pytest.approx(0.10, abs=REPAIR)
    single = next(r for r in repairs if "max_single_position" in r)
    assert single["max_single_position"] == pytest.approx(0.24, abs=REPAIR)
    for repair in (active, single):
        _construct({**limits, **repair})


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ([0.3, -0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1], "out of range: A1=-0.1"),
        ([1.5, 0.0, 0, 0, 0, 0, 0, 0], "out of range: A0=1.5"),
        ([0.3, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1], "weights sum to 1.300000 > 1"),
        ([30, 20, 15, 10, 10, 5, 5, 5], "out of range"),
        ([0.0] * 8, "every weight is 0 or blank"),
        (["0.3", "x", "", "", "", "", "", ""], "not a number for A1='x'"),
    ],
)
def test_bad_benchmark_columns_name_the_rows(column: list, message: str) -> None:
    scores = SCORES.assign(benchmark_weight=pd.Series(column, index=ASSETS, dtype=object))
    with pytest.raises(InputError, match="benchmark_weight") as caught:
        Universe.from_scores(scores)
    assert message in str(caught.value)


def test_percent_benchmark_is_named_as_percent() -> None:
    scores = SCORES.assign(benchmark_weight=BENCHMARK * 0.5 + 0.4 / N * 2)  # sums to 1.3
    with pytest.raises(InputError, match="sum to"):
        Universe.from_scores(scores)
    halves = SCORES.assign(benchmark_weight=np.full(N, 0.25))  # 2.0: percent-like
    with pytest.raises(InputError, match="divide by 100"):
        Universe.from_scores(halves)


def test_blank_benchmark_cells_are_zero() -> None:
    column = pd.Series([0.5, np.nan, 0.5, None, np.nan, np.nan, np.nan, np.nan], index=ASSETS)
    universe = Universe.from_scores(SCORES.assign(benchmark_weight=column))
    np.testing.assert_array_equal(universe.benchmark_weight, [0.5, 0, 0.5, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_tracking_error": 0.02}, "no 'benchmark_weight' column"),
        ({"sizing_mode": "min_tracking_error"}, "sizing_mode 'min_tracking_error'"),
        ({"active_bucket_caps": {"X": 0.1}}, "active_bucket_caps"),
    ],
)
def test_benchmark_limits_without_the_column(limits: dict, message: str) -> None:
    with pytest.raises(LimitsError, match="benchmark_weight") as caught:
        _construct({**LOOSE, **limits}, SCORES.drop(columns="benchmark_weight"))
    assert message in str(caught.value)


def test_tracking_error_cap_refused_with_max_sharpe() -> None:
    with pytest.raises(LimitsError, match="max_sharpe"):
        _construct({**LOOSE, "sizing_mode": "max_sharpe", "max_tracking_error": 0.05})


def test_tracking_error_cap_needs_a_risk_model() -> None:
    with pytest.raises(LimitsError, match="needs a risk model"):
        portcon.construct(
            SCORES, {**LOOSE, "sizing_mode": "equal_weight", "max_tracking_error": 0.1}
        )


def test_an_excluded_benchmark_name_beyond_the_active_bound_is_named() -> None:
    """A0 (30% of the benchmark) scores below the threshold: |0 − 30%| > 10% whatever happens."""
    limits = {**LOOSE, "sizing_mode": "min_tracking_error", "min_score_threshold": 0.72}
    with pytest.raises(LimitsError, match="A0") as caught:
        _construct({**limits, "max_active_weight": 0.1})
    assert "raise max_active_weight to at least 30.0%" in str(caught.value)


def test_unknown_active_group_is_named() -> None:
    with pytest.raises(LimitsError, match="Nowhere"):
        _construct(
            {**LOOSE, "sizing_mode": "min_tracking_error", "active_bucket_caps": {"Nowhere": 0.1}}
        )


def test_column_round_trips_through_csv_and_the_command_line(tmp_path: Path) -> None:
    """The CLI reads benchmark_weight from the scores CSV (a blank cell is 0), the limits file
    states the cap, and the JSON holds the same weights, tracking error and active share as
    the Python API on the same inputs."""
    frame = SCORES.copy()
    frame["benchmark_weight"] = [f"{value:.2f}" for value in BENCHMARK]
    frame.loc["A7", "benchmark_weight"] = ""
    frame.loc["A6", "benchmark_weight"] = "0.10"
    scores_path = tmp_path / "scores.csv"
    frame.rename_axis("asset").to_csv(scores_path)
    COVARIANCE.rename_axis("asset").to_csv(tmp_path / "covariance.csv")
    pd.Series(MU, index=pd.Index(ASSETS, name="asset"), name="mu").to_csv(tmp_path / "mu.csv")
    (tmp_path / "limits.toml").write_text(
        'sizing_mode = "active_mean_variance"\nrisk_aversion = 3.0\ntarget_allocation = 1.0\n'
        "max_single_position = 0.4\nmin_score_threshold = 0.0\nmax_tracking_error = 0.03\n"
        "max_active_weight = 0.1\n",
        encoding="utf-8",
    )
    out = tmp_path / "targets.json"
    argv = [
        "construct",
        str(scores_path),
        "--covariance",
        str(tmp_path / "covariance.csv"),
        "--expected-returns",
        str(tmp_path / "mu.csv"),
        "--limits",
        str(tmp_path / "limits.toml"),
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    payload = json.loads(out.read_text())
    benchmark = BENCHMARK.copy()
    benchmark[6], benchmark[7] = 0.10, 0.0
    python = _construct(
        portcon.Limits.from_toml(tmp_path / "limits.toml").model_dump(),
        SCORES.assign(benchmark_weight=benchmark),
    )
    weights = pd.Series(payload["weights"]).reindex(ASSETS).to_numpy(dtype=float)
    np.testing.assert_allclose(weights, python.weights.reindex(ASSETS).to_numpy(), atol=1e-9)
    active = weights - benchmark
    assert payload["metrics"]["tracking_error"] == pytest.approx(
        np.sqrt(active @ SIGMA @ active), abs=1e-9
    )
    assert payload["metrics"]["tracking_error"] == pytest.approx(0.03, abs=1e-8)
    assert payload["metrics"]["active_share"] == pytest.approx(0.5 * np.abs(active).sum(), abs=1e-9)
