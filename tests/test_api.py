"""The public API: exports, input handling, the Portfolio object."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError, LimitsError, PortconError


def test_all_is_complete_and_importable() -> None:
    public = {
        name
        for name in dir(portcon)
        if not name.startswith("_") and not inspect.ismodule(getattr(portcon, name))
    }
    assert public == set(portcon.__all__)
    for name in portcon.__all__:
        assert getattr(portcon, name) is not None


def test_error_tree() -> None:
    for error in (
        InputError,
        LimitsError,
        portcon.InfeasibleError,
        portcon.SolverError,
        portcon.InternalError,
    ):
        assert issubclass(error, PortconError)
    assert portcon.SolverError.retryable and not InputError.retryable
    assert (InputError.exit_code, portcon.InfeasibleError.exit_code) == (2, 3)
    assert portcon.SolverError.exit_code == 4
    assert portcon.InternalError.exit_code == 5 and not portcon.InternalError.retryable


def test_an_unforeseen_failure_is_an_internal_error_never_a_bare_exception() -> None:
    """A defect inside portcon reaches the caller as InternalError, with its cause chained."""

    class Explodes(pd.Series):
        def rename(self, *args: object, **kwargs: object) -> pd.Series:
            raise ZeroDivisionError("boom")

    with pytest.raises(portcon.InternalError) as caught:
        portcon.construct(Explodes([0.9, 0.8], index=["a", "b"]))
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


@pytest.mark.parametrize(
    ("scores", "fragment"),
    [
        (pd.Series([], dtype=float), "empty"),
        (pd.Series([0.7, np.inf], index=["a", "b"]), "b"),
        (pd.Series([0.7, 0.8], index=["a", "a"]), "duplicate"),
        (pd.DataFrame({"score": [0.7], "sectr": ["x"]}, index=["a"]), "did you mean 'sector'"),
        (pd.DataFrame({"value": [0.7]}, index=["a"]), "missing column 'score'"),
        ([0.1, 0.2], "pandas Series"),
    ],
)
def test_bad_scores_raise_input_error(scores, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        portcon.construct(scores)
    assert fragment in str(caught.value)


def test_inputs_are_not_modified_and_order_is_kept() -> None:
    frame = pd.DataFrame(
        {"score": [0.7, 0.95, 0.8], "bucket": ["x", "y", "x"], "current_weight": [0.2, 0, 0.1]},
        index=["zeta", "alpha", "mid"],
    )
    before = frame.copy(deep=True)
    portfolio = portcon.construct(frame, dict(max_single_position=0.5))
    pd.testing.assert_frame_equal(frame, before)
    assert list(portfolio.weights.index) == ["zeta", "alpha", "mid"]
    assert list(portfolio.explanations.index) == ["zeta", "alpha", "mid"]
    trades = portfolio.trades
    assert trades is not None
    expected = (portfolio.weights - frame["current_weight"])[trades.index]
    np.testing.assert_allclose(trades["change"], expected, atol=1e-10)


def test_portfolio_is_immutable_and_serialisable() -> None:
    scores = pd.Series({"a": 0.9, "b": 0.8, "c": 0.3})
    portfolio = portcon.construct(scores)
    weights = portfolio.weights
    weights.iloc[0] = 99.0
    assert portfolio.weights.iloc[0] != 99.0
    with pytest.raises(AttributeError):
        portfolio.cash = 0.0  # type: ignore[misc]
    payload = json.loads(json.dumps(portfolio.to_dict(), allow_nan=False))
    assert payload["weights"]["c"] == 0.0
    assert payload["explanations"][2]["residual"] is None  # excluded: no KKT identity
    frame = portfolio.to_frame()
    assert frame.index[-1] == "CASH"
    assert frame["weight"].sum() == pytest.approx(1.0, abs=1e-12)


def test_metrics_match_their_definitions() -> None:
    scores = pd.DataFrame(
        {"score": [0.9, 0.8, 0.7, 0.65], "sector": ["s", "s", "t", "t"]}, index=list("abcd")
    )
    portfolio = portcon.construct(
        scores, dict(sizing_mode="score_weighted", max_sector_allocation=0.5)
    )
    weights = portfolio.weights.to_numpy()
    shares = weights / weights.sum()
    metrics = portfolio.metrics
    assert metrics.hhi == pytest.approx(float(np.sum(shares**2)), abs=1e-12)
    assert metrics.effective_positions == pytest.approx(1 / metrics.hhi)
    assert metrics.positions == 4 and metrics.largest_position == pytest.approx(weights.max())
    assert metrics.sector_exposure.loc["s", "exposure"] == pytest.approx(weights[:2].sum())
    assert metrics.bucket_exposure is None


def test_sensitivity_reads_as_documented() -> None:
    scores = pd.Series({f"x{i}": 0.6 + 0.04 * i for i in range(10)})
    portfolio = portcon.construct(
        scores, dict(sizing_mode="score_weighted", max_single_position=0.11)
    )
    price = portfolio.sensitivity().loc["max_single_position", "shadow_price"]
    step = 1e-4
    up, down = (
        portcon.construct(scores, dict(sizing_mode="score_weighted", max_single_position=cap))
        for cap in (0.11 + step, 0.11 - step)
    )
    assert price > 0
    assert (down.objective - up.objective) / 2 == pytest.approx(step * price, rel=1e-3)
