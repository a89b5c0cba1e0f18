"""The factor path builds nothing N × N that no rule needs, and answers as the dense path does.

Issue 15: the optimizer states risk as ‖Gᵀw‖² + ‖d∘w‖². Each shortcut taken to avoid a dense
object is checked here against a naive program written from scratch with the dense Σ
(cvxpy's quad_form), or against numpy.
"""

from __future__ import annotations

import tracemalloc

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import FactorModel
from portcon.estimators import factor_model as factor_module
from portcon.market import MarketData
from portcon.optimizer import factor_kkt
from portcon.optimizer.model import clear_cache
from portcon.sizing import risk_objectives

CAP = 0.05
BUCKETS = 10
BUCKET_CAP = 0.15
WEIGHTS = 1e-5  # the reference is an interior point: ~√tolerance at degenerate rows
OBJECTIVE = 1e-9  # relative


def factor_book(n: int, seed: int, factors: int = 10):
    """A factor model, expected returns and bucket labels (as benchmarks/bench_risk.py)."""
    rng = np.random.default_rng(seed)
    assets = [f"A{i:04d}" for i in range(n)]
    names = [f"F{j}" for j in range(factors)]
    root = rng.normal(0, 0.2, (factors, factors))
    model = FactorModel(
        loadings=pd.DataFrame(rng.normal(0, 0.3, (n, factors)), index=assets, columns=names),
        factor_covariance=pd.DataFrame(
            root @ root.T / factors + 0.01 * np.eye(factors), index=names, columns=names
        ),
        specific_variance=pd.Series(rng.uniform(0.01, 0.09, n), index=assets),
    )
    mu = pd.Series(rng.uniform(0.02, 0.15, n), index=assets)
    buckets = pd.Series([f"B{k % BUCKETS}" for k in range(n)], index=assets)
    return model, mu, buckets


def construct(model, mu, buckets, **limits) -> portcon.Portfolio:
    scores = pd.DataFrame({"score": 0.8, "bucket": buckets})
    fields = dict(
        target_allocation=1.0,
        min_score_threshold=None,
        max_single_position=CAP,
        max_bucket_allocation=BUCKET_CAP,
        **limits,
    )
    return portcon.construct(scores, fields, factor_model=model, expected_returns=mu)


