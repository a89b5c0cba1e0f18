"""The what-if speed work changed how the independent checks run (whole arrays, words only for
what is broken), not what they say: each is compared with a plain per-asset loop written here,
on random held books whose weights break every kind of rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portcon import FactorModel, Scenario, construct, whatif
from portcon.limits import Limits
from portcon.report.check_floors import floor_violations
from portcon.report.check_held import held_violations
from portcon.scenarios.inputs import Inputs, shocked
from portcon.universe import Universe

TOLERANCE = 1e-8


def _held_reference(w: np.ndarray, universe: Universe, limits: Limits) -> list[str]:
    """The per-asset rules of a held book, one asset at a time (turnover and trade size are
    whole-book rules, left out: the cases below set neither)."""
    found: list[str] = []
    n = universe.size
    current = universe.current_weight if universe.current_weight is not None else np.zeros(n)
    fixed = universe.fixed_weight if universe.fixed_weight is not None else np.full(n, np.nan)
    days, below = universe.days_held, universe.days_below_threshold
    confidence = universe.trending_confidence
    keep = limits.min_score_threshold
    entry = max([t for t in (keep, limits.min_score_new_position) if t is not None], default=None)
    for i in range(n):
        name, weight, score = str(universe.assets[i]), float(w[i]), float(universe.score[i])
        if not np.isnan(fixed[i]):
            if abs(weight - fixed[i]) > TOLERANCE:
                found.append(f"fixed_weight {name}: {weight} instead of {fixed[i]}")
            continue
        held = current[i] != 0
        pinned_days = limits.min_holding_days is not None and days is not None
        if held and pinned_days and days[i] < limits.min_holding_days:
            frozen = min(current[i], limits.max_single_position or 1.0)
            if universe.max_weight is not None and not np.isnan(universe.max_weight[i]):
                frozen = min(frozen, universe.max_weight[i])
            if abs(weight - frozen) > TOLERANCE:
                found.append(f"min_holding_days {name}: {weight} instead of {frozen}")
            continue
        if weight == 0:
            continue
        if not held:
            if entry is not None and score < entry:
                field = "min_score_threshold" if entry == keep else "min_score_new_position"
                found.append(f"{field} {name}: score {score} opened at {weight}")
            floor = limits.min_confidence_new
            if floor is not None and confidence is not None and confidence[i] < floor:
                found.append(f"min_confidence_new {name}: opened at {weight}")
            continue
        floor = limits.min_confidence_existing
        if floor is not None and confidence is not None and confidence[i] < floor:
            found.append(f"min_confidence_existing {name}: held at {weight}")
        if keep is None or score >= keep:
            continue
        grace = limits.grace_period_days
        if grace is None or below is None or below[i] >= grace:
            found.append(f"min_score_threshold {name}: score {score} held at {weight}")
            continue
        cap = current[i] * (limits.grace_decay_rate if below[i] >= 1 else 1.0)
        if weight > cap + TOLERANCE:
            found.append(f"grace {name}: {weight} above {cap}")
    return found


def _held_book(rng: np.random.Generator, n: int) -> tuple[Universe, np.ndarray]:
    assets = [f"X{i:03d}" for i in range(n)]
    held = rng.random(n) < 0.5
    current = np.where(held, rng.uniform(0.005, 0.05, n), 0.0)
    fixed = np.where(rng.random(n) < 0.1, rng.uniform(0.0, 0.04, n), np.nan)
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.0, 1.0, n),
            "current_weight": current / max(1.0, current.sum()),
            "days_held": np.where(held, rng.integers(0, 40, n), 0),
            "days_below_threshold": np.where(held, rng.integers(0, 6, n), 0),
            "trending_confidence": rng.uniform(0.0, 1.0, n),
            "fixed_weight": fixed,
            "max_weight": np.where(rng.random(n) < 0.3, rng.uniform(0.01, 0.05, n), np.nan),
        },
        index=assets,
    )
    universe = Universe.from_scores(frame)
    weights = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.0, 0.05, n))
    copy = rng.random(n) < 0.3  # some weights exactly at their fixed weight or current weight
    weights = np.where(copy & ~np.isnan(fixed), fixed, weights)
    weights = np.where(copy & np.isnan(fixed), universe.current_weight, weights)
    return universe, weights


@pytest.mark.parametrize("seed", range(12))
def test_held_check_says_what_a_loop_over_assets_says(seed: int) -> None:
    rng = np.random.default_rng(seed)
    universe, weights = _held_book(rng, 60)
    limits = Limits(
        max_single_position=float(rng.choice([0.03, 0.2])),
        min_score_threshold=float(rng.uniform(0.2, 0.5)),
        min_score_new_position=[None, 0.6][seed % 2],
        min_holding_days=[None, 10][(seed // 2) % 2],
        grace_period_days=[None, 3][(seed // 4) % 2],
        grace_decay_rate=0.5,
        min_confidence_new=[None, 0.3][seed % 3 == 0],
        min_confidence_existing=[None, 0.2][seed % 3 == 1],
    )
    expected = _held_reference(weights, universe, limits)
    assert len(expected) > 3  # the case breaks rules, so the words are compared too
    assert held_violations(weights, universe, limits, TOLERANCE) == expected


def _floors_reference(w: np.ndarray, universe: Universe, limits: Limits) -> list[str]:
    names = [str(a) for a in universe.assets]
    found = []
    for k, floor in enumerate(universe.floor_weight):
        if not np.isnan(floor) and w[k] < floor - TOLERANCE:
            found.append(f"floor_weight {names[k]}: {w[k]:.10f} < {floor:.10f}")
    for name, floor in limits.asset_floors.items():
        weight = float(w[names.index(name)]) if name in names else 0.0
        if weight < floor - TOLERANCE:
            found.append(f"asset_floors {name}: {weight:.10f} < {floor:.10f}")
    for group in sorted(set(universe.bucket)):
        floor = limits.bucket_floors.get(group, limits.min_bucket_allocation)
        total = float(w[universe.bucket == group].sum())
        if floor is not None and total < floor - TOLERANCE:
            found.append(f"bucket floor {group}: {total:.10f} < {floor:.10f}")
    return found


@pytest.mark.parametrize("seed", range(6))
def test_floor_check_says_what_a_loop_over_assets_says(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = 40
    assets = [f"Y{i:02d}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.1, 1.0, n),
            "bucket": [f"B{i % 4}" for i in range(n)],
            "floor_weight": np.where(rng.random(n) < 0.4, rng.uniform(0.001, 0.02, n), np.nan),
        },
        index=assets,
    )
    universe = Universe.from_scores(frame)
    weights = rng.uniform(0.0, 0.02, n)
    limits = Limits(
        asset_floors={assets[1]: 0.015, assets[7]: 0.001},
        min_bucket_allocation=[None, 0.13][seed % 2],
        bucket_floors={"B2": 0.2} if seed % 3 else {},
    )
    expected = _floors_reference(weights, universe, limits)
    assert expected
    assert floor_violations(weights, universe, limits, TOLERANCE) == expected


def _wide_model_book() -> tuple[pd.DataFrame, Limits, dict[str, object]]:
    """Scores of 30 assets and a factor model of 45, in another order."""
    rng = np.random.default_rng(3)
    covered = [f"Z{i:02d}" for i in range(45)]
    held = covered[:30]
    frame = pd.DataFrame(
        {"score": rng.uniform(0.5, 1.0, 30), "bucket": [f"B{i % 3}" for i in range(30)]},
        index=held,
    )
    order = list(rng.permutation(covered))
    factors = ["F1", "F2", "F3"]
    loadings = pd.DataFrame(rng.normal(0, 0.2, (45, 3)), order, factors)
    factor_cov = pd.DataFrame(np.diag([0.04, 0.02, 0.03]), factors, factors)
    model = FactorModel(loadings, factor_cov, pd.Series(rng.uniform(0.01, 0.03, 45), order))
    limits = Limits(
        sizing_mode="score_weighted",
        max_single_position=0.1,
        max_bucket_allocation=0.4,
        min_score_threshold=None,
        max_portfolio_volatility=0.12,
    )
    return frame, limits, {"factor_model": model}


def test_scenarios_on_a_wider_factor_model_equal_fresh_constructs_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The base's model is aligned once on the base's assets and reused; each answer is still
    the one construct gives on the scenario's inputs with the caller's (wider) model."""
    frame, limits, market = _wide_model_book()
    copies = []
    real = FactorModel.subset

    def counting(model: FactorModel, assets: pd.Index) -> FactorModel:
        chosen = real(model, assets)
        copies.extend([assets] if chosen is not model else [])
        return chosen

    monkeypatch.setattr(FactorModel, "subset", counting)
    scenarios = [
        Scenario(name="cap", limits={"max_single_position": 0.07}),
        Scenario(name="scores", score_shocks=[{"buckets": ["B1"], "multiply": 1.3}]),
        Scenario(name="halt", exclude=["Z03", "Z17"]),
        Scenario(name="risk", volatility_shocks=[{"buckets": ["B2"], "multiply": 1.5}]),
    ]
    report = whatif(frame, limits, scenarios, **market)
    # the base's model aligned once; "halt" has fewer assets and "risk" its own model
    assert len(copies) == 3
    _each_equals_a_fresh_construct(report, frame, limits, market, scenarios)


