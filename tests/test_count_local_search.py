"""The local search over supports (counts/local_search.py), its small QP (counts/support_qp.py)
and the stronger diagonal split of the perspective (counts/diagonal.py), each against a
reference written here: cvxpy programs stated from scratch and enumeration of every support."""

from __future__ import annotations

import itertools
import time

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
import portcon.counts.flow as flow
from portcon.counts import diagonal, local_search
from portcon.counts.heuristic import admissible, support_value
from portcon.counts.support_qp import support_qp

FLOOR, CAP = 0.1, 0.45


class _CapturedError(Exception):
    pass


def _count_step(monkeypatch, scores, limits, **market):
    """(program, counts, relaxation) as the count step receives them."""
    captured = {}

    def spy(program, counts, relaxation, deadline):
        captured.update(program=program, counts=counts, relaxation=relaxation)
        raise _CapturedError

    monkeypatch.setattr(flow, "select", spy)
    with pytest.raises((_CapturedError, portcon.PortconError)):
        portcon.construct(scores, limits, **market)
    monkeypatch.undo()
    return captured["program"], captured["counts"], captured["relaxation"]


def _book(seed: int, n: int, observations: int | None = None):
    rng = np.random.default_rng(seed)
    assets = [f"A{i}" for i in range(n)]
    if observations is None:
        exposures = rng.normal(size=(n, 3)) * 0.15
        covariance = exposures @ exposures.T + np.diag(rng.uniform(0.01, 0.06, n))
    else:  # a sample covariance of fewer observations than assets: singular
        returns = rng.normal(0.0, 0.04, size=(observations, n)) + rng.normal(0, 0.03, (1, n))
        covariance = np.cov(returns, rowvar=False)
    mu = rng.uniform(0.02, 0.15, n)
    return (
        pd.Series(rng.uniform(0.1, 1.0, n), index=assets),
        pd.DataFrame(covariance, assets, assets),
        pd.Series(mu, assets),
    )


def _limits(target_return: float, most: int) -> dict:
    return dict(
        sizing_mode="min_variance",
        min_score_threshold=None,
        target_allocation=1.0,
        allow_cash_rollover=False,
        max_single_position=CAP,
        min_position_size=FLOOR,
        max_total_positions=most,
        min_expected_return=target_return,
        mip_gap=1e-6,
    )


def _on_support(sigma, mu, support, target_return):
    """½ wᵀΣw on ``support``, fully invested, floors, caps and the return floor (or None)."""
    w = cp.Variable(len(support))
    rows = [cp.sum(w) == 1, w >= FLOOR, w <= CAP, mu[list(support)] @ w >= target_return]
    problem = cp.Problem(
        cp.Minimize(0.5 * cp.quad_form(w, sigma[np.ix_(support, support)], assume_PSD=True)),
        rows,
    )
    problem.solve(solver="CLARABEL")
    return problem.value if problem.status == cp.OPTIMAL else None


@pytest.mark.parametrize("seed", [0, 1])
def test_the_small_qp_of_a_support_is_the_program_on_that_support(monkeypatch, seed) -> None:
    scores, covariance, mu = _book(seed, 14)
    target = float(np.quantile(mu, 0.6))
    program, counts, relaxation = _count_step(
        monkeypatch, scores, _limits(target, 4), covariance=covariance, expected_returns=mu
    )
    qp = support_qp(program, counts, relaxation.objective)
    assert qp is not None
    sigma, m = covariance.to_numpy(), mu.to_numpy()
    rng = np.random.default_rng(seed)
    feasible = 0
    for _ in range(12):
        support = tuple(sorted(rng.choice(14, 4, replace=False)))
        expected = _on_support(sigma, m, support, target)
        found = qp.value(np.array(support))
        if expected is None:
            assert found is None
            continue
        feasible += 1
        assert found is not None
        assert found.objective == pytest.approx(expected, rel=1e-6)
        full = np.zeros(14)
        full[list(support)] = found.weights
        assert 0.5 * full @ sigma @ full == pytest.approx(expected, rel=1e-6)
    assert feasible >= 4


