"""Rebalancing a held book: the seed's scenarios, against a naive step-by-step reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InputError, LimitsError

TOLERANCE = 1e-9


def _book(scores: dict[str, float], current: dict[str, float], **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"score": scores})
    frame["current_weight"] = pd.Series(current).reindex(frame.index).fillna(0.0)
    for name, values in columns.items():
        frame[name] = pd.Series(values).reindex(frame.index).fillna(0)
    return frame


def test_held_names_keep_their_slots_before_new_ones_open() -> None:
    """The issue's case: three held names scoring 0.66–0.70 are not displaced by new ones."""
    held = {"H1": 0.70, "H2": 0.68, "H3": 0.66}
    new = {f"N{k}": 0.95 - 0.02 * k for k in range(6)}
    frame = _book({**held, **new}, {"H1": 0.3, "H2": 0.3, "H3": 0.3})
    limits = {"max_total_positions": 4, "max_new_positions": 3, "max_single_position": 0.5}
    portfolio = portcon.construct(frame, limits)
    kept = set(portfolio.weights[portfolio.weights > 0].index)
    assert set(held) <= kept
    assert len(kept) == 4  # one new slot: min(max_new_positions, 4 − 3 kept)
    assert "kept: held, score 0.70 ≥ 0.60" in portfolio.explanations.loc["H1", "reason"]
    without = portcon.construct(frame, {**limits, "prefer_held": False})
    assert not set(held) <= set(without.weights[without.weights > 0].index)


def test_a_young_position_keeps_its_weight_exactly() -> None:
    frame = _book(
        {"A": 0.9, "B": 0.62, "C": 0.8}, {"A": 0.2, "B": 0.07}, days_held={"A": 30, "B": 2}
    )
    portfolio = portcon.construct(frame, {"min_holding_days": 3, "max_single_position": 0.6})
    assert portfolio.weights["B"] == pytest.approx(0.07, abs=TOLERANCE)
    assert "held: day 2 of 3 minimum holding days" in portfolio.explanations.loc["B", "reason"]


def test_a_fixed_weight_is_held_exactly_whatever_the_score() -> None:
    frame = pd.DataFrame(
        {"score": [0.9, 0.8, 0.3], "fixed_weight": [np.nan, np.nan, 0.12]}, index=list("ABC")
    )
    portfolio = portcon.construct(frame, {"max_single_position": 0.6})
    assert portfolio.weights["C"] == pytest.approx(0.12, abs=TOLERANCE)
    assert "fixed_weight" in portfolio.explanations.loc["C", "binding"]


def naive_grace_step(
    score: float, current: float, days_below: int, keep: float, grace: int, rate: float
) -> tuple[float | None, int]:
    """The seed's grace rule for one held asset: (cap or None if closed, next days_below)."""
    if score >= keep:
        return np.inf, 0
    if days_below >= grace:
        return None, days_below + 1
    return current * (rate if days_below else 1.0), days_below + 1


def test_grace_decays_day_by_day_then_closes_and_recovery_ends_it() -> None:
    """A held name scoring below the keep threshold, rebalanced daily, against the reference."""
    scores = [0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.70]
    limits = {"grace_period_days": 5, "grace_decay_rate": 0.8, "max_single_position": 0.5}
    weight, below = 0.30, 0
    others = {"X": 0.9}  # one other name capped at 50%: G always wants more than its cap
    for day, score in enumerate(scores[:-1]):
        cap, next_below = naive_grace_step(score, weight, below, 0.6, 5, 0.8)
        frame = _book({"G": score, **others}, {"G": weight}, days_below_threshold={"G": below})
        portfolio = portcon.construct(frame, limits)
        got = float(portfolio.weights["G"])
        reason = portfolio.explanations.loc["G", "reason"]
        if cap is None:
            assert got == 0.0, day
            assert "closed" in reason and "grace_period_days 5" in reason
            break
        assert got <= cap + TOLERANCE, day
        assert got == pytest.approx(cap, abs=1e-7), day  # it wants more: the cap binds
        assert f"grace day {below} of 5" in reason
        weight, below = got, next_below
    recovered = _book({"G": scores[-1], **others}, {"G": 0.1}, days_below_threshold={"G": 3})
    portfolio = portcon.construct(recovered, limits)
    assert "kept: held" in portfolio.explanations.loc["G", "reason"]
    assert portfolio.weights["G"] > 0.1


def test_entry_and_keep_thresholds_stop_the_whipsaw() -> None:
    """A score wobbling 0.61 / 0.59 around the keep threshold never opens a new position
    (entry 0.65) and never closes a held one (grace)."""
    limits = {
        "min_score_new_position": 0.65,
        "grace_period_days": 5,
        "max_single_position": 0.4,
    }
    others = {"X": 0.9, "Y": 0.85, "Z": 0.8}
    for held_weight, days_below in ((0.0, 0), (0.2, 0)):
        weight, below, changes = held_weight, days_below, 0
        for step in range(6):
            score = 0.61 if step % 2 == 0 else 0.59
            frame = _book({"W": score, **others}, {"W": weight}, days_below_threshold={"W": below})
            got = float(portcon.construct(frame, limits).weights["W"])
            changes += (got > 0) != (weight > 0)
            below = below + 1 if score < 0.6 else 0
            weight = got
        assert changes == 0