def naive(covariance: np.ndarray, mu: np.ndarray, buckets: pd.Series, objective) -> np.ndarray:
    """The program stated from scratch on the dense Σ: caps, bucket caps, a budget."""
    w = cp.Variable(len(mu))
    rows = [w >= 0, w <= CAP]
    rows += [cp.sum(w[np.flatnonzero(buckets == b)]) <= BUCKET_CAP for b in sorted(set(buckets))]
    budget, cash_free = objective(w, covariance, mu)
    rows.append(cp.sum(w) <= 1 if cash_free else cp.sum(w) == 1)
    tight = {"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11}
    cp.Problem(cp.Minimize(budget), rows).solve(solver="CLARABEL", **tight)
    return np.asarray(w.value)


def mean_variance(w, covariance, mu):
    return -mu @ w + 0.5 * 2.0 * cp.quad_form(w, cp.psd_wrap(covariance)), False


def quadratic_kelly(w, covariance, mu):
    return -mu @ w + cp.quad_form(w, cp.psd_wrap(covariance)) / (2 * 0.5), True


@pytest.mark.parametrize(
    ("limits", "reference"),
    [
        (dict(sizing_mode="mean_variance", risk_aversion=2.0), mean_variance),
        (dict(sizing_mode="kelly", kelly_fraction=0.5), quadratic_kelly),
    ],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_factor_objectives_equal_the_dense_quad_form(limits, reference, seed) -> None:
    model, mu, buckets = factor_book(120, seed)
    portfolio = construct(model, mu, buckets, **limits)
    covariance = model.covariance().to_numpy()
    expected = naive(covariance, mu.to_numpy(), buckets, reference)
    ours = portfolio.weights.to_numpy()
    assert np.max(np.abs(ours - expected)) < WEIGHTS

    def value(w):
        return float(reference(cp.Constant(w), covariance, mu.to_numpy())[0].value)

    assert abs(value(ours) - value(expected)) <= OBJECTIVE * abs(value(expected))


def test_the_factor_path_never_builds_the_dense_covariance(monkeypatch) -> None:
    """No rule here needs Σ itself (no correlation_limit): building it is a failure."""

    def refuse(self):
        raise AssertionError("the dense covariance was built on the factor path")

    monkeypatch.setattr(MarketData, "covariance", refuse)
    monkeypatch.setattr(FactorModel, "covariance", refuse)
    model, mu, buckets = factor_book(300, seed=3)
    for mode in ("mean_variance", "min_variance"):
        clear_cache()
        portfolio = construct(model, mu, buckets, sizing_mode=mode, risk_aversion=2.0)
        assert portfolio.weights.sum() == pytest.approx(1.0, abs=1e-9)


def test_first_compile_holds_no_dense_objective_matrix() -> None:
    """cvxpy stores the objective's linear part densely, (variables in the objective) × (every
    Parameter entry): with μᵀw in the objective that was N × (N k + …) numbers, about k + 3
    dense N × N matrices. With μᵀw behind one scalar row it is a few rows. The peak of a first
    (compiling) call must stay under three N × N matrices of floats; cvxpy's own sparse index
    arrays for the 2N bound rows take about one."""
    n = 1200
    model, mu, buckets = factor_book(n, seed=4)
    clear_cache()
    tracemalloc.start()
    try:
        construct(model, mu, buckets, sizing_mode="mean_variance", risk_aversion=2.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 8 * n * n, f"peak {peak / 1e6:.1f} MB"


def _dense_covariance(n: int, seed: int, rank: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(rank or n + 20, n))
    assets = [f"A{i}" for i in range(n)]
    return pd.DataFrame(np.cov(draws, rowvar=False), index=assets, columns=assets)


@pytest.mark.parametrize("rank", [None, 12])
def test_from_covariance_factors_once_and_remembers(monkeypatch, rank) -> None:
    covariance = _dense_covariance(60, seed=5 + (rank or 0), rank=rank)
    decompositions: list[int] = []
    for name in ("eigh", "eigvalsh"):
        original = getattr(np.linalg, name)

        def counted(matrix, *args, _original=original, **kwargs):
            decompositions.append(np.shape(matrix)[0])
            return _original(matrix, *args, **kwargs)

        monkeypatch.setattr(np.linalg, name, counted)
    first = FactorModel.from_covariance(covariance)
    rebuilt = first.loadings.to_numpy() @ first.loadings.to_numpy().T
    rebuilt += np.diag(first.specific_variance.to_numpy())
    assert np.max(np.abs(rebuilt - covariance.to_numpy())) < 1e-12
    assert np.max(np.abs(first.covariance().to_numpy() - covariance.to_numpy())) < 1e-12
    assert [size for size in decompositions if size > 1] == [60]  # one eigh of Σ, no more
    first.loadings.iloc[0, 0] = 99.0  # the caller's copy: the remembered form is untouched
    second = FactorModel.from_covariance(covariance.copy())
    assert [size for size in decompositions if size > 1] == [60]  # remembered, not redone
    assert np.max(np.abs(second.covariance().to_numpy() - covariance.to_numpy())) < 1e-12


def test_from_covariance_remembers_by_content_not_identity() -> None:
    covariance = _dense_covariance(30, seed=7)
    FactorModel.from_covariance(covariance)
    changed = covariance.copy()
    changed.iloc[0, 0] += 0.5
    model = FactorModel.from_covariance(changed)
    assert np.max(np.abs(model.covariance().to_numpy() - changed.to_numpy())) < 1e-12


def test_from_covariance_still_refuses_what_check_covariance_refuses() -> None:
    covariance = _dense_covariance(8, seed=8)
    broken = covariance.copy()
    broken.iloc[0, 0] = -1.0
    with pytest.raises(portcon.InputError, match="not positive semidefinite"):
        FactorModel.from_covariance(broken)
    with pytest.raises(portcon.InputError, match="not positive semidefinite"):
        factor_module.check_covariance(broken)
    skewed = covariance.copy()
    skewed.iloc[0, 1] += 0.1
    with pytest.raises(portcon.InputError, match="not symmetric"):
        FactorModel.from_covariance(skewed)


def _kkt_system(seed: int, n: int = 40, factors: int = 4, rows: int = 3):
    rng = np.random.default_rng(seed)
    diagonal = rng.uniform(0.01, 0.1, n)
    low_rank = rng.normal(0, 0.3, (n, factors))
    gradients = np.vstack([np.ones(n), rng.integers(0, 2, (rows - 1, n)).astype(float)])
    free = np.sort(rng.choice(n, size=n - 7, replace=False))
    residual = rng.normal(size=len(free) + rows)
    return (diagonal, low_rank), gradients, free, residual


def _dense_step(parts, gradients, free, residual) -> np.ndarray:
    """The polish's KKT system written out dense and solved by numpy."""
    diagonal, low_rank = parts
    hessian = np.diag(diagonal) + low_rank @ low_rank.T
    jacobian = gradients[:, free]
    system = np.block(
        [
            [hessian[np.ix_(free, free)], jacobian.T],
            [jacobian, np.zeros((len(jacobian), len(jacobian)))],
        ]
    )
    return np.linalg.solve(system, -residual)


@pytest.mark.parametrize("seed", range(5))
def test_sparse_newton_step_equals_the_dense_solve(seed) -> None:
    parts, gradients, free, residual = _kkt_system(seed)
    step = factor_kkt.newton_step(parts, gradients, free, residual)
    expected = _dense_step(parts, gradients, free, residual)
    assert step is not None
    assert np.max(np.abs(step - expected)) <= 1e-10 * max(1.0, np.max(np.abs(expected)))


def test_dependent_rows_take_the_least_norm_prices_as_lstsq_does() -> None:
    """The budget row twice: Δλ is not unique; numpy's lstsq on the dense system (the polish
    before issue 15) takes the least-norm one, and so must the sparse step (1e-10)."""
    parts, gradients, free, residual = _kkt_system(0)
    doubled = np.vstack([gradients, gradients[:1]])
    extended = np.concatenate([residual, [residual[len(free)]]])  # the same gap twice
    step = factor_kkt.newton_step(parts, doubled, free, extended)
    diagonal, low_rank = parts
    hessian = (np.diag(diagonal) + low_rank @ low_rank.T)[np.ix_(free, free)]
    jacobian = doubled[:, free]
    system = np.block([[hessian, jacobian.T], [jacobian, np.zeros((4, 4))]])
    expected = np.linalg.lstsq(system, -extended, rcond=None)[0]
    assert step is not None
    assert np.max(np.abs(step - expected)) <= 1e-10 * max(1.0, np.max(np.abs(expected)))
    assert step[-1] == pytest.approx(step[len(free)], rel=1e-12)  # split evenly


def test_sparse_newton_step_declines_when_the_move_is_not_unique() -> None:
    parts, gradients, free, residual = _kkt_system(0)
    diagonal, low_rank = parts
    diagonal[free[:2]] = 0.0  # two weights without curvature, tied only by the budget row
    low_rank[free[:2]] = 0.0
    budget_only = gradients[:1]
    shortened = residual[: len(free) + 1]
    assert factor_kkt.newton_step((diagonal, low_rank), budget_only, free, shortened) is None


@pytest.mark.parametrize(
    ("n", "mode"), [(200, "mean_variance"), (100, "min_variance"), (100, "kelly")]
)
def test_polish_on_the_factor_form_equals_the_dense_polish(monkeypatch, n, mode) -> None:
    """Same KKT point whether the polish's Newton systems are solved sparse on the factor
    form or dense on Σ (the path before issue 15), to 1e-10. These books are degenerate
    enough that Clarabel's answer is polished (checked: the sparse step ran)."""
    model, mu, buckets = factor_book(n, seed=0)
    limits = dict(sizing_mode=mode, risk_aversion=2.0, kelly_fraction=0.5)
    steps: list[int] = []
    sparse_step = factor_kkt.newton_step

    def counted(*arguments):
        steps.append(1)
        return sparse_step(*arguments)

    monkeypatch.setattr(factor_kkt, "newton_step", counted)
    clear_cache()
    sparse = construct(model, mu, buckets, **limits)
    assert steps, "the polish did not run: the comparison would say nothing"
    for name in ("MinimumVariance", "MeanVariance", "QuadraticKelly"):
        monkeypatch.setattr(getattr(risk_objectives, name), "hessian_parts", lambda s, w: None)
    clear_cache()
    steps.clear()
    dense = construct(model, mu, buckets, **limits)
    assert not steps
    assert sparse.solver == dense.solver
    assert np.max(np.abs(sparse.weights - dense.weights)) <= 1e-10


def _dense_spinu(covariance: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """Spinu's Newton on the dense Σ, as portcon did it before issue 15."""
    y = budgets / np.sqrt(np.diag(covariance))
    y = y / np.sqrt(y @ covariance @ y)
    for _ in range(200):
        gradient = covariance @ y - budgets / y
        if np.max(np.abs(gradient * y)) < 1e-14:
            break
        step = np.linalg.solve(covariance + np.diag(budgets / y**2), -gradient)
        scale = 1.0
        while np.any(y + scale * step <= 0):
            scale *= 0.5
        y = y + scale * step
    return y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spinu_on_the_factor_form_equals_the_dense_newton(seed) -> None:
    model, _, _ = factor_book(150, seed=seed, factors=6)
    budgets = np.random.default_rng(seed).uniform(0.5, 2.0, 150)
    budgets /= budgets.sum()
    specific = np.sqrt(model.specific_variance.to_numpy())
    market = MarketData(exposures=model.exposures(), specific=specific)
    ours = risk_objectives.spinu(market, budgets)
    covariance = model.covariance().to_numpy()
    expected = _dense_spinu(covariance, budgets)
    assert np.max(np.abs(ours - expected) / expected) < 1e-10
    contributions = ours * (covariance @ ours)  # Spinu's optimum: y_i (Σy)_i = b_i
    assert np.max(np.abs(contributions - budgets)) < 1e-13
