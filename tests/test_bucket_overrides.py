"""Bucket overrides as the seed specifies them (dynamic-rebalancing-todo, Solution 4).

An override is used only when the normal count rule would block a name scoring at or above
bucket_override_threshold; the name still counts towards its bucket, so the bucket's cap
holds, and a bucket's position count may be exceeded by at most max_bucket_overrides names
over all buckets. References: the seed's scenario with its numbers, and a brute force over
every support whose weights come from a convex program written out here with cvxpy.
"""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.report.check import violations
from portcon.universe import Universe

EXACT = dict(mip_gap=1e-9, mip_time_limit=60)
OBJECTIVE_TOLERANCE = 1e-6  # relative, objective of the best support
WEIGHT_TOLERANCE = 1e-5  # absolute, weights (Clarabel on both sides)
CAP_TOLERANCE = 1e-8  # a bucket cap's excess


def _seed_frame() -> pd.DataFrame:
    """Four Risk names, two of them ≥ 0.95, and three smaller buckets."""
    rows = {
        "NVDA": (0.97, "Risk"),
        "MSFT": (0.96, "Risk"),
        "GOOGL": (0.90, "Risk"),
        "AMZN": (0.88, "Risk"),
        "JNJ": (0.70, "Defensive"),
        "PG": (0.68, "Defensive"),
        "EFA": (0.66, "International"),
        "EEM": (0.64, "International"),
        "GLD": (0.62, "Commodities"),
        "DBC": (0.60, "Commodities"),
    }
    return pd.DataFrame(rows, index=["score", "bucket"]).T.astype({"score": float})


SEED_LIMITS = dict(
    sizing_mode="score_weighted",
    max_single_position=0.15,
    max_positions_per_bucket=2,
    max_bucket_allocation=0.30,
    min_score_threshold=0.0,
)


def test_the_seed_case_holds_the_bucket_cap_and_overrides_nobody() -> None:
    """The audit's case: Risk limit 2, cap 30%, 2 overrides at 0.95. NVDA and MSFT are the
    bucket's two best names, so the normal rules admit them and no override is used; the
    audit saw 4 Risk names at 52.8%."""
    frame = _seed_frame()
    plain = portcon.construct(frame, SEED_LIMITS)
    overrides = portcon.construct(
        frame, dict(SEED_LIMITS, bucket_override_threshold=0.95, max_bucket_overrides=2)
    )
    risk = frame.index[frame["bucket"] == "Risk"]
    assert overrides.weights[risk].sum() <= 0.30 + CAP_TOLERANCE
    assert (overrides.weights[risk] > 0).sum() == 2
    assert overrides.weights[["GOOGL", "AMZN"]].abs().max() == 0.0
    np.testing.assert_allclose(overrides.weights, plain.weights, atol=1e-9)
    assert not overrides.explanations["reason"].str.contains("bucket override: score").any()


def test_an_override_admits_a_blocked_top_score_within_the_cap() -> None:
    """Risk limit 1: the normal rules hold NVDA only and block MSFT (0.96 ≥ 0.95). The override
    holds MSFT too, the Risk cap still binds, GOOGL (0.90) stays out, and the answer improves."""
    frame = _seed_frame()
    limits = dict(SEED_LIMITS, max_positions_per_bucket=1, max_bucket_allocation=0.25)
    plain = portcon.construct(frame, limits)
    assert plain.weights["MSFT"] == 0.0
    chosen = portcon.construct(
        frame, dict(limits, bucket_override_threshold=0.95, max_bucket_overrides=2, **EXACT)
    )
    assert chosen.weights[["NVDA", "MSFT"]].gt(0).all()
    assert chosen.weights[["NVDA", "MSFT"]].sum() == pytest.approx(0.25, abs=CAP_TOLERANCE)
    assert chosen.weights[["GOOGL", "AMZN"]].abs().max() == 0.0
    assert chosen.objective < plain.objective
    reasons = chosen.explanations["reason"]
    assert "bucket override: score 0.96 ≥ 0.95" in reasons["MSFT"]
    assert "bucket override" not in reasons["NVDA"]
    assert "max_positions_per_bucket" in reasons["GOOGL"]
    universe = Universe.from_scores(frame)
    assert violations(chosen.weights.to_numpy(), universe, chosen.limits) == []


def test_max_bucket_overrides_bounds_the_excess_over_all_buckets() -> None:
    frame = _seed_frame()
    frame.loc[["JNJ", "PG"], "score"] = [0.99, 0.98]  # Defensive: two names ≥ 0.95
    frame.loc["EFA", "bucket"] = "Defensive"
    limits = dict(SEED_LIMITS, max_positions_per_bucket=1, max_bucket_allocation=0.4, **EXACT)
    one = portcon.construct(
        frame, dict(limits, bucket_override_threshold=0.95, max_bucket_overrides=1)
    )
    two = portcon.construct(
        frame, dict(limits, bucket_override_threshold=0.95, max_bucket_overrides=2)
    )
    for portfolio, allowed in ((one, 1), (two, 2)):
        notes = portfolio.explanations["reason"].str.contains("bucket override: score")
        assert notes.sum() == allowed
        held = portfolio.weights.gt(0).groupby(frame["bucket"]).sum()
        assert int((held - 1).clip(lower=0).sum()) == allowed


