"""Hard floors, group floors and group relations (issue 14, items 1 and 2).

Naive references are written out here in plain cvxpy; tolerances are per quantity.
"""

from __future__ import annotations

import itertools
import warnings

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.limits.relations import parse_relation
from portcon.report.check_floors import floor_violations
from portcon.universe import Universe
from tests.finite_differences import moved

WEIGHTS = 1e-6
RESIDUAL = 1e-6
N = 9
ASSETS = [f"A{i}" for i in range(N)]
BUCKETS = ["Tech"] * 3 + ["Health"] * 3 + ["Energy"] * 3
SECTORS = ["Growth", "Value", "Value"] * 3
TIGHT = {"solver": "CLARABEL", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}


def _covariance() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    loadings = rng.normal(size=(N, 3)) * 0.15
    specific = np.linspace(0.02, 0.06, N) ** 2
    matrix = loadings @ loadings.T + np.diag(specific)
    return pd.DataFrame(matrix, index=ASSETS, columns=ASSETS)


COVARIANCE = _covariance()
MU = pd.Series(np.linspace(0.03, 0.12, N), index=ASSETS)


def _scores(**columns: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"score": np.linspace(0.7, 0.95, N), "bucket": BUCKETS, "sector": SECTORS}, index=ASSETS
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


BASE = {
    "sizing_mode": "min_variance",
    "max_single_position": 0.3,
    "target_allocation": 0.95,
    "allow_cash_rollover": False,
    "min_score_threshold": 0.0,
}
FLOORED = {
    **BASE,
    "asset_floors": {"A8": 0.12},
    "bucket_floors": {"Energy": 0.4},
    "min_sector_allocation": 0.1,
    "group_relations": ["Tech <= 0.5 * Health", "sector:Growth + Energy >= 0.55"],
}


def _naive(limits: dict, column_floor: np.ndarray | None = None) -> np.ndarray:
    """min ½ wᵀΣw over the limits of ``FLOORED``, written out by hand."""
    w = cp.Variable(N)
    buckets, sectors = np.array(BUCKETS), np.array(SECTORS)
    constraints = [cp.sum(w) == limits["target_allocation"], w >= 0]
    constraints.append(w <= limits["max_single_position"])
    for name, floor in limits.get("asset_floors", {}).items():
        constraints.append(w[ASSETS.index(name)] >= floor)
    if column_floor is not None:
        given = ~np.isnan(column_floor)
        constraints.append(w[given] >= column_floor[given])
    for bucket, floor in limits.get("bucket_floors", {}).items():
        constraints.append(cp.sum(w[buckets == bucket]) >= floor)
    for sector in sorted(set(SECTORS)):
        constraints.append(cp.sum(w[sectors == sector]) >= limits.get("min_sector_allocation", 0))
    tech, health = cp.sum(w[buckets == "Tech"]), cp.sum(w[buckets == "Health"])
    energy, growth = cp.sum(w[buckets == "Energy"]), cp.sum(w[sectors == "Growth"])
    constraints += [tech <= 0.5 * health, growth + energy >= 0.55]
    objective = cp.Minimize(0.5 * cp.quad_form(w, COVARIANCE.to_numpy()))
    cp.Problem(objective, constraints).solve(**TIGHT)
    return np.asarray(w.value)


def test_floors_and_relations_match_a_naive_program() -> None:
    portfolio = portcon.construct(_scores(), FLOORED, covariance=COVARIANCE)
    weights = portfolio.weights.reindex(ASSETS).to_numpy()
    np.testing.assert_allclose(weights, _naive(FLOORED), atol=WEIGHTS)
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL
    binding = portfolio.sensitivity()
    for label in ("asset_floors[A8]", "bucket_floors[Energy]"):
        assert label in binding.index
    assert "group_relations[Tech <= 0.5 * Health]" in binding.index
    assert not floor_violations(weights, Universe.from_scores(_scores()), portfolio.limits, 1e-8)


