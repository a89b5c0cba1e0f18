"""Count limits priced by re-solving: one more / one fewer slot against a brute force over
every support (score-weighted water-filling written here, cash penalty as the objective's)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import portcon

EXACT = dict(mip_gap=1e-9, mip_time_limit=60)
CAP, TARGET = 0.25, 0.95


def _fill(shares: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    """argmin ½Σw²/m + penalty·(TARGET − Σw) over 0 ≤ w ≤ CAP, Σw ≤ TARGET (bisection)."""
    if len(shares) * CAP <= TARGET:
        weights = np.full(len(shares), CAP)
    else:
        low, high = 0.0, penalty
        for _ in range(200):
            level = (low + high) / 2
            low, high = (
                (low, level) if np.minimum(level * shares, CAP).sum() > TARGET else (level, high)
            )
        weights = np.minimum(low * shares, CAP)
    return weights, float(0.5 * np.sum(weights**2 / shares) + penalty * (TARGET - weights.sum()))


def _best(
    frame: pd.DataFrame, total: int | None, per_bucket: int | None
) -> tuple[float, pd.Series]:
    scores = frame["score"].to_numpy()
    shares = scores / scores.sum()
    penalty = 1.0 + 1.0 / shares.min()
    buckets = frame["bucket"].to_numpy()
    best: tuple[float, np.ndarray | None] = (np.inf, None)
    for size in range(1, len(scores) + 1):
        if total is not None and size > total:
            break
        for support in map(list, itertools.combinations(range(len(scores)), size)):
            if (
                per_bucket is not None
                and max(np.sum(buckets[support] == b) for b in set(buckets)) > per_bucket
            ):
                continue
            weights, value = _fill(shares[support], penalty)
            if value < best[0] - 1e-12:
                full = np.zeros(len(scores))
                full[support] = weights
                best = (value, full)
    assert best[1] is not None
    return best[0], pd.Series(best[1], index=frame.index)


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.uniform(0.3, 1.0, 9),
            "bucket": [f"B{k}" for k in rng.integers(0, 3, 9)],
        },
        index=[f"n{i}" for i in range(9)],
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "field, start", [("max_total_positions", 4), ("max_positions_per_bucket", 1)]
)
def test_a_slot_each_way_equals_the_brute_force(seed: int, field: str, start: int) -> None:
    frame = _frame(seed)
    limits = {
        "sizing_mode": "score_weighted",
        "min_score_threshold": None,
        "max_single_position": CAP,
        "target_allocation": TARGET,
        field: start,
        **EXACT,
    }
    portfolio = portcon.construct(frame, limits)
    prices = {price.new_value: price for price in portfolio.count_prices() if price.field == field}
    now_value, now = _best(frame, **{_arg(field): start, _other(field): None})
    assert portfolio.objective == pytest.approx(now_value, rel=1e-6)
    for moved in (start + 1, start - 1):
        if moved < 1:
            continue
        price = prices[moved]
        value, then = _best(frame, **{_arg(field): moved, _other(field): None})
        assert price.objective_change == pytest.approx(value - now_value, rel=1e-6, abs=1e-8)
        entered = {a for a in frame.index if then[a] > 1e-6 and now[a] <= 1e-6}
        left = {a for a in frame.index if now[a] > 1e-6 and then[a] <= 1e-6}
        assert {a for a, _ in price.entered} == entered
        assert {a for a, _ in price.left} == left
        for asset, weight in price.entered:
            assert weight == pytest.approx(then[asset], abs=1e-6)
        assert price.invested_change == pytest.approx(then.sum() - now.sum(), abs=1e-6)
        assert (moved > start) == price.looser


def _arg(field: str) -> str:
    return "total" if field == "max_total_positions" else "per_bucket"


def _other(field: str) -> str:
    return "per_bucket" if field == "max_total_positions" else "total"


def test_the_sentence_names_who_enters_and_the_summary_carries_it() -> None:
    frame = _frame(0)
    limits = {
        "sizing_mode": "score_weighted",
        "min_score_threshold": None,
        "max_single_position": CAP,
        "target_allocation": TARGET,
        "max_total_positions": 4,
    }
    portfolio = portcon.construct(frame, limits)
    [more] = [p for p in portfolio.count_prices() if p.looser]
    assert more.entered
    name, weight = more.entered[0]
    assert f"{name} at {100 * weight:.2f}% enters" in more.sentence()
    assert more.sentence() in " ".join(portfolio.decision_summary().counts)
    exported = portfolio.to_dict()["count_prices"]
    assert [row["sentence"] for row in exported] == [p.sentence() for p in portfolio.count_prices()]


def test_an_unchanged_limit_rebuilds_the_same_book() -> None:
    from portcon.report.resolve import reconstruct

    frame = _frame(1)
    limits = {
        "sizing_mode": "score_weighted",
        "max_total_positions": 3,
        "min_score_threshold": None,
    }
    portfolio = portcon.construct(frame, limits)
    again = reconstruct(portfolio)
    np.testing.assert_allclose(again.weights, portfolio.weights, atol=1e-9)
    assert again.objective == pytest.approx(portfolio.objective, rel=1e-9)
