"""The count path: Sharpe-optimal supports, scale invariance and true bounds, crash isolation,
no false infeasibility, and a diagnosis that names every count-relaxing repair.

Every claim is checked against something computed here: brute force over supports with
cvxpy (independent of portcon's model), or counting arguments written in the test.
"""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.counts.rules import derive_counts
from portcon.errors import InfeasibleError
from portcon.optimizer.model import build
from portcon.optimizer.program import compile_program
from portcon.optimizer.solve import solve
from portcon.universe import Universe

OPEN = dict(min_score_threshold=None)


def _market(seed: int, n: int, daily: bool = False):
    rng = np.random.default_rng(seed)
    assets = [f"A{i}" for i in range(n)]
    exposures = rng.normal(size=(n, 2)) * 0.15
    covariance = exposures @ exposures.T + np.diag(rng.uniform(0.02, 0.09, n))
    mu = rng.uniform(0.02, 0.15, n)
    if daily:
        covariance, mu = covariance / 252, mu / 252
    scores = pd.Series(rng.uniform(0.1, 1.0, n), index=assets)
    return scores, pd.DataFrame(covariance, assets, assets), pd.Series(mu, assets)


def _best_sharpe(covariance: np.ndarray, mu: np.ndarray, most: int, cap: float, target: float):
    """Max Sharpe over every support of at most ``most`` assets (homogenised, per support)."""
    n, best = len(mu), -np.inf
    for size in range(1, most + 1):
        for support in itertools.combinations(range(n), size):
            y, scale = cp.Variable(n), cp.Variable(nonneg=True)
            out = [i for i in range(n) if i not in support]
            rows = [mu @ y == 1, cp.sum(y) == target * scale, y >= 0, y <= cap * scale]
            rows += [y[out] == 0] if out else []
            problem = cp.Problem(cp.Minimize(cp.quad_form(y, covariance)), rows)
            problem.solve(solver="CLARABEL")
            if problem.status == cp.OPTIMAL:
                best = max(best, 1.0 / np.sqrt(problem.value))
    return best


@pytest.mark.parametrize("seed", [2, 5])
def test_max_sharpe_under_counts_is_the_best_sharpe_over_all_supports(seed: int) -> None:
    scores, covariance, mu = _market(seed, 7)
    limits = dict(sizing_mode="max_sharpe", max_total_positions=3, max_single_position=0.5, **OPEN)
    portfolio = portcon.construct(scores, limits, covariance=covariance, expected_returns=mu)
    w, sigma = portfolio.weights.to_numpy(), covariance.to_numpy()
    sharpe = mu.to_numpy() @ w / np.sqrt(w @ sigma @ w)
    best = _best_sharpe(sigma, mu.to_numpy(), 3, 0.5, 0.95)
    assert (w > 1e-9).sum() <= 3
    assert sharpe == pytest.approx(best, rel=1e-6)
    assert portfolio.objective - portfolio.mip_bound >= -1e-9 * abs(portfolio.objective)


def _utility(weights, mu, covariance, gamma):
    return float(-mu @ weights + 0.5 * gamma * weights @ covariance @ weights)


def _best_mean_variance(mu, covariance, gamma, cap, floor, target, unit=1.0):
    """Brute force: the best fully invested support with floors (every support size).

    Solved on μ·unit, Σ·unit (the same argmin) so that daily data is solved in annual units
    and Clarabel's absolute tolerances do not blur the reference; the value is divided back.
    """
    mu, covariance = mu * unit, covariance * unit
    n, best = len(mu), (np.inf, None)
    for size in range(int(np.ceil(target / cap - 1e-9)), int(target / floor + 1e-9) + 1):
        for support in itertools.combinations(range(n), size):
            w = cp.Variable(size)
            objective = -mu[list(support)] @ w + 0.5 * gamma * cp.quad_form(
                w, covariance[np.ix_(support, support)]
            )
            rows = [cp.sum(w) == target, w >= floor, w <= cap]
            problem = cp.Problem(cp.Minimize(objective), rows)
            problem.solve(solver="CLARABEL")
            if problem.status == cp.OPTIMAL and problem.value < best[0]:
                weights = np.zeros(n)
                weights[list(support)] = w.value
                best = (problem.value, weights)
    return best[0] / unit, best[1]