def test_column_floor_matches_the_naive_program() -> None:
    column = np.full(N, np.nan)
    column[0] = 0.15
    limits = {**FLOORED, "asset_floors": {}}
    portfolio = portcon.construct(_scores(floor_weight=column), limits, covariance=COVARIANCE)
    weights = portfolio.weights.reindex(ASSETS).to_numpy()
    np.testing.assert_allclose(weights, _naive(limits, column), atol=WEIGHTS)
    assert weights[0] >= 0.15 - 1e-9
    assert "floor_weight[A0]" in portfolio.sensitivity().index
    assert "floor" in portfolio.explanations.loc["A0", "reason"]


def test_shadow_prices_of_floors_match_finite_differences() -> None:
    """Central differences with step 1e-3: the objective is ~1e-3 here and carries ~1e-10 of
    solver noise, which a 1e-5 step turns into 1e-5 of slope (1% of the Energy price); the
    optimum is piecewise quadratic in each floor, so the central difference is exact while the
    active set stays (checked: the one-sided slopes at 1e-3 bracket the price)."""
    scores, step = _scores(), 1e-3
    limits = {k: v for k, v in FLOORED.items() if k != "group_relations"}
    portfolio = portcon.construct(scores, limits, covariance=COVARIANCE)
    prices = portfolio.sensitivity()

    def objective_with(moved: dict) -> float:
        return portcon.construct(scores, moved, covariance=COVARIANCE).objective

    for field, group in (
        ("asset_floors", "A8"),
        ("bucket_floors", "Energy"),
        ("min_sector_allocation", None),
    ):
        up = objective_with(moved(limits, field, group, step))
        down = objective_with(moved(limits, field, group, -step))
        label = field if group is None else f"{field}[{group}]"
        price = prices.loc[label, "shadow_price"]
        assert -(up - down) / (2 * step) == pytest.approx(price, rel=1e-3, abs=5e-7), label
    assert (prices.loc[["asset_floors[A8]", "bucket_floors[Energy]"], "shadow_price"] < 0).all()


@pytest.mark.parametrize("relation", ["Tech <= 0.5 * Health", "sector:Growth + Energy >= 0.55"])
def test_shadow_price_of_a_relation_matches_finite_differences(relation: str) -> None:
    scores, step = _scores(), 1e-5
    price = portcon.construct(scores, FLOORED, covariance=COVARIANCE).sensitivity()
    parsed = parse_relation(relation)

    def objective(constant: float) -> float:
        moved = [
            parsed.with_constant(constant) if r == relation else r
            for r in FLOORED["group_relations"]
        ]
        limits = {**FLOORED, "group_relations": moved}
        return portcon.construct(scores, limits, covariance=COVARIANCE).objective

    slope = -(objective(parsed.constant + step) - objective(parsed.constant - step)) / (2 * step)
    reported = price.loc[f"group_relations[{relation}]", "shadow_price"]
    assert reported == pytest.approx(slope, rel=1e-3, abs=1e-6)
    assert price.loc[f"group_relations[{relation}]", "value"] == parsed.constant


def test_max_sharpe_with_floors_matches_the_homogenised_program() -> None:
    limits = {**BASE, "sizing_mode": "max_sharpe", "asset_floors": {"A0": 0.1}}
    limits["bucket_floors"] = {"Tech": 0.35}
    portfolio = portcon.construct(_scores(), limits, covariance=COVARIANCE, expected_returns=MU)
    y, scale = cp.Variable(N), cp.Variable(nonneg=True)
    tech = np.array(BUCKETS) == "Tech"
    constraints = [MU.to_numpy() @ y == 1, cp.sum(y) == 0.95 * scale, y >= 0, y <= 0.3 * scale]
    constraints += [y[0] >= 0.1 * scale, cp.sum(y[tech]) >= 0.35 * scale]
    cp.Problem(cp.Minimize(cp.quad_form(y, COVARIANCE.to_numpy())), constraints).solve(**TIGHT)
    expected = np.asarray(y.value) / float(scale.value)
    np.testing.assert_allclose(portfolio.weights.reindex(ASSETS), expected, atol=1e-5)
    assert portfolio.weights["A0"] >= 0.1 - 1e-9


