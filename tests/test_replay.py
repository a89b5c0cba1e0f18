"""portcon.replay against a naive step-by-step reference written here, on a small history and
on the shipped example history; the whipsaw scenario; the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError
from portcon.cli.main import main

EXAMPLES = Path(__file__).parent.parent / "examples"
WEIGHT_TOLERANCE = 1e-9  # same inputs, same deterministic solve: equal to well below this
SUM_TOLERANCE = 1e-12  # sums of a few dozen weights


def naive_replay(
    history: pd.DataFrame, limits: dict, returns: pd.DataFrame | None = None
) -> tuple[list[pd.DataFrame], list[pd.Series]]:
    """The issue's rules spelt out one date at a time, each step a fresh construct.

    Returns the state given at each date (current_weight, days_held, days_below_threshold)
    and the weights construct returned.
    """
    keep = limits.get("min_score_threshold", 0.6)
    weights: dict[str, float] = {}
    opened: dict[str, pd.Timestamp] = {}
    below_since: dict[str, pd.Timestamp] = {}
    states, targets = [], []
    previous = None
    dates = sorted(pd.to_datetime(history["date"]).unique())
    for date in dates:
        date = pd.Timestamp(date)
        rows = history[pd.to_datetime(history["date"]) == date]
        scores = rows.drop(columns="date").set_index("asset")
        if returns is not None and previous is not None and weights:
            index = pd.to_datetime(returns.index)
            window = returns[(index > previous) & (index <= date)]
            growth = {a: float(np.prod(1 + window[a].to_numpy())) - 1 for a in weights}
            total = sum(weights[a] * growth[a] for a in weights)
            weights = {a: weights[a] * (1 + growth[a]) / (1 + total) for a in weights}
        state = pd.DataFrame(0.0, index=scores.index, columns=["current_weight"])
        state["days_held"] = 0
        state["days_below_threshold"] = 0
        for asset in scores.index:
            if weights.get(asset, 0.0) <= 0:
                below_since.pop(asset, None)
                continue
            state.loc[asset, "current_weight"] = weights[asset]
            state.loc[asset, "days_held"] = (date - opened[asset]).days
            if scores.loc[asset, "score"] < keep:
                below_since.setdefault(asset, date)
                state.loc[asset, "days_below_threshold"] = (date - below_since[asset]).days
            else:
                below_since.pop(asset, None)
        target = portcon.construct(scores.join(state), limits).weights
        for asset, weight in target.items():
            if weight > 0 and weights.get(asset, 0.0) <= 0:
                opened[asset] = date
            if weight <= 0:
                opened.pop(asset, None)
                below_since.pop(asset, None)
        weights = {a: float(w) for a, w in target.items() if w > 0}
        states.append(state)
        targets.append(target)
        previous = date
    return states, targets


def _small_history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Irregular dates; B dips below 0.6 for two steps (grace), C for three (forced close),
    D enters late, A is steady."""
    dates = ["2025-01-06", "2025-01-08", "2025-01-15", "2025-01-20", "2025-02-03", "2025-02-04"]
    scores = {
        "A": [0.9, 0.9, 0.88, 0.9, 0.91, 0.9],
        "B": [0.7, 0.55, 0.57, 0.72, 0.7, 0.7],
        "C": [0.8, 0.55, 0.52, 0.5, 0.75, 0.8],
        "D": [0.3, 0.4, 0.5, 0.7, 0.75, 0.8],
    }
    rows = [(d, a, s[k]) for k, d in enumerate(dates) for a, s in scores.items()]
    history = pd.DataFrame(rows, columns=["date", "asset", "score"])
    rng = np.random.default_rng(3)
    returns = pd.DataFrame(
        rng.normal(0.0, 0.03, (30, 4)),
        index=pd.date_range("2025-01-06", periods=30, freq="D"),
        columns=list("ABCD"),
    )
    return history, returns