def test_a_factor_model_restricted_to_its_own_assets_is_itself_and_others_are_copied() -> None:
    _, _, market = _wide_model_book()
    model = market["factor_model"]
    assert isinstance(model, FactorModel)
    assert model.subset(pd.Index(list(model.assets), name="asset")) is model
    reordered = model.subset(model.assets[::-1])
    assert reordered is not model
    assert np.array_equal(
        reordered.loadings.to_numpy(), model.loadings.to_numpy()[::-1]
    )  # rows follow the labels asked for


MODES = ["score_weighted", "min_variance", "mean_variance", "max_sharpe", "risk_parity", "kelly"]


def _pooled_programs() -> list[object]:
    """The compiled DPP programs of pooled models, after solving books of several modes."""
    import cvxpy as cp

    from portcon.optimizer import model as model_module

    frame, limits, market = _wide_model_book()
    rng = np.random.default_rng(5)
    mu = pd.Series(rng.normal(0.06, 0.04, len(frame)), frame.index)
    model_module.clear_cache()
    for mode in MODES:
        fields = {"sizing_mode": mode, "max_turnover": None}
        construct(frame, limits.replace(**fields), expected_returns=mu, **market)
    programs = []
    for models in model_module._pool._models._idle.values():
        for model in models:
            for problem in [model.problem, *model._per_solver.values()]:
                assert isinstance(problem, cp.Problem)
                if problem._cache.param_prog is not None:
                    programs.append((model, problem._cache.param_prog))
    return programs