def test_risk_parity_with_floors_and_the_semicontinuous_message() -> None:
    limits = {**BASE, "sizing_mode": "risk_parity", "asset_floors": {"A0": 0.2}}
    portfolio = portcon.construct(_scores(), limits, covariance=COVARIANCE)
    assert portfolio.weights["A0"] >= 0.2 - 1e-9
    assert np.abs(portfolio.explanations["residual"]).max() < RESIDUAL
    assert portfolio.sensitivity().loc["asset_floors[A0]", "shadow_price"] < 0
    semi = _scores(min_weight_if_held=[0.2] + [np.nan] * (N - 1))
    with pytest.raises(portcon.LimitsError, match="floor_weight"):
        portcon.construct(semi, {**BASE, "sizing_mode": "risk_parity"}, covariance=COVARIANCE)


def test_a_floored_asset_is_held_under_position_counts() -> None:
    limits = {**BASE, "asset_floors": {"A0": 0.05}, "max_total_positions": 4}
    portfolio = portcon.construct(_scores(), limits, covariance=COVARIANCE)
    weights = portfolio.weights.reindex(ASSETS).to_numpy()
    assert weights[0] >= 0.05 - 1e-9 and np.count_nonzero(weights > 1e-10) <= 4
    best = np.inf
    for others in itertools.combinations(range(1, N), 3):  # brute force over supports with A0
        w = cp.Variable(4)
        covariance = COVARIANCE.to_numpy()[np.ix_((0, *others), (0, *others))]
        problem = cp.Problem(
            cp.Minimize(0.5 * cp.quad_form(w, covariance)),
            [cp.sum(w) == 0.95, w >= 0, w <= 0.3, w[0] >= 0.05],
        )
        problem.solve(**TIGHT)
        if problem.status == cp.OPTIMAL:
            best = min(best, problem.value)
    assert portfolio.objective == pytest.approx(best, rel=1e-6, abs=1e-9)


def test_diagnosis_names_and_repairs_floors_and_relations() -> None:
    limits = {
        "sizing_mode": "score_weighted",
        "bucket_floors": {"Tech": 0.4},
        "bucket_caps": {"Health": 0.3},
        "group_relations": ["Tech <= Health"],
    }
    with pytest.raises(portcon.InfeasibleError) as caught:
        portcon.construct(_scores(), limits)
    error = caught.value
    assert set(error.conflicts) >= {"bucket_floors[Tech]", "group_relations[Tech <= Health]"}
    assert len(error.repairs) == 3
    for repair in error.repairs:
        portcon.construct(_scores(), {**limits, **repair})
    floor = next(r for r in error.repairs if "bucket_floors" in r)["bucket_floors"]["Tech"]
    halfway = {**limits, "bucket_floors": {"Tech": (floor + 0.4) / 2}}
    with pytest.raises(portcon.InfeasibleError):
        portcon.construct(_scores(), halfway)


def test_diagnosis_of_a_column_floor_says_how_to_lower_it() -> None:
    scores = _scores(floor_weight=[0.12] + [np.nan] * (N - 1))
    expected = r"floor_weight of A0 \(scores column\) to 10"
    with pytest.raises(portcon.InfeasibleError, match=expected):
        portcon.construct(scores, {"sizing_mode": "score_weighted", "bucket_caps": {"Tech": 0.1}})


def test_checker_flags_every_broken_floor() -> None:
    universe = Universe.from_scores(_scores(floor_weight=[0.2] + [np.nan] * (N - 1)))
    limits = portcon.Limits(**FLOORED)
    found = floor_violations(np.full(N, 1 / N), universe, limits, 1e-8)
    text = " ".join(found)
    for part in ("floor_weight A0", "asset_floors A8", "bucket floor Energy", "Tech <= 0.5"):
        assert part in text


