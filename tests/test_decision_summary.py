"""The decision summary: what bound, what it cost, whom it moved, thresholds, counts and
parameters, checked against re-solves and numbers computed here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.cli.main import main
from portcon.limits import read_limits_file

ASSETS = [f"A{i}" for i in range(8)]
SCORES = pd.Series(np.linspace(0.6, 0.95, 8), index=ASSETS)


def _sizing_distance(weights: pd.Series) -> float:
    shares = SCORES / SCORES.sum()
    return float(0.5 * np.sum(weights.to_numpy() ** 2 / shares.to_numpy()))


def test_a_lone_cap_costs_what_removing_it_saves():
    """Score-weighted with only max_single_position binding: the summary's cost is the
    objective the re-solve without the cap saves, and the names it moved are the change."""
    limits = {
        "sizing_mode": "score_weighted",
        "max_single_position": 0.14,
        "min_score_threshold": None,
    }
    capped = portcon.construct(SCORES, limits)
    free = portcon.construct(SCORES, {**limits, "max_single_position": None})
    assert capped.rollover == 0 and (capped.weights < free.weights - 1e-6).any()
    summary = capped.decision_summary()
    [bound] = summary.bounds
    assert bound.label == "max_single_position" and bound.value == "14.0%"
    saved = _sizing_distance(capped.weights) - _sizing_distance(free.weights)
    assert bound.cost == pytest.approx(saved, rel=1e-6)  # two solves, each to ~1e-10
    assert bound.share == pytest.approx(1.0)
    change = capped.weights - free.weights
    taken = change[change < -1e-9].sort_values()
    assert [asset for asset, _ in bound.took] == list(taken.index[:3])
    for asset, moved in bound.took + bound.gave:
        assert moved == pytest.approx(change[asset], abs=1e-8)
    assert bound.moved == pytest.approx(change.clip(lower=0).sum(), abs=1e-8)
    assert "max_single_position = 14.0% (position caps): cost" in summary.text()


def test_mean_variance_cost_return_and_volatility_of_a_lone_cap():
    rng = np.random.default_rng(11)
    root = rng.normal(0.0, 0.1, (8, 8))
    covariance = pd.DataFrame(root @ root.T / 8 + np.eye(8) * 0.02, index=ASSETS, columns=ASSETS)
    mu = pd.Series(np.linspace(0.05, 0.08, 8), index=ASSETS)
    limits = {
        "sizing_mode": "mean_variance",
        "risk_aversion": 15.0,
        "max_single_position": 0.16,
        "min_score_threshold": None,
    }
    market = {"covariance": covariance, "expected_returns": mu}
    capped = portcon.construct(SCORES, limits, **market)
    free = portcon.construct(SCORES, {**limits, "max_single_position": None}, **market)
    assert (free.weights > 1e-6).all(), "only the cap binds"
    sigma = covariance.to_numpy()

    def negated_utility(weights: pd.Series) -> float:
        w = weights.to_numpy()
        return float(-mu.to_numpy() @ w + 7.5 * w @ sigma @ w)

    summary = capped.decision_summary()
    [bound] = summary.bounds
    assert bound.cost == pytest.approx(
        negated_utility(capped.weights) - negated_utility(free.weights)
    )
    assert bound.expected_return == pytest.approx(float(mu @ (capped.weights - free.weights)))
    volatility = np.sqrt(capped.weights @ sigma @ capped.weights)
    euler = (capped.weights - free.weights) @ sigma @ capped.weights / volatility
    assert bound.volatility == pytest.approx(float(euler))
    assert summary.parameters[0][:2] == ("risk_aversion", "15")


@pytest.fixture(scope="module")
def example() -> portcon.Portfolio:
    scores = pd.read_csv("examples/scores.csv", index_col="asset")
    return portcon.construct(scores, read_limits_file("examples/limits.toml"))


def test_threshold_and_counts_are_in_the_summary(example):
    summary = example.decision_summary()
    scores = example.explanations["score"]
    below = scores[scores < 0.65]
    assert f"{len(below)} below min_score_threshold 0.65" in summary.eligible
    assert f"{below.idxmax()} {below.max():.2f}" in summary.eligible  # the nearest miss first
    counts = " ".join(summary.counts)
    reasons = example.explanations["reason"]
    for field in ("max_positions_per_bucket", "max_new_positions"):
        out = [asset for asset, reason in reasons.items() if field in reason]
        assert out, field
        assert f"{field} = " in counts and out[0] in counts
    assert "max_total_positions = 30: not binding (20 held)" in counts
    assert "chosen support" in counts
    total = sum(bound.cost for bound in summary.bounds)
    assert total == pytest.approx(summary.total_cost, rel=1e-9)
    limit_level = example.attribution(level="limit").table
    for bound in summary.bounds:
        assert bound.cost == pytest.approx(limit_level.loc[bound.label, "objective"], rel=1e-12)


def test_parameters_are_not_listed_as_limits(tmp_path: Path, capsys):
    scores = tmp_path / "scores.csv"
    frame = pd.DataFrame({"score": SCORES})
    frame.index.name = "asset"
    frame.to_csv(scores)
    mu = tmp_path / "mu.csv"
    pd.DataFrame({"asset": ASSETS, "expected_return": np.linspace(0.05, 0.09, 8)}).to_csv(
        mu, index=False
    )
    rng = np.random.default_rng(2)
    returns = pd.DataFrame(rng.normal(0.0004, 0.01, (300, 8)), columns=ASSETS)
    returns.index.name = "date"
    history = tmp_path / "returns.csv"
    returns.to_csv(history)
    code = main(
        [
            "construct",
            str(scores),
            "--sizing-mode",
            "mean_variance",
            "--risk-aversion",
            "3",
            "--max-single-position",
            "0.2",
            "--min-score-threshold",
            "off",
            "--returns",
            str(history),
            "--expected-returns",
            str(mu),
            "--attribution",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Decision summary")
    binding = printed[printed.index("Binding limits") : printed.index("Parameters (")]
    assert "risk_aversion" not in binding and "max_single_position" in binding
    parameters = printed[printed.index("Parameters (") : printed.index("Constraint attribution")]
    assert "risk_aversion = 3" in parameters
    assert "parameter  risk_aversion = 3" in printed.split("Targets")[0]
    assert "budget only" in printed[printed.index("Constraint attribution") :]