def test_the_small_qp_prices_cash_as_the_program_does(monkeypatch) -> None:
    """Mean-variance with cash rollover: the cash column and its penalty match the program's
    own solve of the same support."""
    scores, covariance, mu = _book(3, 12)
    limits = dict(
        sizing_mode="mean_variance",
        risk_aversion=4.0,
        min_score_threshold=None,
        max_single_position=0.2,
        min_position_size=0.05,
        max_total_positions=4,
    )
    program, counts, relaxation = _count_step(
        monkeypatch, scores, limits, covariance=covariance, expected_returns=mu
    )
    qp = support_qp(program, counts, relaxation.objective)
    assert qp is not None and qp.uses_cash
    for support in ([0, 3, 5, 7], [1, 2], [4, 8, 9, 11]):
        held = np.zeros(12, dtype=bool)
        held[support] = True
        found = qp.value(np.array(support))
        assert found is not None
        assert found.objective == pytest.approx(support_value(program, held, counts), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_local_search_finds_the_best_support_of_every_one(monkeypatch, seed) -> None:
    n, most = 12, 3
    scores, covariance, mu = _book(seed, n)
    target = float(np.quantile(mu, 0.7))
    program, counts, relaxation = _count_step(
        monkeypatch, scores, _limits(target, most), covariance=covariance, expected_returns=mu
    )
    monkeypatch.setattr(local_search, "SMALLEST", 0)
    monkeypatch.setattr(local_search, "STALE_KICKS", 30)  # ends by kicks, not by the clock
    found = local_search.incumbent(program, counts, relaxation, time.perf_counter() + 600)
    assert found is not None
    sigma, m = covariance.to_numpy(), mu.to_numpy()
    values = [
        value
        for size in range(1, most + 1)
        for support in itertools.combinations(range(n), size)
        if (value := _on_support(sigma, m, support, target)) is not None
    ]
    best = min(values)
    assert found.held.sum() <= most
    assert admissible(program, found.held, counts)
    assert found.objective == pytest.approx(
        _on_support(sigma, m, tuple(np.flatnonzero(found.held)), target), rel=1e-6
    )
    assert found.objective == pytest.approx(best, rel=1e-6)


def test_the_stronger_split_keeps_the_covariance() -> None:
    _, covariance, _ = _book(4, 30)
    sigma = covariance.to_numpy()
    eigenvalues, vectors = np.linalg.eigh(sigma)
    shift = 0.999 * eigenvalues.min()  # the factor model's split: δ I
    exposures = vectors * np.sqrt(np.maximum(eigenvalues - shift, 0.0))
    specific = np.full(30, np.sqrt(shift))
    new_exposures, new_specific = diagonal.stronger_split(exposures, specific)
    rebuilt = new_exposures @ new_exposures.T + np.diag(new_specific**2)
    assert np.max(np.abs(rebuilt - sigma)) <= 1e-10 * np.max(np.abs(sigma))
    assert np.sum(new_specific**2) >= diagonal.GAIN * np.sum(specific**2)
    assert np.linalg.eigvalsh(sigma - np.diag(new_specific**2)).min() >= -1e-12


def test_a_singular_covariance_keeps_its_split() -> None:
    _, covariance, _ = _book(5, 30, observations=12)
    sigma = covariance.to_numpy()
    eigenvalues, vectors = np.linalg.eigh(sigma)
    exposures = vectors * np.sqrt(np.maximum(eigenvalues, 0.0))
    specific = np.zeros(30)
    new_exposures, new_specific = diagonal.stronger_split(exposures, specific)
    assert new_exposures is exposures and new_specific is specific


def test_construct_on_a_singular_book_answers_with_a_checked_support() -> None:
    """120 names, 50 observations (singular Σ), ≤ 5 names: the local search runs beside SCIP;
    whatever support is returned, its weights are the optimum of a plain cvxpy program on it
    and the objective is ½ wᵀΣw recomputed here."""
    n = 120
    scores, covariance, mu = _book(6, n, observations=50)
    target = float(np.quantile(mu, 0.8))
    limits = dict(_limits(target, 5), max_single_position=1.0, min_position_size=0.02)
    limits.update(mip_time_limit=4.0, mip_gap=1e-4)
    portfolio = portcon.construct(scores, limits, covariance=covariance, expected_returns=mu)
    w = portfolio.weights.reindex(covariance.index).fillna(0.0).to_numpy()
    sigma, m = covariance.to_numpy(), mu.to_numpy()
    held = np.flatnonzero(w > 1e-9)
    assert len(held) <= 5
    assert np.all(w[held] >= 0.02 - 1e-7)
    assert m @ w >= target - 1e-7
    assert 0.5 * w @ sigma @ w == pytest.approx(portfolio.objective, rel=1e-6)
    x = cp.Variable(len(held))
    unit = 1.0 / portfolio.objective  # solved in units of the answer: Clarabel's absolute
    reference = cp.Problem(  # tolerances would blur a value of ~5e-5
        cp.Minimize(0.5 * unit * cp.quad_form(x, sigma[np.ix_(held, held)], assume_PSD=True)),
        [cp.sum(x) == 1, x >= 0.02, x <= 1.0, m[held] @ x >= target],
    )
    reference.solve(solver="CLARABEL")
    assert portfolio.objective == pytest.approx(reference.value / unit, rel=1e-6)
    assert portfolio.mip_bound <= portfolio.objective
    gap = (portfolio.objective - portfolio.mip_bound) / abs(portfolio.objective)
    assert portfolio.mip_gap == pytest.approx(gap, abs=1e-9)
    assert portfolio.path in ("mixed_integer", "heuristic")
    if portfolio.path == "heuristic":  # never silent: the notes say what chose the support
        assert any("local search" in note or "heuristic" in note for note in portfolio.notes)
