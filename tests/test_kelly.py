"""The single-bet Kelly calculator against brute force and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import portcon
from portcon import InputError

GRID = np.linspace(-2.0, 5.0, 700_001)


def _argmax_log_growth(p: float, win: float, loss: float) -> float:
    feasible = GRID[(1 + win * GRID > 0) & (1 - loss * GRID > 0)]
    growth = p * np.log1p(win * feasible) + (1 - p) * np.log1p(-loss * feasible)
    return float(feasible[np.argmax(growth)])


@pytest.mark.parametrize(("p", "win", "loss"), [(0.55, 1.0, 1.0), (0.6, 0.5, 0.3), (0.4, 2.0, 1.0)])
def test_discrete_kelly_maximises_expected_log_growth(p: float, win: float, loss: float) -> None:
    result = portcon.kelly(win_probability=p, average_win=win, average_loss=loss, fraction=0.5)
    assert result.kelly_fraction == pytest.approx(_argmax_log_growth(p, win, loss), abs=2e-5)
    assert result.adjusted_kelly == pytest.approx(0.5 * result.kelly_fraction)
    assert result.method == "discrete"


def test_continuous_kelly_is_excess_return_over_variance() -> None:
    result = portcon.kelly(expected_return=0.08, volatility=0.2, risk_free_rate=0.02, fraction=1.0)
    assert result.kelly_fraction == pytest.approx(0.06 / 0.04)
    assert result.bet_size == 1.0  # clipped at max_bet


@pytest.mark.parametrize(
    ("inputs", "keys"),
    [
        (dict(win_probability=0.55, average_win=0.8, average_loss=0.6), None),
        (dict(expected_return=0.07, volatility=0.25, risk_free_rate=0.01), None),
    ],
)
def test_sensitivities_match_finite_differences(inputs: dict, keys) -> None:
    result = portcon.kelly(**inputs)
    step = 1e-6
    for name, derivative in result.sensitivity.items():
        up = portcon.kelly(**{**inputs, name: inputs[name] + step}).kelly_fraction
        down = portcon.kelly(**{**inputs, name: inputs[name] - step}).kelly_fraction
        assert (up - down) / (2 * step) == pytest.approx(derivative, rel=1e-6), name


def test_bootstrap_interval_from_a_history() -> None:
    rng = np.random.default_rng(3)
    history = rng.normal(0.001, 0.02, 2000)
    result = portcon.kelly(returns=history, n_bootstrap=500)
    lower, upper = result.confidence_interval
    assert lower < result.kelly_fraction < upper
    assert result.kelly_fraction == pytest.approx(history.mean() / history.var(ddof=1))
    again = portcon.kelly(returns=history, n_bootstrap=500)
    assert again.confidence_interval == result.confidence_interval  # seeded
    short = portcon.kelly(returns=history[:200], n_bootstrap=500)
    assert np.diff(short.confidence_interval)[0] > upper - lower


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        (dict(win_probability=0.5, average_win=1.0), "give win_probability"),
        (dict(win_probability=1.5, average_win=1.0, average_loss=1.0), "win_probability"),
        (dict(expected_return=0.1, volatility=0.0), "volatility must be > 0"),
        (dict(expected_return=0.1, volatility=0.2, fraction=0), "fraction"),
        (dict(returns=[0.01, 0.02]), "at least 3"),
        (dict(returns=[0.01, 0.02, 0.03], expected_return=0.1), "not several"),
    ],
)
def test_bad_inputs(inputs: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        portcon.kelly(**inputs)


def test_clipping_and_an_interval_through_zero_are_flagged() -> None:
    big = portcon.kelly(expected_return=0.01, volatility=0.05, fraction=1.0, max_bet=1.0)
    assert big.adjusted_kelly == pytest.approx(4.0)
    assert big.clipped and big.bet_size == 1.0
    assert any("clipped to max_bet 1" in note for note in big.notes)
    assert any("per period" in note for note in big.notes)
    losing = portcon.kelly(win_probability=0.4, average_win=1.0, average_loss=1.0)
    assert losing.clipped and losing.bet_size == 0.0
    assert any("clipped to 0" in note for note in losing.notes)
    fine = portcon.kelly(win_probability=0.6, average_win=1.0, average_loss=1.0)
    assert not fine.clipped and fine.notes == ()
    rng = np.random.default_rng(0)
    noisy = portcon.kelly(returns=rng.normal(0.0002, 0.02, 250))
    low, high = noisy.confidence_interval
    assert low < 0 < high
    assert any("crosses zero" in note for note in noisy.notes)


@pytest.mark.parametrize(
    "inputs",
    [
        {"expected_return": 0.05, "volatility": 5e-324},
        {"expected_return": 1e300, "volatility": 1e-10},
        {"win_probability": 0.5, "average_win": 1e-320, "average_loss": 1.0},
        {"win_probability": 0.5, "average_win": 1.0, "average_loss": 1e187},
    ],
)
def test_inputs_that_underflow_or_overflow_are_refused(inputs: dict) -> None:
    with pytest.raises(InputError, match="no finite Kelly fraction"):
        portcon.kelly(**inputs)
