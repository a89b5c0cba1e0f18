"""The perspective relaxation's proof (counts/perspective.py) against brute force and SCIP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.counts import flow, perspective
from portcon.counts.formulation import objective_scale
from tests.test_count_reliability import OPEN, _best_mean_variance, _market
from tests.test_counts import RULES, _brute_force, _correlation, _frame

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scores.csv"
MIP_GAP = 1e-4
BOUND_TOLERANCE = 1e-8  # relative: the bound may exceed the best support by solver error only


def _captured(monkeypatch, frame: pd.DataFrame, limits: dict, **extra) -> list[tuple]:
    """Run construct and keep the (program, counts, relaxation) every count step was given."""
    seen: list[tuple] = []
    select = flow.select

    def keeping(program, counts, relaxation, deadline):
        seen.append((program, counts, relaxation))
        return select(program, counts, relaxation, deadline)

    monkeypatch.setattr(flow, "select", keeping)
    portcon.construct(frame, limits, **extra)
    monkeypatch.setattr(flow, "select", select)
    return seen


CASES = [rule for rule in RULES if rule != "bucket overrides"]


def test_the_proof_matches_brute_force_and_its_bound_is_below_every_support(monkeypatch) -> None:
    proven = 0
    for rule in CASES:
        for seed in range(3):
            n = 10
            frame = _frame(seed, n, current=(rule == "max_new_positions"))
            limits = dict(RULES[rule], sizing_mode="score_weighted", min_score_threshold=0.0)
            correlation = _correlation(seed, n) if rule == "correlation_limit" else None
            extra = {}
            if correlation is not None:
                extra["correlation"] = pd.DataFrame(
                    correlation, index=frame.index, columns=frame.index
                )
            seen = _captured(monkeypatch, frame, limits, **extra)
            if not seen:
                continue  # the convex answer met the counts
            program, counts, relaxation = seen[0]
            best_value, _ = _brute_force(frame, limits, correlation)
            relaxed = perspective.solve_relaxed(program, counts, objective_scale(relaxation))
            assert relaxed is not None, (rule, seed)
            bound, _ = relaxed
            assert bound <= best_value + BOUND_TOLERANCE * abs(best_value), (rule, seed)
            selection = perspective.proven_support(program, counts, relaxation)
            if selection is None:
                continue
            proven += 1
            assert selection.objective is not None
            assert selection.objective <= best_value + MIP_GAP * abs(best_value), (rule, seed)
            assert selection.bound <= selection.objective
            assert selection.gap <= MIP_GAP
    assert proven >= 5  # the proof must actually be exercised


def test_mean_variance_proofs_match_brute_force_in_daily_and_annual_units(monkeypatch) -> None:
    """The relaxed objective is divided by its scale: daily units (objective ~1e-4) are bounded
    as exactly as annual ones, against an independent enumeration of every support."""
    limits = dict(
        sizing_mode="mean_variance",
        risk_aversion=5.66,
        max_single_position=0.15,
        min_position_size=0.05,
        **OPEN,
    )
    proven = 0
    for seed in (1, 2, 3):
        for daily in (True, False):
            scores, covariance, mu = _market(seed, 10, daily=daily)
            seen = _captured(
                monkeypatch, scores, limits, covariance=covariance, expected_returns=mu
            )
            if not seen:
                continue
            program, counts, relaxation = seen[0]
            unit = 252 if daily else 1
            best, _ = _best_mean_variance(
                mu.to_numpy(), covariance.to_numpy(), 5.66, 0.15, 0.05, 0.95, unit
            )
            relaxed = perspective.solve_relaxed(program, counts, objective_scale(relaxation))
            assert relaxed is not None
            assert relaxed[0] <= best + BOUND_TOLERANCE * abs(best), (seed, daily)
            selection = perspective.proven_support(program, counts, relaxation)
            if selection is None:
                continue
            proven += 1
            assert selection.objective is not None
            assert selection.objective == pytest.approx(best, rel=MIP_GAP), (seed, daily)
    assert proven >= 3


def test_a_rebound_pooled_model_gives_the_bound_of_a_fresh_one(monkeypatch) -> None:
    limits = dict(max_total_positions=4, max_single_position=0.3, sizing_mode="score_weighted")
    limits["min_score_threshold"] = 0.0
    first = _frame(0, 10)
    second = first.copy()
    second["score"] = np.random.default_rng(7).uniform(0.3, 1.0, len(first))
    (program_a, counts_a, relaxation_a), *_ = _captured(monkeypatch, first, limits)
    (program_b, counts_b, relaxation_b), *_ = _captured(monkeypatch, second, limits)
    assert perspective.structure(program_a, counts_a) == perspective.structure(program_b, counts_b)
    scale_a, scale_b = objective_scale(relaxation_a), objective_scale(relaxation_b)
    perspective.clear_cache()
    pooled_a = perspective.solve_relaxed(program_a, counts_a, scale_a)
    pooled_b = perspective.solve_relaxed(program_b, counts_b, scale_b)  # the model re-bound
    fresh = perspective.build_relaxed(program_b, counts_b, scale_b)
    fresh.bind(program_b, counts_b, scale_b)
    fresh.problem.solve(solver="CLARABEL", ignore_dpp=True)
    assert pooled_a is not None and pooled_b is not None
    fresh_value = scale_b * float(fresh.problem.value)
    slack = perspective.BOUND_SLACK * abs(fresh_value)
    assert pooled_b[0] == pytest.approx(fresh_value - slack, rel=1e-8, abs=1e-10)
    assert abs(pooled_a[0] - pooled_b[0]) > 1e-6  # the data did change the bound


@pytest.mark.parametrize("preset", list(portcon.PRESETS))
def test_presets_on_the_example_give_scips_weights(monkeypatch, preset: str) -> None:
    book = pd.read_csv(EXAMPLE, index_col="asset")
    book["days_held"] = np.where(book["current_weight"] > 0, 30, 0)
    limits = portcon.Limits.preset(preset, mip_method="exact")
    with_proof = portcon.construct(book, limits)
    monkeypatch.setattr(perspective, "ENABLED", False)
    with_scip = portcon.construct(book, limits)
    np.testing.assert_allclose(
        with_proof.weights.to_numpy(), with_scip.weights.to_numpy(), atol=1e-6
    )
    assert with_proof.objective == pytest.approx(with_scip.objective, rel=MIP_GAP)