def test_the_checker_counts_overrides_and_never_exempts_the_cap() -> None:
    frame = _seed_frame()
    universe = Universe.from_scores(frame)
    limits = portcon.Limits(
        **dict(SEED_LIMITS, bucket_override_threshold=0.95, max_bucket_overrides=2)
    )

    def found(names: list[str], size: float, rules: portcon.Limits = limits) -> list[str]:
        weights = pd.Series(0.0, index=frame.index)
        weights[names] = size
        return violations(weights.to_numpy(), universe, rules)

    audit = found(["NVDA", "MSFT", "GOOGL", "AMZN"], 0.132)  # the audit's 52.8%
    assert audit == ["bucket cap Risk: 0.5280000000 > 0.3000000000", "bucket count Risk: 4 > 2"]
    # GOOGL (0.90) past the count: the normal rules give the slots to NVDA and MSFT first
    assert found(["NVDA", "MSFT", "GOOGL"], 0.1) == ["bucket count Risk: 3 > 2"]
    one = limits.replace(max_positions_per_bucket=1)
    assert found(["NVDA", "MSFT"], 0.1, one) == []  # MSFT (0.96) by override
    assert found(["NVDA", "MSFT"], 0.1, one.replace(max_bucket_overrides=0)) == [
        "bucket overrides: 1 needed > 0 allowed"
    ]
    both = frame.copy()
    both.loc[["JNJ", "PG"], "score"] = 0.99
    weights = pd.Series(0.0, index=frame.index)
    weights[["NVDA", "MSFT", "JNJ", "PG"]] = 0.1
    checked = violations(weights.to_numpy(), Universe.from_scores(both), one)
    assert checked == []  # one override in each bucket, two allowed
    checked = violations(
        weights.to_numpy(), Universe.from_scores(both), one.replace(max_bucket_overrides=1)
    )
    assert checked == ["bucket overrides: 2 needed > 1 allowed"]


# --- brute force over supports ---------------------------------------------------------------


def _support_value(shares, buckets, support, cap, bucket_cap, target, penalty):
    """The convex program on ``support`` written out: ½Σw²/m + penalty·cash (None: infeasible)."""
    n = len(shares)
    w = cp.Variable(n, nonneg=True)
    rows = [w <= cap, cp.sum(w) <= target]
    outside = [i for i in range(n) if i not in support]
    if outside:
        rows.append(w[outside] == 0)
    for bucket in set(buckets):
        inside = np.flatnonzero(buckets == bucket)
        rows.append(cp.sum(w[inside]) <= bucket_cap)
    objective = 0.5 * cp.sum(cp.multiply(1 / shares, cp.square(w))) + penalty * (target - cp.sum(w))
    problem = cp.Problem(cp.Minimize(objective), rows)
    problem.solve(solver=cp.CLARABEL)
    if problem.status != cp.OPTIMAL:
        return None
    return float(problem.value), np.asarray(w.value)


def _admissible(support, buckets, scores, limit, threshold, most) -> bool:
    """The seed's loop, run on the support in score order: a name past its bucket's count is
    admitted only by override (score ≥ threshold, overrides left); True when all are."""
    counts: dict[str, int] = {}
    used = 0
    for i in sorted(support, key=lambda i: -scores[i]):
        if counts.get(buckets[i], 0) >= limit:
            if scores[i] < threshold or used >= most:
                return False
            used += 1
        counts[buckets[i]] = counts.get(buckets[i], 0) + 1
    return True


def _brute_force(frame: pd.DataFrame, limits: dict):
    scores = frame["score"].to_numpy(float)
    buckets = frame["bucket"].to_numpy()
    shares = scores / scores.sum()
    penalty = 1.0 + 1.0 / shares.min()
    best = (np.inf, None)
    for size in range(1, len(scores) + 1):
        for support in itertools.combinations(range(len(scores)), size):
            if not _admissible(
                support,
                buckets,
                scores,
                limits["max_positions_per_bucket"],
                limits["bucket_override_threshold"],
                limits["max_bucket_overrides"],
            ):
                continue
            found = _support_value(
                shares,
                buckets,
                support,
                limits["max_single_position"],
                limits["max_bucket_allocation"],
                limits.get("target_allocation", 0.95),
                penalty,
            )
            if found is not None and found[0] < best[0]:
                best = found
    return best


@pytest.mark.parametrize("seed", range(3))
def test_brute_force_over_supports_with_caps_and_overrides(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 8
    frame = pd.DataFrame(
        {
            "score": np.round(rng.uniform(0.6, 1.0, n), 3),
            "bucket": [f"B{k}" for k in rng.integers(0, 2, n)],
        },
        index=[f"a{i}" for i in range(n)],
    )
    limits = dict(
        sizing_mode="score_weighted",
        min_score_threshold=0.0,
        max_single_position=0.2,
        max_positions_per_bucket=2,
        max_bucket_allocation=0.35,
        bucket_override_threshold=0.85,
        max_bucket_overrides=1,
    )
    portfolio = portcon.construct(frame, dict(limits, **EXACT))
    value, weights = _brute_force(frame, limits)
    assert portfolio.objective == pytest.approx(value, rel=OBJECTIVE_TOLERANCE)
    np.testing.assert_allclose(portfolio.weights.to_numpy(), weights, atol=WEIGHT_TOLERANCE)
    universe = Universe.from_scores(frame)
    assert violations(portfolio.weights.to_numpy(), universe, portfolio.limits) == []
    exposure = portfolio.weights.groupby(frame["bucket"]).sum()
    assert exposure.max() <= 0.35 + CAP_TOLERANCE
    noted = portfolio.explanations["reason"].str.contains("bucket override: score")
    held = portfolio.weights.gt(0).groupby(frame["bucket"]).sum()
    assert noted.sum() == int((held - 2).clip(lower=0).sum())  # an override only where needed
