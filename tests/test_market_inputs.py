"""Market data as a careless or hostile user gives it (issue 9): named errors, never foreign ones.

Each case goes through ``construct`` and, where a file can carry it, the command line (exit 2,
no output, inputs untouched).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError
from portcon.market import correlation_matrix
from tests.boundary import refused, write

ASSETS = ["A", "B", "C"]
SCORES = pd.Series([0.9, 0.8, 0.7], index=ASSETS)
COV = pd.DataFrame(np.diag([0.04, 0.09, 0.01]), index=ASSETS, columns=ASSETS)
RETURNS = pd.DataFrame(
    np.random.default_rng(0).normal(0.0, 0.01, (60, 3)),
    columns=ASSETS,
    index=pd.RangeIndex(60, name="date"),
)
MU = pd.Series([0.10, 0.05, 0.02], index=ASSETS)
MODES = ["min_variance", "risk_parity", "mean_variance", "max_sharpe", "kelly"]


def _as_object(frame: pd.DataFrame, cell: tuple[int, int], value: object) -> pd.DataFrame:
    changed = frame.astype(object)
    changed.iloc[cell] = value
    return changed


# name: (construct keyword arguments, limits, fragment)
CASES = {
    "covariance missing a column": (
        {"covariance": COV.drop(columns="C")},
        {},
        "no column for asset(s) C",
    ),
    "covariance columns labelled differently": (
        {"covariance": COV.set_axis(["a", "b", "c"], axis=1)},
        {},
        "labelled differently from its rows",
    ),
    **{
        f"all-zero covariance with {mode}": (
            {"covariance": COV * 0, "expected_returns": MU},
            {"sizing_mode": mode},
            "risk model is zero",
        )
        for mode in MODES
    },
    "all-zero covariance with a volatility cap": (
        {"covariance": COV * 0},
        {"max_portfolio_volatility": 0.1},
        "risk model is zero",
    ),
    "returns too small to estimate a risk model": (
        {"returns": RETURNS * 1e-200},
        {"sizing_mode": "min_variance"},
        "risk model is zero",
    ),
    "risk parity with a riskless asset": (
        {"covariance": pd.DataFrame(np.diag([0.04, 0.09, 0.0]), index=ASSETS, columns=ASSETS)},
        {"sizing_mode": "risk_parity"},
        "C have none",
    ),
    "covariance times 1e300": (
        {"covariance": COV * 1e300},
        {"sizing_mode": "min_variance"},
        "check the units",
    ),
    "covariance times 1e300 with a volatility cap": (
        {"covariance": COV * 1e300},
        {"max_portfolio_volatility": 0.1},
        "beyond ±1e+06",
    ),
    "returns times 1e200": (
        {"returns": RETURNS * 1e200},
        {"sizing_mode": "mean_variance"},
        "returns holds values up to",
    ),
    "expected returns listing an asset twice": (
        {"covariance": COV, "expected_returns": pd.concat([MU, pd.Series({"A": 0.3})])},
        {"sizing_mode": "mean_variance"},
        "lists 'A' more than once",
    ),
    "expected returns as text": (
        {"covariance": COV, "expected_returns": MU.astype(object).replace({0.05: "high"})},
        {"sizing_mode": "mean_variance"},
        "'high' in row 'B'",
    ),
    "expected returns as booleans": (
        {"covariance": COV, "expected_returns": MU > 0.03},
        {"sizing_mode": "mean_variance"},
        "True in row 'A'",
    ),
    "expected returns of 1e300": (
        {"covariance": COV, "expected_returns": MU * 1e300},
        {"sizing_mode": "mean_variance"},
        "expected_returns holds values",
    ),
    "covariance as a numpy array": ({"covariance": COV.to_numpy()}, {}, "got ndarray"),
    "covariance as a list": ({"covariance": COV.to_numpy().tolist()}, {}, "got list"),
    "factor model as text": ({"factor_model": "x"}, {}, "must be a portcon.FactorModel"),
    "covariance with text": ({"covariance": _as_object(COV, (1, 0), "x")}, {}, "'x' in row 'B'"),
    "complex covariance": ({"covariance": COV.astype(complex)}, {}, "not a real number"),
    "covariance listing an asset twice": (
        {
            "covariance": pd.DataFrame(
                np.eye(4) * 0.01, index=[*ASSETS, "A"], columns=[*ASSETS, "A"]
            )
        },
        {},
        "lists 'A' more than once",
    ),
    "returns listing an asset twice": (
        {"returns": RETURNS.set_axis(["A", "A", "B"], axis=1)},
        {},
        "lists 'A' more than once",
    ),
    "returns with text": ({"returns": _as_object(RETURNS, (3, 0), "x")}, {}, "'x' in row 3"),
    "an object that is not an estimator": (
        {"covariance": type("Fits", (), {"fit": lambda self, x: self})(), "returns": RETURNS},
        {},
        "could not be fitted",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_market_data_is_a_named_input_error(name: str) -> None:
    data, limits, fragment = CASES[name]
    with pytest.raises(InputError) as caught:
        portcon.construct(SCORES, limits, **data)
    assert fragment in str(caught.value)


def _csv(frame: pd.DataFrame | pd.Series) -> str:
    return frame.to_csv()


GOOD = "asset,score\nA,0.9\nB,0.8\nC,0.7\n"
FILES = {
    "covariance missing a column": ("--covariance", _csv(COV.drop(columns="C")), [], "C"),
    "covariance columns relabelled": (
        "--covariance",
        _csv(COV.set_axis(["a", "b", "c"], axis=1)),
        [],
        "labelled differently",
    ),
    "all-zero covariance": (
        "--covariance",
        _csv(COV * 0),
        ["--sizing-mode", "min_variance"],
        "risk model is zero",
    ),
    "covariance times 1e300": ("--covariance", _csv(COV * 1e300), [], "check the units"),
    "returns times 1e200": ("--returns", _csv(RETURNS * 1e200), [], "returns holds values"),
    "expected returns listing an asset twice": (
        "--expected-returns",
        "asset,mu\nA,0.1\nB,0.05\nC,0.02\nA,0.3\n",
        ["--covariance", "COV"],
        "'A' appears more than once",
    ),
    "semicolon-separated covariance": (
        "--covariance",
        COV.to_csv(sep=";"),
        [],
        "separated by semicolons",
    ),
    "covariance with a decimal comma": (
        "--covariance",
        "asset,A,B,C\nA,0,04,0,0\nB,0,0.09,0\nC,0,0,0.01\n",
        [],
        "decimal comma",
    ),
}


@pytest.mark.parametrize("name", list(FILES))
def test_bad_market_files_exit_2(tmp_path: Path, capsys, name: str) -> None:
    flag, content, extra, fragment = FILES[name]
    scores = write(tmp_path / "scores.csv", GOOD)
    market = write(tmp_path / "market.csv", content)
    covariance = write(tmp_path / "cov.csv", _csv(COV))
    extra = [str(covariance) if item == "COV" else item for item in extra]
    argv = ["construct", str(scores), flag, str(market), *extra, "--sizing-mode", "mean_variance"]
    if "--sizing-mode" in extra:
        argv = ["construct", str(scores), flag, str(market), *extra]
    assert fragment in refused(tmp_path, argv, [scores, market, covariance], capsys)


def test_good_market_data_in_any_label_order_is_aligned() -> None:
    order = ["C", "A", "B"]
    shuffled = COV.loc[order, ["B", "C", "A"]]
    result = portcon.construct(SCORES, {"sizing_mode": "min_variance"}, covariance=shuffled)
    expected = portcon.construct(SCORES, {"sizing_mode": "min_variance"}, covariance=COV)
    pd.testing.assert_series_equal(result.weights, expected.weights)


# name: (correlation, fragment)
CORRELATIONS = {
    "text": (pd.DataFrame([["a"] * 3] * 3, index=ASSETS, columns=ASSETS), "'a' in row 'A'"),
    "values of 5": (pd.DataFrame(np.full((3, 3), 5.0), index=ASSETS, columns=ASSETS), "outside"),
    "a numpy array": (np.eye(3), "got ndarray"),
    "a missing asset": (pd.DataFrame(np.eye(2), index=ASSETS[:2], columns=ASSETS[:2]), "C"),
    "NaN": (pd.DataFrame(np.full((3, 3), np.nan), index=ASSETS, columns=ASSETS), "NaN"),
    "a diagonal of 0.5": (pd.DataFrame(np.eye(3) / 2, index=ASSETS, columns=ASSETS), "diagonal"),
    "asymmetric": (
        pd.DataFrame([[1, 0.5, 0], [0.2, 1, 0], [0, 0, 1]], index=ASSETS, columns=ASSETS),
        "symmetric",
    ),
}


@pytest.mark.parametrize("name", list(CORRELATIONS))
def test_a_bad_correlation_is_a_named_input_error(name: str) -> None:
    given, fragment = CORRELATIONS[name]
    with pytest.raises(InputError) as caught:
        correlation_matrix(given, pd.Index(ASSETS))
    assert fragment in str(caught.value)


def test_a_good_correlation_is_aligned_on_the_assets() -> None:
    given = pd.DataFrame([[1, 0.5, 0], [0.5, 1, 0.1], [0, 0.1, 1]], index=ASSETS, columns=ASSETS)
    order = pd.Index(["C", "A", "B"])
    matrix = correlation_matrix(given.loc[["B", "C", "A"], ["A", "C", "B"]], order)
    np.testing.assert_array_equal(matrix, given.loc[order, order].to_numpy())
