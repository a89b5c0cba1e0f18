"""Position-count limits: brute force over every support equals the mixed-integer optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.report.check import violations
from portcon.universe import Universe

EXACT = dict(mip_gap=1e-9, mip_time_limit=60)
OBJECTIVE_TOLERANCE = 1e-6


def _fill(shares: np.ndarray, floor: float, cap: float, target: float, penalty: float):
    """argmin ½Σw²/m + penalty·(target − Σw), floor ≤ w ≤ cap, Σw ≤ target; None if infeasible."""
    count = len(shares)
    if count * floor > target + 1e-12:
        return None
    if count * cap <= target:
        weights = np.full(count, cap)
    else:
        low, high = 0.0, penalty
        for _ in range(200):
            level = (low + high) / 2
            if np.clip(level * shares, floor, cap).sum() > target:
                high = level
            else:
                low = level
        weights = np.clip(low * shares, floor, cap)
        weights *= 1.0  # bisection to machine precision; sum equals target to ~1e-15
    value = 0.5 * np.sum(weights**2 / shares) + penalty * (target - weights.sum())
    return weights, value


SCORES: np.ndarray = np.zeros(0)


def _brute_force(frame: pd.DataFrame, limits: dict, correlation: np.ndarray | None = None):
    """Best support by enumeration under score-weighted sizing (threshold 0, all eligible)."""
    global SCORES
    scores = frame["score"].to_numpy()
    SCORES = scores
    shares = scores / scores.sum()
    penalty = 1.0 + 1.0 / shares.min()
    cap, target = limits.get("max_single_position", 0.15), limits.get("target_allocation", 0.95)
    floor = limits.get("min_position_size") or (
        1e-4 if limits.get("min_buckets_represented") else 0
    )
    buckets = frame["bucket"].to_numpy() if "bucket" in frame else None
    existing = (frame["current_weight"] > 0).to_numpy() if "current_weight" in frame else None
    best = (np.inf, None)
    n = len(scores)
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            support = list(support)
            if not _admissible(support, limits, buckets, existing, correlation):
                continue
            filled = _fill(shares[support], floor, cap, target, penalty)
            if filled is None:
                continue
            weights = np.zeros(n)
            weights[support] = filled[0]
            if limits.get("min_buckets_represented"):
                represented = set(buckets[weights >= (floor or 1e-4) - 1e-12])
                if len(represented) < limits["min_buckets_represented"]:
                    continue
            if filled[1] < best[0]:
                best = (filled[1], weights)
    return best


def _admissible(support, limits, buckets, existing, correlation) -> bool:
    if limits.get("max_total_positions") and len(support) > limits["max_total_positions"]:
        return False
    if limits.get("max_new_positions") is not None:
        new = [i for i in support if existing is None or not existing[i]]
        if len(new) > limits["max_new_positions"]:
            return False
    if limits.get("max_positions_per_bucket"):
        overrides = 0
        for bucket in set(buckets):
            held = [i for i in support if buckets[i] == bucket]
            excess = len(held) - limits["max_positions_per_bucket"]
            if excess <= 0:
                continue
            # the seed fills slots by score: every name of an overflowing bucket overrides
            threshold = limits.get("bucket_override_threshold")
            if threshold is None or any(SCORES[i] < threshold for i in held):
                return False
            overrides += excess
        if overrides > (
            limits.get("max_bucket_overrides", 1)
            if limits.get("bucket_override_threshold") is not None
            else 0
        ):
            return False
    if limits.get("correlation_limit") is not None:
        for i, j in itertools.combinations(support, 2):
            if correlation[i, j] > limits["correlation_limit"]:
                return False
    return True


def _frame(seed: int, n: int, buckets: int = 3, current: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.3, 1.0, n),
            "bucket": [f"B{k}" for k in rng.integers(0, buckets, n)],
        },
        index=[f"c{i:02d}" for i in range(n)],
    )
    if current:
        frame["current_weight"] = np.where(rng.random(n) < 0.4, 0.05, 0.0)
    return frame


RULES = {
    "max_total_positions": dict(max_total_positions=4, max_single_position=0.3),
    "max_new_positions": dict(max_new_positions=2, max_single_position=0.3),
    "min_position_size": dict(min_position_size=0.09, max_single_position=0.2),
    "max_positions_per_bucket": dict(max_positions_per_bucket=2, max_single_position=0.25),
    "min_buckets_represented": dict(
        min_buckets_represented=3, max_total_positions=4, max_single_position=0.4
    ),
    "correlation_limit": dict(correlation_limit=0.5, max_single_position=0.3),
    "bucket overrides": dict(
        max_positions_per_bucket=1,
        bucket_override_threshold=0.8,
        max_bucket_overrides=1,
        max_single_position=0.35,
    ),
}


def _correlation(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    factors = rng.normal(size=(n, 2))
    covariance = factors @ factors.T + np.diag(rng.uniform(0.2, 1.0, n))
    scale = np.sqrt(np.diag(covariance))
    return covariance / np.outer(scale, scale)


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("seed", range(3))
def test_brute_force_equals_mixed_integer(rule: str, seed: int) -> None:
    n = 11
    frame = _frame(seed, n, current=(rule == "max_new_positions"))
    limits = dict(RULES[rule], sizing_mode="score_weighted", min_score_threshold=0.0)
    correlation = _correlation(seed, n) if rule == "correlation_limit" else None
    extra = {}
    if correlation is not None:
        extra["correlation"] = pd.DataFrame(correlation, index=frame.index, columns=frame.index)
    portfolio = portcon.construct(frame, dict(limits, **EXACT), **extra)
    best_value, best_weights = _brute_force(frame, limits, correlation)
    assert portfolio.objective == pytest.approx(best_value, rel=OBJECTIVE_TOLERANCE, abs=1e-9)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), best_weights, atol=1e-6)
    universe = Universe.from_scores(frame)
    assert (
        violations(
            portfolio.weights.to_numpy(), universe, portfolio.limits, correlation=correlation
        )
        == []
    )
    assert portfolio.path in ("convex", "mixed_integer")


def test_equal_weight_holds_the_top_scores_at_equal_weights() -> None:
    frame = _frame(5, 14, buckets=1)
    portfolio = portcon.construct(
        frame, dict(sizing_mode="equal_weight", max_total_positions=5, max_single_position=0.3)
    )
    top = frame["score"].nlargest(5).index
    np.testing.assert_allclose(portfolio.weights[top], 0.19, atol=1e-9)
    assert portfolio.weights.drop(top).abs().max() == 0.0


def _risk_assets(current: bool) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "score": [0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.68],
            "bucket": ["Risk Assets"] * 5 + ["Defensive"] * 2,
            "current_weight": [0.1] * 5 + [0.0, 0.0],
        },
        index=["R1", "R2", "R3", "R4", "R5", "D1", "D2"],
    )
    return frame if current else frame.drop(columns="current_weight")


def test_existing_positions_overflow_their_bucket_only_when_allowed() -> None:
    limits = dict(sizing_mode="score_weighted", max_positions_per_bucket=2, max_single_position=0.3)
    kept = portcon.construct(_risk_assets(True), dict(limits, allow_bucket_overflow=True))
    assert (kept.weights[["R1", "R2", "R3", "R4", "R5"]] > 0).all()
    strict = portcon.construct(_risk_assets(True), limits)
    held = strict.weights[strict.weights > 0].index
    assert set(held) == {"R1", "R2", "D1", "D2"}
    assert strict.path == "mixed_integer"
    reason = strict.explanations.loc["R3", "reason"]
    assert reason.startswith(
        "not held: Risk Assets already has 2 positions (max_positions_per_bucket)"
    )


def test_min_buckets_forces_the_best_assets_of_other_buckets() -> None:
    frame = pd.DataFrame(
        {
            "score": [0.99, 0.98, 0.97, 0.96, 0.7, 0.65, 0.62, 0.61],
            "bucket": ["Tech"] * 4 + ["Energy", "Energy", "Gold", "Gold"],
        },
        index=["T1", "T2", "T3", "T4", "E1", "E2", "G1", "G2"],
    )
    portfolio = portcon.construct(
        frame,
        dict(
            sizing_mode="score_weighted",
            max_total_positions=4,
            min_buckets_represented=3,
            min_position_size=0.02,
            max_single_position=0.4,
        ),
    )
    held = set(portfolio.weights[portfolio.weights > 0].index)
    assert {"E1", "G1"} <= held and not {"E2", "G2"} & held
    assert len(held) == 4


def test_correlation_exclusion_is_explained() -> None:
    frame = pd.DataFrame({"score": [0.95, 0.9, 0.7]}, index=["NVDA", "AMD", "KO"])
    correlation = pd.DataFrame(
        [[1.0, 0.86, 0.1], [0.86, 1.0, 0.1], [0.1, 0.1, 1.0]],
        index=frame.index,
        columns=frame.index,
    )
    portfolio = portcon.construct(
        frame,
        dict(sizing_mode="score_weighted", correlation_limit=0.8, max_single_position=0.6),
        correlation=correlation,
    )
    assert portfolio.weights["AMD"] == 0
    assert portfolio.explanations.loc["AMD", "reason"].startswith(
        "not held: correlation 0.86 with NVDA above correlation_limit 0.80"
    )


def test_the_heuristic_is_labelled_with_its_gap() -> None:
    frame = _frame(7, 12)
    limits = dict(sizing_mode="score_weighted", max_total_positions=4, max_single_position=0.3)
    exact = portcon.construct(frame, dict(limits, **EXACT))
    forced = portcon.construct(frame, dict(limits, mip_method="heuristic"))
    assert forced.path == "heuristic" and exact.path == "mixed_integer"
    relaxed = portcon.construct(frame, dict(limits, max_total_positions=None))
    expected_gap = (forced.objective - relaxed.objective) / abs(forced.objective)
    assert forced.mip_gap == pytest.approx(expected_gap, rel=1e-6)
    assert forced.mip_bound == pytest.approx(relaxed.objective, rel=1e-9)
    assert forced.objective >= exact.objective - 1e-9
    assert (forced.weights > 0).sum() <= 4


def test_no_counts_needed_stays_convex() -> None:
    frame = _frame(8, 6)
    portfolio = portcon.construct(frame, dict(max_total_positions=10, min_score_threshold=0.0))
    assert portfolio.path == "convex" and portfolio.mip_gap is None


def test_a_bucket_override_never_breaks_its_bucket_cap() -> None:
    """The seed's override relaxes a bucket's count, never its cap (tests/test_bucket_overrides
    has the seed's scenarios): with no count limit there is nothing to override."""
    frame = pd.DataFrame(
        {
            "score": [0.97, 0.9, 0.7, 0.68, 0.66, 0.65],
            "bucket": ["Tech", "Tech", "Energy", "Energy", "Gold", "Gold"],
        },
        index=["NVDA", "MSFT", "XOM", "CVX", "GLD", "IAU"],
    )
    limits = dict(sizing_mode="score_weighted", max_bucket_allocation=0.3, max_single_position=0.3)
    without = portcon.construct(frame, limits)
    allowed = portcon.construct(
        frame, dict(limits, bucket_override_threshold=0.95, max_bucket_overrides=1)
    )
    assert allowed.path == "convex"
    assert allowed.weights[["NVDA", "MSFT"]].sum() == pytest.approx(0.3, abs=1e-8)
    np.testing.assert_allclose(allowed.weights, without.weights, atol=1e-9)
    assert not allowed.explanations["reason"].str.contains("bucket override").any()


@pytest.mark.parametrize(
    ("frame_columns", "limits", "fragment"),
    [
        ({}, dict(max_positions_per_bucket=2), "need a 'bucket' column"),
        ({"bucket": list("AABB")}, dict(bucket_position_limits={"Z": 1}), "no asset has"),
        ({}, dict(correlation_limit=0.5), "correlation_limit needs correlations"),
        ({}, dict(bucket_override_threshold=0.9), "needs a 'bucket' column"),
        (
            {},
            dict(sizing_mode="tiered", residual_strategy="top_slice", max_total_positions=2),
            "not available with sizing_mode 'tiered'",
        ),
    ],
)
def test_count_limits_that_cannot_apply_say_why(frame_columns, limits, fragment) -> None:
    frame = pd.DataFrame({"score": [0.9, 0.8, 0.7, 0.65], **frame_columns}, index=list("abcd"))
    with pytest.raises(portcon.LimitsError, match=fragment):
        portcon.construct(frame, dict(limits, max_single_position=0.5))