@pytest.mark.parametrize("seed", [0, 3])
def test_count_path_is_scale_invariant_and_its_bound_is_a_true_bound(seed: int) -> None:
    limits = dict(
        sizing_mode="mean_variance",
        risk_aversion=5.66,
        max_single_position=0.15,
        min_position_size=0.05,
        mip_gap=1e-6,
        **OPEN,
    )
    held, utilities = [], []
    for daily in (True, False):
        scores, covariance, mu = _market(seed, 10, daily=daily)
        portfolio = portcon.construct(scores, limits, covariance=covariance, expected_returns=mu)
        assert portfolio.path == "mixed_integer"
        m, sigma = mu.to_numpy(), covariance.to_numpy()
        w = portfolio.weights.to_numpy()
        best, _ = _best_mean_variance(m, sigma, 5.66, 0.15, 0.05, 0.95, 252 if daily else 1)
        unit = abs(best)
        assert _utility(w, m, sigma, 5.66) == pytest.approx(best, abs=1e-7 * unit)
        # the bound is below every feasible portfolio's objective, and the gap is consistent
        assert portfolio.mip_bound <= best + 1e-7 * unit
        assert portfolio.objective - portfolio.mip_bound >= -1e-9 * unit
        gap = (portfolio.objective - portfolio.mip_bound) / max(abs(portfolio.objective), 1e-12)
        assert portfolio.mip_gap == pytest.approx(gap, abs=1e-9)
        held.append(tuple(w > 1e-9))
        utilities.append(_utility(w, m, sigma, 5.66) * (252 if daily else 1))
    assert held[0] == held[1]
    assert utilities[0] == pytest.approx(utilities[1], rel=1e-7)


def _count_problem(seed: int = 1, n: int = 12):
    rng = np.random.default_rng(seed)
    return pd.Series(rng.uniform(0.1, 1.0, n), index=[f"S{i}" for i in range(n)])


LIMITED = dict(sizing_mode="score_weighted", max_total_positions=4, max_single_position=0.3, **OPEN)


def test_a_crashing_scip_leaves_construct_answering_with_the_labelled_heuristic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portcon.counts import perspective

    monkeypatch.setattr(perspective, "ENABLED", False)  # SCIP must run to crash
    scores = _count_problem()
    exact = portcon.construct(scores, LIMITED)
    monkeypatch.setenv("PORTCON_SCIP_TARGET", "portcon.counts.isolate:abort_for_tests")
    fallback = portcon.construct(scores, LIMITED)
    assert exact.path == "mixed_integer" and fallback.path == "heuristic"
    assert (fallback.weights > 0).sum() <= 4
    from portcon.counts.deadline import Deadline
    from portcon.counts.mip import select

    program = compile_program(Universe.from_scores(scores), portcon.Limits(**LIMITED))
    relaxation = solve(program, build(program))
    selection = select(program, derive_counts(program, None), relaxation, Deadline(10))
    assert selection.path == "heuristic"
    assert any("signal 6" in note and "heuristic" in note for note in selection.notes)
    # a worker that never answers is stopped, and the heuristic answers instead
    monkeypatch.setenv("PORTCON_SCIP_TARGET", "portcon.counts.isolate:sleep_for_tests")
    stuck = portcon.construct(scores, dict(LIMITED, mip_time_limit=1.0))
    assert stuck.path == "heuristic"
    monkeypatch.delenv("PORTCON_SCIP_TARGET")
    assert portcon.construct(scores, LIMITED).path == "mixed_integer"


def test_the_heuristic_keeps_floors_within_the_target() -> None:
    scores = _count_problem(4, 30)
    limits = dict(sizing_mode="score_weighted", min_position_size=0.05, mip_method="heuristic")
    portfolio = portcon.construct(scores, dict(limits, **OPEN))
    held = portfolio.weights[portfolio.weights > 0]
    assert portfolio.path == "heuristic"
    assert len(held) <= 19 and held.min() >= 0.05 - 1e-9
    assert held.sum() == pytest.approx(0.95, abs=1e-6)


