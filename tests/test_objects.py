"""Python objects (issue 9): labels, the cash row, copies, pickling and process pools."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import Limits
from portcon.limits.checks import FrozenMap
from tests.boundary import run, write

FRAME = pd.DataFrame(
    {"score": [0.9, 0.8, 0.7, 0.65], "bucket": ["X", "X", "Y", "Y"]},
    index=pd.Index(["A", "B", "C", "D"], name="asset"),
)


def test_an_asset_named_cash_never_shares_the_cash_row() -> None:
    frame = FRAME.rename(index={"B": "CASH", "C": "CASH (uninvested)"})
    portfolio = portcon.construct(frame)
    table = portfolio.to_frame()
    assert table.index.is_unique
    assert portfolio.cash_label == "CASH (uninvested) 2" == table.index[-1]
    assert table.loc["CASH", "weight"] == portfolio.weights["CASH"]
    assert table["weight"].iloc[-1] == pytest.approx(portfolio.cash)
    assert portcon.construct(FRAME).cash_label == "CASH"


def test_an_asset_named_cash_on_the_command_line(tmp_path: Path) -> None:
    scores = write(tmp_path / "s.csv", "asset,score\nCASH,0.9\nB,0.8\n")
    out = tmp_path / "out.csv"
    assert run(["construct", str(scores), "-q", "-o", str(out)]) == 0
    written = pd.read_csv(out, index_col=0, keep_default_na=False)
    assert list(written.index) == ["CASH", "B", "CASH (uninvested)"]


def test_integer_labels_survive_every_report() -> None:
    portfolio = portcon.construct(FRAME.set_axis([10, 20, 30, 40]))
    assert list(portfolio.weights.index) == [10, 20, 30, 40]
    assert list(portfolio.explanations.index) == [10, 20, 30, 40]
    assert list(portfolio.to_frame().index) == [10, 20, 30, 40, "CASH"]
    assert set(portfolio.to_dict()["weights"]) == {"10", "20", "30", "40"}


def _roundtrips(value: object) -> list[object]:
    return [pickle.loads(pickle.dumps(value)), copy.deepcopy(value), copy.copy(value)]


def test_limits_pickle_and_deepcopy() -> None:
    for limits in (
        Limits(),
        Limits.preset("balanced", bucket_caps={"X": 0.3}, risk_budgets={"A": 2.0}),
        Limits(bucket_position_limits={"a\nb": 2}, sector_caps={"None": 0.5}),
    ):
        for copied in _roundtrips(limits):
            assert copied == limits and hash(copied) == hash(limits)
            assert isinstance(copied.bucket_caps, FrozenMap)


def test_per_name_limits_are_read_only() -> None:
    caps = Limits(bucket_caps={"X": 0.3}).bucket_caps
    with pytest.raises(TypeError):
        caps["X"] = 0.9  # type: ignore[index]
    assert dict(caps) == {"X": 0.3}
    assert Limits(bucket_caps={"X": 0.3}).model_dump()["bucket_caps"] == {"X": 0.3}


def test_portfolio_pickles_and_deepcopies() -> None:
    portfolio = portcon.construct(FRAME, {"max_bucket_allocation": 0.4})
    for copied in _roundtrips(portfolio):
        pd.testing.assert_series_equal(copied.weights, portfolio.weights)
        pd.testing.assert_frame_equal(copied.to_frame(), portfolio.to_frame())
        pd.testing.assert_frame_equal(copied.explanations, portfolio.explanations)
        assert copied.limits == portfolio.limits


def _construct_in_worker(limits: Limits) -> portcon.Portfolio:
    return portcon.construct(FRAME, limits)


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_limits_and_portfolios_travel_through_a_process_pool() -> None:
    limits = Limits(max_bucket_allocation=0.4, bucket_caps={"Y": 0.2})
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        remote = pool.submit(_construct_in_worker, limits).result(timeout=300)
    local = portcon.construct(FRAME, limits)
    np.testing.assert_allclose(remote.weights, local.weights, atol=1e-9)
    assert remote.limits == limits


def test_metrics_tables_are_copies() -> None:
    portfolio = portcon.construct(FRAME, {"max_bucket_allocation": 0.4})
    table = portfolio.metrics.bucket_exposure
    before = table.copy()
    table.loc["X", "exposure"] = 99.0
    table["cap"] = -1.0
    pd.testing.assert_frame_equal(portfolio.metrics.bucket_exposure, before)
    assert portfolio.to_dict()["metrics"]["bucket_exposure"]["X"]["exposure"] < 1