def test_carried_state_matches_the_naive_reference_exactly() -> None:
    history, returns = _small_history()
    limits = {"max_single_position": 0.4, "grace_period_days": 10, "grace_decay_rate": 0.8}
    result = portcon.replay(history, limits, returns=returns)
    states, targets = naive_replay(history, limits, returns)
    for k, date in enumerate(result.weights.index):
        got = result.states[result.states["date"] == date].set_index("asset")
        expected = states[k]
        assert got["days_held"].tolist() == expected["days_held"].tolist(), date
        below = expected["days_below_threshold"].tolist()
        assert got["days_below_threshold"].tolist() == below, date
        np.testing.assert_allclose(got["current_weight"], expected["current_weight"], atol=1e-15)
        row = result.weights.loc[date, targets[k].index]
        np.testing.assert_allclose(row, targets[k], atol=WEIGHT_TOLERANCE)
    # the scenario did what it was built to: B recovered inside grace, C was closed by it
    assert result.counters["grace"].sum() >= 2
    assert result.counters["forced_closes"].sum() == 1
    assert result.weights.loc["2025-01-20", "C"] == 0
    assert (result.weights["B"] > 0).all()
    assert result.pnl is not None and result.pnl.iloc[0] == 0.0


def test_a_held_asset_missing_from_a_date_is_an_error_naming_it_and_the_date() -> None:
    history, _ = _small_history()
    gone = history[~((history["asset"] == "A") & (history["date"] == "2025-01-15"))]
    with pytest.raises(InputError, match=r"2025-01-15: held asset\(s\) A have no score"):
        portcon.replay(gone, {"max_single_position": 0.4})


@pytest.fixture(scope="module")
def example() -> tuple[pd.DataFrame, pd.DataFrame, dict, portcon.ReplayResult]:
    history = pd.read_csv(EXAMPLES / "history.csv")
    returns = pd.read_csv(EXAMPLES / "history_returns.csv", index_col="date")
    limits = {
        "max_single_position": 0.08,
        "min_score_new_position": 0.65,
        "grace_period_days": 21,
        "grace_decay_rate": 0.8,
        "min_confidence_new": 0.7,
    }
    return history, returns, limits, portcon.replay(history, limits, returns=returns)


def test_every_step_of_the_example_equals_a_fresh_construct(example) -> None:
    history, returns, limits, result = example
    states, targets = naive_replay(history, limits, returns)
    assert len(targets) == 52
    for k, date in enumerate(result.weights.index):
        got = result.states[result.states["date"] == date].set_index("asset")
        assert got["days_held"].tolist() == states[k]["days_held"].tolist(), date
        assert got["days_below_threshold"].tolist() == states[k]["days_below_threshold"].tolist(), (
            date
        )
        row = result.weights.loc[date, targets[k].index]
        np.testing.assert_allclose(row, targets[k], atol=WEIGHT_TOLERANCE)


def test_example_counters_agree_with_the_trades(example) -> None:
    history, _, limits, result = example
    trades, counters = result.trades, result.counters
    by_date = trades.groupby("date")
    for action, column in [("open", "opens"), ("close", "closes"), ("increase", "increases")]:
        counted = by_date["action"].apply(lambda a, act=action: int((a == act).sum()))
        assert counted.reindex(counters.index, fill_value=0).tolist() == counters[column].tolist()
    assert counters["positions"].tolist() == (result.weights > 0).sum(axis=1).tolist()
    turnover = by_date["change"].apply(lambda c: c.abs().sum() / 2)
    np.testing.assert_allclose(result.turnover, turnover, atol=SUM_TOLERANCE)
    costs = history.set_index(["date", "asset"])["cost_bps"]
    keys = list(zip(trades["date"].dt.strftime("%Y-%m-%d"), trades["asset"], strict=True))
    naive_cost = trades["change"].abs().to_numpy() * costs.loc[keys].to_numpy() / 1e4
    np.testing.assert_allclose(result.costs, pd.Series(naive_cost).groupby(trades["date"]).sum())
    np.testing.assert_allclose(result.cash, 1 - result.weights.sum(axis=1), atol=SUM_TOLERANCE)
    # round trips by hand from the weights: opened (0 → >0) then closed (>0 → 0) later
    trips, held_since = 0, {}
    for date, row in result.weights.iterrows():
        for asset, weight in row.items():
            if weight > 0 and asset not in held_since:
                held_since[asset] = date
            elif weight <= 0 and asset in held_since:
                held_since.pop(asset)
                trips += 1
    assert trips == len(result.round_trips) == counters["round_trips"].sum() > 0
    assert counters["forced_closes"].sum() <= counters["closes"].sum()
    assert counters["grace"].sum() > 0 and counters["rejected_entry"].sum() > 0
    score = history.set_index(["date", "asset"])["score"]
    entry = limits["min_score_new_position"]
    for _, trade in trades[trades["action"] == "open"].iterrows():
        assert score[(f"{trade['date']:%Y-%m-%d}", trade["asset"])] >= entry