def _feasible_by_counting(n: int, most: int | None, floor: float, cap: float, target: float):
    """Without rollover: some support size s ≤ most has s·floor ≤ target ≤ s·cap."""
    sizes = range(1, min(n, most or n) + 1)
    return any(s * floor <= target + 1e-12 and s * cap >= target - 1e-12 for s in sizes)


@pytest.mark.parametrize("method", ["auto", "heuristic"])
def test_random_count_problems_never_raise_a_false_infeasible_error(method: str) -> None:
    rng = np.random.default_rng(11)
    outcomes = {True: 0, False: 0}
    for case in range(14):
        n = int(rng.integers(4, 9))
        cap = float(rng.choice([0.1, 0.2, 0.3, 0.5]))
        floor = float(rng.choice([0.0, 0.02, 0.05, 0.1]))
        floor = min(floor, cap)
        most = int(rng.integers(1, n + 1))
        target = float(rng.choice([0.6, 0.8, 0.95]))
        limits = dict(
            sizing_mode="score_weighted",
            max_total_positions=most,
            min_position_size=floor or None,
            max_single_position=cap,
            target_allocation=target,
            allow_cash_rollover=False,
            mip_method=method,
            **OPEN,
        )
        feasible = _feasible_by_counting(n, most, floor, cap, target)
        outcomes[feasible] += 1
        scores = _count_problem(100 + case, n)
        if feasible:
            portfolio = portcon.construct(scores, limits)
            held = portfolio.weights[portfolio.weights > 0]
            assert len(held) <= most and held.sum() == pytest.approx(target, abs=1e-6)
        elif method == "auto":
            with pytest.raises(InfeasibleError):
                portcon.construct(scores, limits)
        else:
            with pytest.raises(portcon.PortconError):
                portcon.construct(scores, limits)
    assert outcomes[True] >= 4 and outcomes[False] >= 2


def _repairs_work(scores, limits, error: InfeasibleError) -> None:
    assert error.repairs
    for repair in error.repairs:
        portfolio = portcon.construct(scores, dict(limits, **repair))
        if "allow_cash_rollover" in repair:
            continue  # feasible by rolling the rest to cash
        target = repair.get("target_allocation", limits["target_allocation"])
        assert portfolio.weights.sum() == pytest.approx(target, abs=1e-6)


def test_too_few_positions_for_the_target_names_every_relaxable_limit() -> None:
    scores = _count_problem(2, 10)
    limits = dict(
        sizing_mode="score_weighted",
        max_total_positions=3,
        max_single_position=0.10,
        target_allocation=0.95,
        allow_cash_rollover=False,
        **OPEN,
    )
    with pytest.raises(InfeasibleError) as caught:
        portcon.construct(scores, limits)
    error = caught.value
    assert {"max_total_positions", "max_single_position", "target_allocation"} <= set(
        error.conflicts
    )
    assert "allow_cash_rollover" in error.conflicts
    repairs = {k: v for repair in error.repairs for k, v in repair.items()}
    assert repairs["max_total_positions"] == 10  # ⌈0.95 / 0.10⌉
    assert repairs["max_single_position"] == pytest.approx(0.95 / 3, abs=2e-4)
    assert repairs["target_allocation"] == pytest.approx(0.30, abs=2e-4)
    _repairs_work(scores, limits, error)


def test_one_position_per_bucket_names_the_bucket_limit_with_a_repair() -> None:
    scores = pd.DataFrame(
        {"score": np.linspace(0.3, 0.9, 9), "bucket": ["X", "Y", "Z"] * 3},
        index=[f"B{i}" for i in range(9)],
    )
    limits = dict(
        sizing_mode="score_weighted",
        max_positions_per_bucket=1,
        max_single_position=0.20,
        target_allocation=0.95,
        allow_cash_rollover=False,
        **OPEN,
    )
    with pytest.raises(InfeasibleError) as caught:
        portcon.construct(scores, limits)
    error = caught.value
    repairs = {k: v for repair in error.repairs for k, v in repair.items()}
    assert repairs["max_positions_per_bucket"] == 2  # 3 buckets × 2 × 20% ≥ 95%
    assert {"max_single_position", "target_allocation"} <= set(error.conflicts)
    _repairs_work(scores, limits, error)