def test_the_faster_objective_vector_is_cvxpys_bit_for_bit() -> None:
    """On every pooled program of six sizing modes, re-bound to random values (some 0, some
    negative where allowed): q, its constant, A, b and P equal cvxpy's own data bit for bit."""
    from cvxpy.reductions.dcp2cone.cone_matrix_stuffing import ParamConeProg

    from portcon.optimizer.dpp_data import apply_parameters

    programs = _pooled_programs()
    assert len(programs) >= len(MODES)
    rng = np.random.default_rng(11)
    for model, program in programs:
        for _ in range(3):
            for parameter in model.context.parameters.values():
                value = np.asarray(parameter.value, dtype=float)
                scaled = value * rng.uniform(0.5, 1.5, value.shape)
                scaled = np.where(rng.random(value.shape) < 0.1, 0.0, scaled)
                parameter.value = scaled if value.shape else float(scaled)
            expected = ParamConeProg.apply_parameters(program, quad_obj=program.P is not None)
            _assert_same_data(apply_parameters(program, quad_obj=program.P is not None), expected)


def _assert_same_data(got: tuple[object, ...], expected: tuple[object, ...]) -> None:
    """The same solver data: sparse matrices entry for entry, arrays byte for byte."""
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert type(mine) is type(theirs)
        assert mine.shape == theirs.shape
        if hasattr(theirs, "toarray"):
            assert np.array_equal(mine.indptr, theirs.indptr)
            assert np.array_equal(mine.indices, theirs.indices)
            mine, theirs = mine.data, theirs.data
        assert mine.tobytes() == np.asarray(theirs).tobytes()


