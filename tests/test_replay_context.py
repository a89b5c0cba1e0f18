"""replay(context=...): a market context per date, against a fresh construct with that context
on the state the replay carried to the date (issue 11, item 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError, MarketContext

WEIGHT_TOLERANCE = 1e-9  # the same inputs and the same deterministic solve
DATES = ["2025-03-03", "2025-03-10", "2025-03-17"]
LIMITS = dict(
    max_single_position=0.2,
    max_total_positions=5,
    max_new_positions=1,
    min_score_threshold=0.5,
)
CONTEXTS = {
    "2025-03-10": MarketContext(regime_changed=True, regime="Crisis", previous_regime="Bull"),
    "2025-03-17": MarketContext(in_drawdown=True),
}


def _history() -> pd.DataFrame:
    scores = {
        "A": [0.9, 0.88, 0.87],
        "B": [0.8, 0.82, 0.8],
        "C": [0.75, 0.77, 0.79],
        "D": [0.7, 0.74, 0.78],
        "E": [0.65, 0.7, 0.76],
        "F": [0.6, 0.69, 0.75],
        "G": [0.55, 0.68, 0.74],
    }
    rows = [(d, a, s[k]) for k, d in enumerate(DATES) for a, s in scores.items()]
    return pd.DataFrame(rows, columns=["date", "asset", "score"])


INITIAL = pd.Series({"A": 0.3, "B": 0.3})


def _check_against_fresh_constructs(result: portcon.ReplayResult, contexts: dict) -> None:
    history = _history()
    for date in result.weights.index:
        key = f"{date:%Y-%m-%d}"
        scores = history[history["date"] == key].drop(columns="date").set_index("asset")
        state = result.states[result.states["date"] == date].set_index("asset")
        state = state.drop(columns="date")
        fresh = portcon.construct(scores.join(state), LIMITS, context=contexts.get(key))
        row = result.weights.loc[date, fresh.weights.index]
        np.testing.assert_allclose(row, fresh.weights, atol=WEIGHT_TOLERANCE, err_msg=key)


def test_a_context_per_date_applies_at_its_date_only() -> None:
    result = portcon.replay(_history(), LIMITS, initial=INITIAL, context=CONTEXTS)
    _check_against_fresh_constructs(result, CONTEXTS)
    counters = result.counters["context_adjustments"]
    # regime change: max_new_positions 1 → 2 and max_total_positions 5 → 6; drawdown: target
    assert counters.tolist() == [0, 2, 1]
    assert result.counters["opens"].loc["2025-03-10"] == 2  # two new names on the change
    assert result.counters["opens"].loc["2025-03-03"] <= 1
    assert result.weights.loc["2025-03-17"].sum() == pytest.approx(0.95 * 0.8, abs=1e-9)
    plain = portcon.replay(_history(), LIMITS, initial=INITIAL)
    assert plain.counters["context_adjustments"].sum() == 0
    assert plain.weights.loc["2025-03-17"].sum() == pytest.approx(0.95, abs=1e-9)


def test_the_forms_of_a_per_date_context_agree() -> None:
    mapping = portcon.replay(_history(), LIMITS, initial=INITIAL, context=CONTEXTS)
    series = pd.Series(CONTEXTS)
    frame = pd.DataFrame(
        {
            "date": ["2025-03-10", "2025-03-17"],
            "regime_changed": [True, False],
            "regime": ["Crisis", None],
            "in_drawdown": [False, True],
        }
    )
    dicts = {
        pd.Timestamp("2025-03-10"): {"regime_changed": True, "regime": "Crisis"},
        "2025-03-17": {"in_drawdown": True},
    }
    for given in (series, frame, dicts):
        other = portcon.replay(_history(), LIMITS, initial=INITIAL, context=given)
        pd.testing.assert_frame_equal(other.weights, mapping.weights, atol=WEIGHT_TOLERANCE)
        pd.testing.assert_frame_equal(other.counters, mapping.counters)


def test_one_context_applies_at_every_date() -> None:
    result = portcon.replay(
        _history(), LIMITS, initial=INITIAL, context={"volatility_regime": "high"}
    )
    assert result.counters["context_adjustments"].tolist() == [0, 0, 0]  # 1 new halved is 1
    drawdown = portcon.replay(
        _history(), LIMITS, initial=INITIAL, context=MarketContext(in_drawdown=True)
    )
    assert drawdown.counters["context_adjustments"].tolist() == [1, 1, 1]
    # the first date holds 3 names at the 20% cap (one new); after that the target binds
    np.testing.assert_allclose(drawdown.cash, [0.4, 1 - 0.76, 1 - 0.76], atol=1e-9)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"2025-03-11": MarketContext()}, r"2025-03-11 are not rebalance dates"),
        ({"2025-03-10": {"regim": "Crisis"}}, r"unknown context field 'regim'.*at 2025-03-10"),
        ({"soon": MarketContext()}, r"'soon' is not a date"),
        (pd.DataFrame({"regime": ["Crisis"]}), r"needs a 'date' column"),
        ({"2025-03-10": 3}, r"at 2025-03-10: expected a MarketContext"),
        ([MarketContext()], r"context must be a MarketContext"),
    ],
)
def test_bad_contexts_are_input_errors_naming_the_date(context, message: str) -> None:
    with pytest.raises(InputError, match=message):
        portcon.replay(_history(), LIMITS, initial=INITIAL, context=context)
