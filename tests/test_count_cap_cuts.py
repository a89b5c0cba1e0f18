"""Group-cap cuts of the relaxed perspective program (counts/cap_cuts.py): the strengthened
bound stays below the best support found by enumeration (a cvxpy program per support, stated
here), it is higher than without the cuts where a cap splits positions, and the `crisis`
preset on the example is now proven without SCIP."""

from __future__ import annotations

import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.counts import cap_cuts, flow, perspective
from portcon.counts.formulation import objective_scale

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scores.csv"
TARGET = 0.95
BOUND_TOLERANCE = 1e-8  # relative: solver error only


def _captured(monkeypatch, frame: pd.DataFrame, limits: dict) -> tuple:
    seen: list[tuple] = []
    select = flow.select

    def keeping(program, counts, relaxation, deadline):
        seen.append((program, counts, relaxation))
        return select(program, counts, relaxation, deadline)

    monkeypatch.setattr(flow, "select", keeping)
    portcon.construct(frame, limits)
    monkeypatch.setattr(flow, "select", select)
    return seen[0] if seen else None


def _best_support(frame: pd.DataFrame, cap: float, bucket_cap: float, most: int, per: int):
    """Score-weighted sizing over every support: ½ Σ w²/m + penalty·(target − Σw), each
    support as upper bounds (cap on it, 0 off it) of one parametrised cvxpy program."""
    shares = (frame["score"] / frame["score"].sum()).to_numpy()
    penalty = 1.0 + 1.0 / shares.min()
    buckets = frame["bucket"].to_numpy()
    n = len(frame)
    w, upper = cp.Variable(n), cp.Parameter(n, nonneg=True)
    rows = [w >= 0, w <= upper, cp.sum(w) <= TARGET]
    rows += [cp.sum(w[np.flatnonzero(buckets == b)]) <= bucket_cap for b in set(buckets)]
    cost = 0.5 * cp.sum(cp.multiply(1.0 / shares, cp.square(w)))
    problem = cp.Problem(cp.Minimize(cost + penalty * (TARGET - cp.sum(w))), rows)
    best = np.inf
    for size in range(1, most + 1):
        for support in itertools.combinations(range(n), size):
            labels = buckets[list(support)]
            if max(np.sum(labels == b) for b in set(labels)) > per:
                continue
            upper.value = np.where(np.isin(np.arange(n), support), cap, 0.0)
            problem.solve(solver="CLARABEL")
            if problem.status == cp.OPTIMAL:
                best = min(best, problem.value)
    return best


def _frame(seed: int, n: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"score": rng.uniform(0.5, 1.0, n), "bucket": [f"B{k % 4}" for k in range(n)]},
        index=[f"c{i}" for i in range(n)],
    )


CASES = [(0.18, 0.35, 5), (0.15, 0.25, 4), (0.2, 0.3, 5)]


def test_cap_cuts_keep_the_bound_below_every_support_and_raise_it(monkeypatch) -> None:
    raised = 0
    for seed in range(2):
        for cap, bucket_cap, most in CASES:
            frame = _frame(seed)
            limits = dict(
                sizing_mode="score_weighted",
                min_score_threshold=0.0,
                max_single_position=cap,
                max_bucket_allocation=bucket_cap,
                max_total_positions=most,
                max_positions_per_bucket=2,
            )
            seen = _captured(monkeypatch, frame, limits)
            if seen is None:
                continue
            program, counts, relaxation = seen
            assert cap_cuts.cap_rows(program, counts)
            scale = objective_scale(relaxation)
            best = _best_support(frame, cap, bucket_cap, most, 2)
            perspective.clear_cache()
            with_cuts = perspective.solve_relaxed(program, counts, scale)
            assert with_cuts is not None
            assert with_cuts[0] <= best + BOUND_TOLERANCE * abs(best), (seed, cap, bucket_cap)
            monkeypatch.setattr(cap_cuts, "cap_rows", lambda program, counts: [])
            perspective.clear_cache()
            without = perspective.solve_relaxed(program, counts, scale)
            monkeypatch.undo()
            perspective.clear_cache()
            assert without is not None
            assert without[0] <= with_cuts[0] + 1e-9 * abs(best)
            raised += with_cuts[0] > without[0] + 1e-6 * abs(best)
    assert raised >= 2  # the cut must bite somewhere, or this test proves nothing


def test_the_cut_values_are_the_chord_of_what_n_names_can_fill(monkeypatch) -> None:
    frame = _frame(0)
    limits = dict(
        sizing_mode="score_weighted",
        min_score_threshold=0.0,
        max_single_position=0.18,
        max_bucket_allocation=0.35,
        max_total_positions=5,
        max_positions_per_bucket=2,
    )
    program, counts, _ = _captured(monkeypatch, frame, limits)
    values = cap_cuts.cut_values(program, counts)
    for slope, bound in zip(values[cap_cuts.SLOPE], values[cap_cuts.BOUND], strict=True):
        for held in range(0, 5):  # the cut holds at every integer count, tight at 1 and 2
            fill = min(0.35, 0.18 * held)
            assert fill <= bound + slope * held + 1e-12
        assert bound + slope * 1 == pytest.approx(0.18, abs=1e-11)
        assert bound + slope * 2 == pytest.approx(0.35, abs=1e-11)


def test_crisis_on_the_example_is_proven_by_the_relaxation() -> None:
    book = pd.read_csv(EXAMPLE, index_col="asset")
    book["days_held"] = np.where(book["current_weight"] > 0, 30, 0)
    portfolio = portcon.construct(book, portcon.Limits.preset("crisis"))
    assert portfolio.path == "mixed_integer"
    assert any("SCIP was not needed" in note for note in portfolio.notes)
    assert portfolio.mip_gap <= 1e-4