def test_the_faster_objective_vector_sums_several_terms_as_cvxpy_does() -> None:
    """A program written here whose objective coefficients each sum several parameter terms
    (of either sign, some 0) and whose rows and right-hand sides hold parameters: the same
    bits as cvxpy's own data, and the same solution."""
    import cvxpy as cp
    from cvxpy.reductions.dcp2cone.cone_matrix_stuffing import ParamConeProg

    from portcon.optimizer import dpp_data

    x = cp.Variable(7)
    a, b, c = cp.Parameter(7), cp.Parameter(7), cp.Parameter()
    objective = (a + 3 * b) @ x - a @ x / 7 + c * cp.sum(x) + cp.sum_squares(x) + 2 * c
    rows = [x >= -1, x <= 1, cp.multiply(a, x) + b <= c + 2, cp.sum(x) == c]
    problem = cp.Problem(cp.Minimize(objective), rows)
    rng = np.random.default_rng(2)

    def rebind() -> None:
        a.value = np.where(rng.random(7) < 0.2, 0.0, rng.normal(0, 1, 7))
        b.value = np.where(rng.random(7) < 0.2, 0.0, rng.normal(0, 1e-3, 7))
        c.value = float(rng.choice([0.0, rng.normal()]))

    rebind()
    problem.solve(solver="CLARABEL")
    program = problem._cache.param_prog
    assert program.q.nnz > 7  # several terms per coefficient
    for _ in range(20):
        rebind()
        expected = ParamConeProg.apply_parameters(program, quad_obj=True)
        _assert_same_data(dpp_data.apply_parameters(program, quad_obj=True), expected)
    problem.solve(solver="CLARABEL")
    before = x.value.copy()
    dpp_data.install(problem)
    problem.solve(solver="CLARABEL")
    assert before.tobytes() == x.value.tobytes()