def test_min_weight_column_migrates_with_a_warning() -> None:
    old = _scores(min_weight=[0.05] * N)
    with pytest.warns(FutureWarning, match="min_weight_if_held"):
        universe = Universe.from_scores(old)
    assert universe.min_weight is not None and universe.floor_weight is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Universe.from_scores(_scores(min_weight_if_held=[0.05] * N))
    with pytest.raises(portcon.InputError, match="old name"):
        Universe.from_scores(_scores(min_weight=[0.05] * N, min_weight_if_held=[0.05] * N))


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"asset_floors": {"A0": 0.5}}, "above max_single_position"),
        ({"bucket_floors": {"Tech": 0.5}, "max_bucket_allocation": 0.4}, "above its cap"),
        ({"min_bucket_allocation": 0.4}, "sum to 120.0%"),
        ({"asset_floors": {"A9": 0.1}}, "not in the scores"),
        ({"asset_floors": {"A0": 0.1}, "min_score_threshold": 0.9}, "not eligible"),
        ({"group_relations": ["Tech <= 2 * Helth"]}, "did you mean 'Health'"),
        ({"group_relations": ["bucket:Growth <= 0.3"]}, "no buckets named 'Growth'"),
        ({"group_relations": ["Tech < Health"]}, "exactly one of <=, >= or =="),
    ],
)
def test_bad_floors_are_named(limits: dict, message: str) -> None:
    with pytest.raises(portcon.LimitsError, match=message):
        portcon.construct(_scores(), {"sizing_mode": "score_weighted", **limits})


def test_bad_floor_column_is_named() -> None:
    with pytest.raises(portcon.InputError, match="above max_weight for A0"):
        Universe.from_scores(_scores(floor_weight=[0.2] + [np.nan] * 8, max_weight=[0.1] * N))
    with pytest.raises(portcon.InputError, match="floors sum to"):
        Universe.from_scores(_scores(floor_weight=[0.2] * N))


def test_relation_syntax_and_toml_round_trip() -> None:
    relation = parse_relation("bucket:'Tech [US]' - 0.5*sector:Energy <= 0.02 + Utilities")
    assert relation.terms == (
        (("bucket", "Tech [US]"), 1.0),
        (("sector", "Energy"), -0.5),
        ((None, "Utilities"), -1.0),
    )
    assert relation.constant == 0.02
    limits = portcon.Limits(group_relations="Tech <= 2 * Health; Energy == 0.1")
    assert tuple(limits.group_relations) == ("Tech <= 2 * Health", "Energy == 0.1")
    import tomllib

    assert portcon.Limits(**tomllib.loads(limits.to_toml())) == limits


def test_the_count_heuristic_holds_floored_assets_first() -> None:
    """A1 has no weight without its floor, so a greedy by relaxed weight would leave it out and
    find no feasible support; seeded first, the heuristic holds it (and is never better than
    SCIP's proven optimum)."""
    free = portcon.construct(_scores(), {**BASE, "max_total_positions": 4}, covariance=COVARIANCE)
    assert free.weights["A1"] == 0
    limits = {**BASE, "asset_floors": {"A1": 0.01}, "max_total_positions": 4}
    exact = portcon.construct(_scores(), limits, covariance=COVARIANCE)
    greedy = portcon.construct(
        _scores(), {**limits, "mip_method": "heuristic"}, covariance=COVARIANCE
    )
    assert greedy.weights["A1"] >= 0.01 - 1e-9
    assert (greedy.weights > 1e-10).sum() <= 4
    assert greedy.objective >= exact.objective - 1e-9


def test_reasons_name_the_floored_group_and_the_relation() -> None:
    limits = {**BASE, "bucket_floors": {"Energy": 0.5}, "group_relations": ["Tech >= Health"]}
    portfolio = portcon.construct(_scores(), limits, covariance=COVARIANCE)
    reasons = portfolio.explanations["reason"]
    assert reasons["A8"].count("Energy bucket floor binding (bucket_floors") == 1
    assert "group relation 'Tech >= Health' binding" in reasons["A0"]