def test_held_names_are_rescored_never_dropped_for_confidence() -> None:
    """Zombie positions: a held name with a weak trend signal is re-scored and kept; a new one
    with the same signal is not opened."""
    frame = _book(
        {"H": 0.8, "N": 0.8, "X": 0.9},
        {"H": 0.2},
        trending_confidence={"H": 0.3, "N": 0.3, "X": 0.9},
    )
    portfolio = portcon.construct(frame, {"min_confidence_new": 0.7, "max_single_position": 0.6})
    assert portfolio.weights["H"] > 0
    assert portfolio.weights["N"] == 0
    assert "min_confidence_new" in portfolio.explanations.loc["N", "reason"]


def test_the_current_book_can_come_apart_from_the_scores() -> None:
    scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    current = pd.DataFrame({"current_weight": [0.2, 0.1]}, index=["A", "B"])
    portfolio = portcon.construct(scores, {"max_single_position": 0.5}, current=current)
    assert portfolio.trades is not None
    with pytest.raises(InputError, match="held asset\\(s\\) D have no score"):
        portcon.construct(scores, {}, current=pd.Series({"A": 0.2, "D": 0.1}))


def test_rules_that_need_a_column_say_so() -> None:
    frame = _book({"A": 0.9, "B": 0.8}, {"A": 0.2})
    with pytest.raises(LimitsError, match="days_held"):
        portcon.construct(frame, {"min_holding_days": 3})
    with pytest.raises(LimitsError, match="trending_confidence"):
        portcon.construct(frame, {"min_confidence_new": 0.7})


def test_trades_say_what_to_do_in_which_order_why_and_at_what_cost() -> None:
    frame = _book(
        {"KEEP": 0.9, "SELL": 0.4, "BUY": 0.85, "TRIM": 0.7},
        {"KEEP": 0.3, "SELL": 0.2, "TRIM": 0.45},
        cost_bps={"KEEP": 10, "SELL": 10, "BUY": 20, "TRIM": 10},
    )
    portfolio = portcon.construct(frame, {"max_single_position": 0.3, "target_allocation": 0.9})
    trades = portfolio.trades
    assert trades is not None
    assert dict(trades["action"]) == {
        "KEEP": "hold",
        "SELL": "close",
        "BUY": "open",
        "TRIM": "decrease",
    }
    assert list(trades.sort_values("priority").index[:2]) == ["SELL", "TRIM"]
    assert "score 0.40 below min_score_threshold" in trades.loc["SELL", "reason"]
    expected_cost = (0.2 * 10 + 0.15 * 10 + 0.3 * 20) / 1e4
    assert trades["cost"].sum() == pytest.approx(expected_cost, abs=1e-12)
    assert portfolio.trading_cost == pytest.approx(expected_cost, abs=1e-12)
    naive_turnover = (
        (portfolio.weights - frame["current_weight"]).abs().sum() / 2  # a naive reference
    )
    assert portfolio.turnover == pytest.approx(naive_turnover, abs=1e-12)


def _costly_book(scores: dict[str, float]) -> pd.DataFrame:
    current = {"A": 0.30, "B": 0.25, "C": 0.20, "D": 0.20}
    return _book(scores, current, cost_bps={a: 50 for a in scores})


COSTLY = {"max_single_position": 0.5, "target_allocation": 0.95, "cost_aversion": 60.0}


def test_linear_costs_leave_weights_inside_the_band_where_they_are() -> None:
    scores = {"A": 0.9, "B": 0.8, "C": 0.75, "D": 0.7}
    portfolio = portcon.construct(_costly_book(scores), COSTLY)
    at_current = (portfolio.weights - pd.Series({"A": 0.3, "B": 0.25, "C": 0.2, "D": 0.2})).abs()
    assert (at_current < 1e-7).sum() >= 2  # some names do not trade at all
    assert portfolio.explanations["residual"].abs().max() < 1e-6  # KKT with the cost term
    held = portfolio.explanations.loc[at_current[at_current < 1e-7].index, "reason"]
    assert held.str.contains("no-trade band").all()
    free = portcon.construct(_costly_book(scores), {**COSTLY, "cost_aversion": 0.0})
    assert portfolio.turnover < free.turnover


@pytest.mark.parametrize("seed", range(8))
def test_score_moves_inside_the_band_change_no_weight(seed: int) -> None:
    """The band's width is what the KKT conditions say: each untraded name's marginal lies
    strictly inside [−κc, κc]; moving scores so little that it stays inside moves nothing."""
    scores = {"A": 0.9, "B": 0.8, "C": 0.75, "D": 0.7}
    base = portcon.construct(_costly_book(scores), COSTLY)
    rng = np.random.default_rng(seed)
    nudged = {a: s * (1 + rng.uniform(-1e-4, 1e-4)) for a, s in scores.items()}
    moved = portcon.construct(_costly_book(nudged), COSTLY)
    untraded = (base.weights - pd.Series({"A": 0.3, "B": 0.25, "C": 0.2, "D": 0.2})).abs() < 1e-9
    assert untraded.any()
    np.testing.assert_allclose(moved.weights[untraded], base.weights[untraded], atol=1e-9)


def test_a_young_position_that_drifted_above_its_cap_is_frozen_at_the_cap() -> None:
    frame = _book({"A": 0.9, "B": 0.8}, {"A": 0.12, "B": 0.3}, days_held={"A": 1, "B": 40})
    portfolio = portcon.construct(frame, {"min_holding_days": 3, "max_single_position": 0.1})
    assert portfolio.weights["A"] == pytest.approx(0.1, abs=TOLERANCE)
    assert "it had drifted to 12.0%" in portfolio.explanations.loc["A", "reason"]