@pytest.mark.parametrize("seed", range(12))
def test_eligibility_admits_and_explains_as_the_per_asset_rules_do(seed: int) -> None:
    """New assets that pass every entry rule are admitted in one array operation; everything
    else still goes through the per-asset rules. Same candidates, reasons (in the same order),
    pins, grace and notes as walking every asset through those rules."""
    from portcon.rebalance import eligibility as module

    rng = np.random.default_rng(200 + seed)
    universe, _ = _held_book(rng, 60)
    limits = Limits(
        max_single_position=0.2,
        min_score_threshold=[None, 0.3][seed % 2],
        min_score_new_position=[None, 0.5][(seed // 2) % 2],
        min_holding_days=[None, 10][seed % 3 == 0],
        grace_period_days=[None, 3][seed % 4 == 1],
        min_confidence_new=[None, 0.4][(seed // 3) % 2],
        min_confidence_existing=[None, 0.2][seed % 5 == 0],
    )
    expected = module.Eligibility(
        candidate=np.zeros(universe.size, dtype=bool),
        priority=np.zeros(universe.size, dtype=bool),
    )
    keep, enter = limits.min_score_threshold, module._entry_threshold(limits)
    for position in range(universe.size):
        asset = str(universe.assets[position])
        if module._fixed(universe, position, expected):
            continue
        if universe.held[position]:
            module._held(universe, limits, position, asset, keep, expected)
        else:
            module._new(universe, limits, position, asset, enter, expected)
    got = module.eligibility(universe, limits)
    assert np.array_equal(got.candidate, expected.candidate)
    assert np.array_equal(got.priority, expected.priority)
    assert list(got.exclusions.items()) == list(expected.exclusions.items())
    assert list(got.pinned.items()) == list(expected.pinned.items())
    assert list(got.grace.items()) == list(expected.grace.items())
    assert list(got.notes.items()) == list(expected.notes.items())
    assert got.candidate.any()


def _scored_book(extra: dict[str, list]) -> tuple[pd.DataFrame, Limits, dict[str, object]]:
    frame, limits, market = _wide_model_book()
    for column, values in extra.items():
        frame[column] = values
    return frame, limits, market


HELD = {
    "current_weight": [0.03 if i % 3 == 0 else 0.0 for i in range(30)],
    "days_held": [12 if i % 3 == 0 else 0 for i in range(30)],
}
RESCORED = [
    Scenario(name="B1 up", score_shocks=[{"buckets": ["B1"], "multiply": 1.4}]),
    Scenario(name="Z05 set", score_shocks=[{"assets": ["Z05"], "set": 2.0}]),
    Scenario(
        name="B0 down, cap",
        score_shocks=[{"buckets": ["B0"], "add": -0.3}],
        limits={"max_single_position": 0.08},
    ),
]


@pytest.mark.parametrize(
    ("extra", "fields", "reused"),
    [
        ({}, {}, True),
        (HELD, {}, True),  # no score_decay_factor: nothing is aged
        (HELD, {"score_decay_factor": 0.9}, False),  # held scores age
        ({"sector_override": ["Energy" if i % 7 == 0 else "" for i in range(30)]}, {}, False),
    ],
)
def test_score_shocks_start_from_the_base_universe_only_where_that_is_exact(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, list], fields: dict, reused: bool
) -> None:
    """A scenario that changes nothing but scores takes the base's prepared universe with its
    scores swapped in, unless preparing the scores reads them (ageing) or may (sectors
    overridden). Either way each answer and its notes equal a fresh construct, bit for bit."""
    import portcon.construction as construction

    frame, limits, market = _scored_book(extra)
    limits = limits.replace(**fields)
    calls: list[object] = []
    real = construction.prepare_universe

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(construction, "prepare_universe", counting)
    report = whatif(frame, limits, RESCORED, **market)
    assert report.failures.empty
    # the base's universe once (its own construct reuses it), then one per scenario if not
    assert len(calls) == (1 if reused else 1 + len(RESCORED))
    monkeypatch.setattr(construction, "prepare_universe", real)
    _each_equals_a_fresh_construct(report, frame, limits, market, RESCORED)


def test_a_score_shock_that_breaks_the_scores_is_refused_as_construct_refuses_it() -> None:
    frame, limits, market = _wide_model_book()
    huge = Scenario(name="huge", score_shocks=[{"assets": ["Z02"], "set": 1e300}])
    report = whatif(frame, limits, [huge], **market)
    base = Inputs.from_arguments(frame, limits, market)
    inputs = shocked(base, huge)
    with pytest.raises(Exception) as refusal:
        construct(inputs.scores, inputs.limits, **inputs.market)
    row = report.failures.set_index("scenario").loc["huge"]
    assert row["error"] == type(refusal.value).__name__
    assert row["message"] == str(refusal.value)


def _each_equals_a_fresh_construct(report, frame, limits, market, scenarios) -> None:
    """The base and every scenario: weights, notes and explanations equal to ``construct`` on
    the scenario's inputs, bit for bit."""
    base = Inputs.from_arguments(frame, limits, market)
    for scenario in [None, *scenarios]:
        inputs = base if scenario is None else shocked(base, scenario)
        fresh = construct(inputs.scores, inputs.limits, **inputs.market)
        got = report.portfolio("base" if scenario is None else scenario.name)
        assert got is not None
        assert np.array_equal(fresh.weights.to_numpy(), got.weights.to_numpy())
        assert fresh.notes == got.notes
        assert fresh.explanations.equals(got.explanations)