def _whipsaw_history(steps: int = 12) -> pd.DataFrame:
    dates = pd.date_range("2025-01-03", periods=steps, freq="7D").strftime("%Y-%m-%d")
    others = {"X": 0.9, "Y": 0.85, "Z": 0.8}
    rows = []
    for k, date in enumerate(dates):
        rows.append((date, "W", 0.61 if k % 2 == 0 else 0.59))
        rows += [(date, asset, score) for asset, score in others.items()]
    return pd.DataFrame(rows, columns=["date", "asset", "score"])


def test_whipsaw_band_and_grace_stop_the_round_trips() -> None:
    history = _whipsaw_history()
    base = {"max_single_position": 0.3}
    plain = portcon.replay(history, base)
    assert plain.counters["opens"].tolist()[1:] == [0, 1] * 5 + [0]  # W reopens every 0.61
    assert plain.counters["closes"].tolist()[1:] == [1, 0] * 5 + [1]  # and closes every 0.59
    assert len(plain.round_trips) == 6 and set(plain.round_trips["asset"]) == {"W"}
    band = portcon.replay(history, {**base, "min_score_new_position": 0.65})
    grace = portcon.replay(history, {**base, "grace_period_days": 14})
    assert len(band.round_trips) == 0 and (band.weights["W"] == 0).all()
    assert len(grace.round_trips) == 0 and (grace.weights["W"] > 0).all()
    assert grace.counters["grace"].sum() == 6  # every 0.59 week is grace day 0
    assert band.turnover.iloc[1:].sum() < 0.2 * plain.turnover.iloc[1:].sum()


def test_cli_writes_the_files(tmp_path) -> None:
    history, returns = _small_history()
    history.to_csv(tmp_path / "h.csv", index=False)
    returns.to_csv(tmp_path / "r.csv")
    out = tmp_path / "out"
    code = main(
        [
            *("replay", str(tmp_path / "h.csv"), "--returns", str(tmp_path / "r.csv")),
            *("--max-single-position", "0.4", "--grace-period-days", "10", "-o", str(out), "-q"),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "replay.png",
        "summary.csv",
        "trades.csv",
        "weights.csv",
    ]
    assert (out / "replay.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    expected = portcon.replay(
        history, {"max_single_position": 0.4, "grace_period_days": 10}, returns=returns
    )
    weights = pd.read_csv(out / "weights.csv", index_col="date", parse_dates=True)
    pd.testing.assert_frame_equal(weights, expected.weights, check_names=False, check_freq=False)
    summary = pd.read_csv(out / "summary.csv", index_col="date")
    assert summary["opens"].sum() == expected.counters["opens"].sum()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,asset\n2025-01-03,A\n", "missing column(s) score"),
        ("date,asset,score\n2025-01-03,A,0.7\n2025-13-40,A,0.7\n", "line 3, column 'date'"),
        ("date,asset,score\n2025-01-03,A,0.7\n2025-01-03,B,x\n", "line 3, column 'score'"),
        (
            "date,asset,score\n2025-01-03,A,0.7\n2025-01-03,B,0.8\n2025-01-03,A,0.9\n",
            "asset A is given twice on 2025-01-03",
        ),
    ],
)
def test_cli_bad_history_exits_2_naming_the_place_and_writes_nothing(
    tmp_path, capsys, text, message
) -> None:
    (tmp_path / "h.csv").write_text(text)
    out = tmp_path / "out"
    assert main(["replay", str(tmp_path / "h.csv"), "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert message in error
    if "twice" in message:
        assert "line 2" in error and "line 4" in error
    assert not out.exists()
