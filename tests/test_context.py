"""MarketContext: each dynamic-limit rule of the rebalancer with the seed's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.context import MarketContext, apply_context
from portcon.report.check import violations
from portcon.universe import Universe

TOLERANCE = 1e-9


def _book(held_in_risk: float = 0.5) -> pd.DataFrame:
    """12 assets over 4 buckets; a current book of four names."""
    buckets = ["Risk"] * 3 + ["Defensive"] * 3 + ["International"] * 3 + ["Commodities"] * 3
    current = np.zeros(12)
    current[[0, 1]] = held_in_risk / 2
    current[[3, 4]] = (0.9 - held_in_risk) / 2
    return pd.DataFrame(
        {"score": np.linspace(0.95, 0.62, 12), "bucket": buckets, "current_weight": current},
        index=[f"A{i:02d}" for i in range(12)],
    )


def _effective(limits: dict, context: MarketContext, frame: pd.DataFrame | None = None):
    universe = Universe.from_scores(_book() if frame is None else frame)
    return apply_context(portcon.Limits(**limits), context, universe)


def test_regime_change_doubles_new_positions_and_raises_the_total_by_a_fifth() -> None:
    limits, changes = _effective(
        dict(max_new_positions=3, max_total_positions=10), MarketContext(regime_changed=True)
    )
    assert (limits.max_new_positions, limits.max_total_positions) == (6, 12)
    assert [str(c) for c in changes] == [
        "regime change: max_new_positions 3 → 6",
        "regime change: max_total_positions 10 → 12",
    ]


def test_regime_change_uses_the_aggression_field_and_rounds_down() -> None:
    limits, _ = _effective(
        dict(max_new_positions=3, max_total_positions=12, regime_change_aggression=2.5),
        MarketContext(regime_changed=True, previous_regime="Goldilocks", regime="Crisis"),
    )
    assert (limits.max_new_positions, limits.max_total_positions) == (7, 14)  # int(7.5), int(14.4)


@pytest.mark.parametrize(("new", "expected"), [(3, 1), (4, 2), (1, 1)])
def test_high_volatility_halves_new_positions_at_least_one(new: int, expected: int) -> None:
    limits, _ = _effective(dict(max_new_positions=new), MarketContext(volatility_regime="high"))
    assert limits.max_new_positions == expected


def test_concentrated_book_allows_at_least_two_new_positions() -> None:
    frame = _book(held_in_risk=0.8)  # Risk holds 0.8 of a 0.9 book: 89% > 70%
    limits, changes = _effective(dict(max_new_positions=1), MarketContext(), frame)
    assert limits.max_new_positions == 2
    assert str(changes[0]).startswith("concentration (largest bucket 89% of the book)")
    calm, _ = _effective(dict(max_new_positions=1), MarketContext(), _book(held_in_risk=0.5))
    assert calm.max_new_positions == 1  # 56% ≤ 70%


def test_drawdown_scales_the_target_and_the_portfolio_follows() -> None:
    frame = _book()
    portfolio = portcon.construct(
        frame, dict(max_single_position=0.15), context={"in_drawdown": True}
    )
    assert portfolio.limits.target_allocation == pytest.approx(0.95 * 0.8)
    assert portfolio.weights.sum() == pytest.approx(0.76, abs=TOLERANCE)
    assert "drawdown: target_allocation 0.95 → 0.76" in portfolio.notes


def test_regime_aware_correlation_moves_the_limit_as_the_seed_moves_correlations() -> None:
    crisis, _ = _effective(dict(correlation_limit=0.8), MarketContext(regime="Crisis"))
    calm, _ = _effective(dict(correlation_limit=0.8), MarketContext(regime="Goldilocks"))
    off, _ = _effective(
        dict(correlation_limit=0.8, regime_aware_correlation=False), MarketContext(regime="Crisis")
    )
    assert crisis.correlation_limit == pytest.approx(0.8 / 1.3)
    assert calm.correlation_limit == 1.0  # 0.8 × c ≤ 0.8 for every c: no pair excluded
    assert off.correlation_limit == 0.8


def test_a_pair_at_0_7_is_split_in_a_crisis_and_kept_in_normal_times() -> None:
    frame = pd.DataFrame({"score": [0.9, 0.85, 0.8]}, index=["A", "B", "C"])
    correlation = pd.DataFrame(np.eye(3), index=frame.index, columns=frame.index)
    correlation.loc["A", "B"] = correlation.loc["B", "A"] = 0.7
    limits = dict(correlation_limit=0.8, max_single_position=0.3)
    normal = portcon.construct(frame, limits, correlation=correlation)
    crisis = portcon.construct(
        frame, limits, correlation=correlation, context=MarketContext(regime="Crisis")
    )
    assert (normal.weights > 0).sum() == 3
    assert crisis.weights["B"] == 0 and crisis.weights["A"] > 0  # 0.7 × 1.3 = 0.91 > 0.8


def test_dynamic_bucket_slots_split_the_total_with_one_more_for_favoured() -> None:
    limits, changes = _effective(
        dict(max_total_positions=10, max_positions_per_bucket=4, dynamic_bucket_slots=True),
        MarketContext(favoured_buckets=("Risk",)),
    )
    assert dict(limits.bucket_position_limits) == {
        "Risk": 3,
        "Defensive": 2,
        "International": 2,
        "Commodities": 2,
    }
    assert changes[0].field == "bucket_position_limits"


def test_dynamic_slots_are_at_least_one_and_at_most_the_bucket_maximum() -> None:
    limits, _ = _effective(
        dict(max_total_positions=3, max_positions_per_bucket=1, dynamic_bucket_slots=True),
        MarketContext(favoured_buckets=("Risk",)),
    )
    assert dict(limits.bucket_position_limits) == {  # 3 // 4 = 0; 4 buckets > 3 slots
        "Risk": 1,
        "Defensive": 0,
        "International": 0,
        "Commodities": 0,
    }


def test_context_changes_reach_the_portfolio_and_hold() -> None:
    frame = _book()
    portfolio = portcon.construct(
        frame,
        dict(max_new_positions=1, max_total_positions=5, max_single_position=0.3),
        context=MarketContext(regime_changed=True),
    )
    assert portfolio.limits.max_new_positions == 2
    assert "regime change: max_new_positions 1 → 2" in portfolio.notes
    new = (portfolio.weights > 0) & (frame["current_weight"] == 0)
    assert new.sum() <= 2
    universe = Universe.from_scores(frame)
    assert violations(portfolio.weights.to_numpy(), universe, portfolio.limits) == []


def test_without_a_book_max_new_positions_is_off_and_said() -> None:
    frame = _book().drop(columns="current_weight")
    portfolio = portcon.construct(frame, dict(max_new_positions=2, max_single_position=0.2))
    assert portfolio.limits.max_new_positions is None
    assert (portfolio.weights > 0).sum() > 2
    assert any(n.startswith("no current book") for n in portfolio.notes)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"regime_chnaged": True}, "did you mean 'regime_changed'"),
        ({"volatility_regime": "HIGH!"}, "volatility_regime must be one of normal, high"),
        ({"in_drawdown": "yes"}, "in_drawdown must be true or false"),
        ({"favoured_buckets": "Risk"}, "favoured_buckets must be a list"),
    ],
)
def test_bad_context_is_an_input_error_naming_the_field(fields: dict, message: str) -> None:
    with pytest.raises(portcon.InputError, match=message):
        portcon.construct(pd.Series({"a": 0.9}), context=fields)


def test_context_reads_from_toml(tmp_path) -> None:
    path = tmp_path / "context.toml"
    path.write_text('regime_changed = true\nregime = "Crisis"\nfavoured_buckets = ["Risk"]\n')
    assert MarketContext.from_toml(path) == MarketContext(
        regime_changed=True, regime="Crisis", favoured_buckets=("Risk",)
    )
