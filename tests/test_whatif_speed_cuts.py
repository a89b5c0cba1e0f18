"""The per-scenario cuts of the what-if speed work give what the paths they replace give, bit
for bit: lists kept between a pooled problem's solves (optimizer/clarabel_direct.py)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from portcon.optimizer import clarabel_direct


def _bits(values: list[float]) -> bytes:
    return np.asarray(values, dtype=float).tobytes()


def test_kept_lists_are_the_lists_of_the_arrays_handed_over_bit_for_bit() -> None:
    """Arrays changing between solves (a value, a sign of zero, a NaN, a shape, a dtype) get
    new lists; unchanged arrays the kept ones; every list equals ``tolist`` of its array."""
    rng = np.random.default_rng(5)
    lists = clarabel_direct._Lists()
    base = rng.normal(size=40)
    changes = [base, base.copy(), np.where(np.arange(40) == 3, base + 1e-16, base)]
    signed = base.copy()
    signed[7] = 0.0
    changes += [signed, np.where(np.arange(40) == 7, -0.0, signed), base[:39].copy()]
    changes += [np.where(np.arange(40) == 2, np.nan, base), base.astype(np.float32)]
    changes += [base.copy()]
    previous = None
    for array in changes:
        listed = lists.listed("q", array)
        assert _bits(listed) == np.asarray(array.tolist(), dtype=float).tobytes()
        assert [type(value) for value in listed] == [type(v) for v in array.tolist()]
        if previous is not None and previous[0].dtype == array.dtype:
            same = previous[0].tobytes() == array.tobytes() and previous[0].shape == array.shape
            assert (listed is previous[1]) == same
        previous = (array, listed)
    zero = lists.listed("b", np.array([0.0]))
    minus = lists.listed("b", np.array([-0.0]))
    assert math.copysign(1.0, zero[0]) == 1.0 and math.copysign(1.0, minus[0]) == -1.0


def test_the_kept_upper_triangle_is_the_triangle_of_the_matrix_handed_over() -> None:
    rng = np.random.default_rng(6)
    lists = clarabel_direct._Lists()
    dense = np.where(rng.random((12, 12)) < 0.4, rng.normal(size=(12, 12)), 0.0)
    first = sp.csc_array(dense + dense.T)
    changed = first.copy()
    changed.data[0] += 1.0
    for matrix in (first, first.copy(), changed, first):
        upper = lists.upper_triangle(matrix)
        expected = sp.triu(matrix).tocsc()
        for part in ("data", "indices", "indptr"):
            assert getattr(upper, part).tobytes() == getattr(expected, part).tobytes()
    assert lists.upper_triangle(first.copy()) is lists.upper_triangle(first)


# --- market data aligned once per base (scenarios/reuse.base_market_for, market.MARKET_FIELDS)


class _Recorder:
    """Forwards attribute reads to ``target`` and records their names."""

    def __init__(self, target: object, seen: set[str]) -> None:
        self._target, self._seen = target, seen

    def __getattr__(self, name: str) -> object:
        self._seen.add(name)
        return getattr(self._target, name)


def _market_book(n: int = 24):
    import pandas as pd

    from portcon import FactorModel

    rng = np.random.default_rng(11)
    assets = [f"M{i:02d}" for i in range(n)]
    frame = pd.DataFrame(
        {"score": rng.uniform(0.5, 1.0, n), "bucket": [f"B{i % 3}" for i in range(n)]},
        index=assets,
    )
    returns = pd.DataFrame(rng.normal(0.0004, 0.01, (120, n)), columns=assets)
    loadings = pd.DataFrame(rng.normal(0, 0.3, (n, 2)), assets, ["F1", "F2"])
    factor_cov = pd.DataFrame(np.diag([0.03, 0.02]), ["F1", "F2"], ["F1", "F2"])
    model = FactorModel(loadings, factor_cov, pd.Series(rng.uniform(0.01, 0.04, n), assets))
    covariance = model.covariance()
    expected = pd.Series(rng.normal(0.05, 0.02, n), assets)
    return frame, returns, model, covariance, expected


def test_market_preparation_reads_only_the_fields_it_declares() -> None:
    """prepare_market_data, over every risk source, covariance and expected-return estimator,
    risk model and risk parity, reads no Limits field outside MARKET_FIELDS and no Universe
    field outside MARKET_UNIVERSE_FIELDS (what the reuse of aligned market data relies on)."""
    from portcon.construction import prepare_universe
    from portcon.limits import Limits
    from portcon.market import MARKET_FIELDS, MARKET_UNIVERSE_FIELDS, prepare_market_data

    frame, returns, model, covariance, expected = _market_book()
    universe, _ = prepare_universe(frame, Limits())
    sources = [
        {"returns": returns},
        {"factor_model": model},
        {"covariance": covariance},
        {"returns": returns, "factor_model": model, "expected_returns": expected},
    ]
    settings = [{}, {"sizing_mode": "risk_parity"}, {"expected_return_estimator": "scores"}]
    settings += [{"covariance_estimator": c} for c in ("sample", "oas", "ewma", "factor")]
    settings += [{"expected_return_estimator": e} for e in ("ewma", "james_stein")]
    settings += [{"risk_model": r} for r in ("historical", "monte_carlo", "parametric", "garch")]
    limits_seen: set[str] = set()
    universe_seen: set[str] = set()
    runs = 0
    for source in sources:
        for setting in settings:
            if setting.get("risk_model") == "garch" and "returns" not in source:
                continue
            limits = Limits(min_score_threshold=None, **setting)
            prepare_market_data(
                _Recorder(universe, universe_seen),  # type: ignore[arg-type]
                _Recorder(limits, limits_seen),  # type: ignore[arg-type]
                **source,
            )
            runs += 1
    assert runs > 40
    assert limits_seen <= set(MARKET_FIELDS), limits_seen - set(MARKET_FIELDS)
    assert universe_seen <= set(MARKET_UNIVERSE_FIELDS), universe_seen
    assert {"risk_model", "sizing_mode", "expected_return_estimator"} <= limits_seen


class _Counting:
    def __init__(self, real: object) -> None:
        self.real, self.count = real, 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.count += 1
        return self.real(*args, **kwargs)  # type: ignore[operator]


def test_kept_market_data_is_what_aligning_again_gives_and_weights_are_bit_identical(
    monkeypatch,
) -> None:
    """Scenarios changing limits (some of them MARKET_FIELDS) and scores, under a factor model
    and under returns with score-based expected returns: every scenario's market data equals
    prepare_market_data on its own freshly prepared inputs array for array, byte for byte,
    its weights equal a fresh construct's bit for bit, and the kept data was used."""
    import portcon
    import portcon.market as market_module
    from portcon.construction import prepare_universe
    from portcon.market import prepare_market_data
    from portcon.scenarios.inputs import Inputs, shocked

    frame, returns, model, _, _ = _market_book()
    scenarios = [
        {"name": "cap", "limits": {"max_single_position": 0.09}},
        {"name": "cap2", "limits": {"max_single_position": 0.11}},
        {"name": "ppy", "limits": {"periods_per_year": 52.0}},
        {"name": "scores", "limits": {"expected_return_estimator": "scores"}},
        {"name": "up", "score_shocks": [{"buckets": ["B1"], "multiply": 1.2}]},
        {"name": "down", "score_shocks": [{"buckets": ["B0"], "multiply": 0.8}]},
        {"name": "cap3", "limits": {"max_single_position": 0.12}},
    ]
    books = [
        ({"factor_model": model}, {"sizing_mode": "min_variance"}),
        (
            {"returns": returns},
            {"sizing_mode": "mean_variance", "expected_return_estimator": "scores"},
        ),
    ]
    for market, setting in books:
        limits = portcon.Limits(min_score_threshold=None, max_single_position=0.1, **setting)
        calls = _Counting(market_module.prepare_market_data)
        monkeypatch.setattr(market_module, "prepare_market_data", calls)
        report = portcon.whatif(frame, limits, scenarios, **market)
        monkeypatch.setattr(market_module, "prepare_market_data", calls.real)
        assert not len(report.failures)
        assert 0 < calls.count < len(scenarios) + 1  # aligned once per distinct setting
        base = Inputs.from_arguments(frame, limits, market)
        for scenario in report.scenarios:
            shocked_inputs = shocked(base, scenario)
            portfolio = report.portfolio(scenario.name)
            effective = portfolio.limits
            universe, _ = prepare_universe(shocked_inputs.scores, effective, market.get("returns"))
            fresh = prepare_market_data(universe, effective, **market)
            kept = portfolio._report.program.universe_market
            for name in ("exposures", "specific", "expected_returns", "returns", "scenarios"):
                mine, theirs = getattr(kept, name), getattr(fresh, name)
                assert (mine is None) == (theirs is None), (scenario.name, name)
                if mine is not None:
                    assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
                    assert mine.tobytes() == theirs.tobytes(), (scenario.name, name)
            assert kept.notes == fresh.notes
            alone = portcon.construct(shocked_inputs.scores, shocked_inputs.limits, **market)
            assert portfolio.weights.to_numpy().tobytes() == alone.weights.to_numpy().tobytes()


# --- the polish's pullback without scipy's transpose (optimizer/polish.pullback)


def test_pullback_is_scipys_transpose_product_bit_for_bit() -> None:
    """Random row blocks (duplicates, unsorted and explicit-zero entries, empty rows and
    columns, signed zeros, huge and tiny values) and every block of real programs: the same
    bytes as ``block.pullback``; other blocks and dtypes are left to ``block.pullback``."""
    import portcon
    from portcon.constraints.base import RowBlock, Sense
    from portcon.optimizer.polish import pullback

    rng = np.random.default_rng(12)
    checked = 0
    for rows, columns in [(1, 5), (3, 3), (8, 40), (40, 8), (500, 500)]:
        for density in (0.0, 0.1, 0.6):
            dense = np.where(
                rng.random((rows, columns)) < density, rng.normal(size=(rows, columns)), 0.0
            )
            dense *= 10.0 ** rng.integers(-12, 12, size=(rows, columns))
            matrices = [sp.csr_array(dense)]
            if rows > 1 and columns > 1:
                indices = np.array([1, 0, 1, 1], dtype=np.int32)
                odd = sp.csr_array(
                    (
                        np.array([2.0, -0.0, 1e-300, 3.0]),
                        indices,
                        np.array([0, 3] + [4] * (rows - 1)),
                    ),
                    shape=(rows, columns),
                )  # unsorted, duplicated, a signed zero
                odd.has_sorted_indices = False
                matrices.append(odd)
            for matrix in matrices:
                block = RowBlock("rule", tuple(f"r{i}" for i in range(rows)), Sense.LE, matrix, "p")
                for price in (rng.normal(size=rows), np.zeros(rows), -np.zeros(rows)):
                    point = rng.normal(size=columns)
                    expected = block.pullback(point, price)
                    got = pullback(block, point, price)
                    assert got.dtype == expected.dtype and got.shape == expected.shape
                    assert got.tobytes() == expected.tobytes()
                    checked += 1
    frame, _, model, _, _ = _market_book()
    for mode in ("score_weighted", "min_variance", "risk_parity"):
        limits = portcon.Limits(
            min_score_threshold=None,
            max_single_position=0.1,
            max_bucket_allocation=0.45,
            max_portfolio_volatility=0.3,
            sizing_mode=mode,
        )
        solution = portcon.construct(frame, limits, factor_model=model)._report.solution
        for block, price in zip(solution.blocks, solution.multipliers, strict=True):
            expected = block.pullback(solution.weights, price)
            assert pullback(block, solution.weights, price).tobytes() == expected.tobytes()
            checked += 1
    assert checked > 90


# --- the independent check, grouped once per label array (report/check_groups.py)


def _old_bucket_violations(w, universe, limits, tolerance):
    """report/check._bucket_violations before the grouping, verbatim."""
    buckets = universe.bucket
    if buckets is None:
        return []
    held = np.abs(w) > 1e-10
    existing = (
        np.zeros(universe.size, dtype=bool)
        if universe.current_weight is None
        else universe.current_weight > 0
    )
    threshold = limits.bucket_override_threshold
    eligible = (
        universe.score >= threshold if threshold is not None else np.zeros(universe.size, bool)
    )
    found, used = [], 0
    for bucket in sorted(set(buckets)):
        inside = buckets == bucket
        cap = limits.bucket_caps.get(bucket, limits.max_bucket_allocation)
        weight = float(w[inside].sum())
        if cap is not None and weight > cap + tolerance:
            found.append(f"bucket cap {bucket}: {weight:.10f} > {cap:.10f}")
        limit = limits.bucket_position_limits.get(bucket, limits.max_positions_per_bucket)
        if limit is None:
            continue
        counted = inside & held & (~existing if limits.allow_bucket_overflow else True)
        if limits.allow_bucket_overflow:
            limit = max(0, limit - int((inside & existing).sum()))
        excess = int(counted.sum()) - limit
        if excess > 0 and np.any(counted & ~eligible):
            found.append(f"bucket count {bucket}: {int(counted.sum())} > {limit}")
        elif excess > 0:
            used += excess
    allowed = limits.max_bucket_overrides if threshold is not None else 0
    if used > allowed:
        found.append(f"bucket overrides: {used} needed > {allowed} allowed")
    return found


def _old_sector_violations(w, universe, limits, tolerance):
    """The sector loop of report/check.violations before the grouping, verbatim."""
    found = []
    if universe.sector is not None:
        for group in set(universe.sector):
            cap = limits.sector_caps.get(group, limits.max_sector_allocation)
            if cap is not None:
                value = float(w[universe.sector == group].sum())
                if value > cap + tolerance:
                    found.append(f"sector cap {group}: {value:.10f} > {cap:.10f}")
    return found


def _old_exposure_sources(w, universe, limits, tolerance):
    """The short-floor words of report/check_exposure before the lazy source, verbatim."""
    found = []
    floor = np.zeros(len(w))
    source = np.full(len(w), "long_only", dtype=object)
    if limits.allow_short:
        cap = limits.max_short_position
        floor[:] = -np.inf if cap is None else -cap
        source[:] = "max_short_position"
    column = universe.max_short_weight
    if column is not None:
        given = ~np.isnan(column)
        floor[given] = -column[given]
        source[given & (column > 0)] = "max_short_weight"
        source[given & (column == 0)] = "long_only"
    for k in np.flatnonzero(w < floor - tolerance):
        found.append(f"{source[k]} {universe.assets[int(k)]}: {w[k]:.10f} < {floor[k]:.10f}")
    return found


def _random_book(rng: np.random.Generator, n: int):
    import pandas as pd

    from portcon.limits import Limits
    from portcon.universe import Universe

    assets = [f"R{i:03d}" for i in range(n)]
    buckets = [f"B{k}" for k in range(rng.integers(1, 6))]
    sectors = [f"S{k}" for k in range(rng.integers(1, 5))]
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.0, 1.0, n),
            "bucket": rng.choice(buckets, n),
            "sector": rng.choice(sectors, n),
            "current_weight": np.where(rng.random(n) < 0.3, rng.uniform(0, 0.05, n), 0.0),
            "max_short_weight": np.where(rng.random(n) < 0.3, rng.choice([0.0, 0.02], n), np.nan),
        },
        index=assets,
    )
    universe = Universe.from_scores(frame)
    limit = int(rng.integers(1, 6))
    overrides = rng.random() < 0.5
    short = bool(rng.random() < 0.5)
    limits = Limits(
        max_bucket_allocation=float(rng.uniform(0.1, 0.6)),
        bucket_caps={buckets[0]: float(rng.uniform(0.05, 0.3))},
        max_positions_per_bucket=limit,
        bucket_position_limits={buckets[-1]: limit + 1},
        allow_bucket_overflow=bool(rng.random() < 0.5),
        bucket_override_threshold=float(rng.uniform(0.3, 0.9)) if overrides else None,
        max_bucket_overrides=int(rng.integers(0, 4)),
        max_sector_allocation=float(rng.uniform(0.1, 0.6)) if rng.random() < 0.7 else None,
        sector_caps={sectors[0]: float(rng.uniform(0.05, 0.3))} if rng.random() < 0.5 else {},
        allow_short=short,
        sizing_mode="min_variance",
        max_short_position=0.03 if short and rng.random() < 0.5 else None,
    )
    weights = np.where(rng.random(n) < 0.6, rng.normal(0.01, 0.03, n), 0.0)
    return universe, limits, weights


def test_grouped_checks_say_what_the_per_label_loops_said() -> None:
    """Bucket caps, counts, overflow and overrides, sector caps and short floors on random
    books and weights: the same words as the loops they replace (sectors in any order, as
    the set they came from), both ways round with some found and some not."""
    from portcon.report.check import _bucket_violations, violations
    from portcon.report.check_exposure import exposure_violations

    rng = np.random.default_rng(21)
    found_some = found_none = 0
    for _ in range(150):
        universe, limits, w = _random_book(rng, int(rng.integers(3, 60)))
        tolerance = 1e-8
        expected = _old_bucket_violations(w, universe, limits, tolerance)
        assert _bucket_violations(w, universe, limits, tolerance) == expected
        assert _bucket_violations(w, universe, limits, tolerance) == expected  # kept grouping
        sectors = _old_sector_violations(w, universe, limits, tolerance)
        said = [line for line in violations(w, universe, limits) if line.startswith("sector")]
        assert sorted(said) == sorted(sectors)
        floors = _old_exposure_sources(w, universe, limits, tolerance)
        words = exposure_violations(w, universe, limits, tolerance)
        assert words[: len(floors)] == floors
        assert not any(
            line.split()[0] in ("long_only", "max_short_weight") for line in words[len(floors) :]
        )
        found_some += bool(expected or sectors or floors)
        found_none += not (expected or sectors or floors)
    assert found_some > 30 and found_none > 5


def test_a_label_changed_in_place_is_grouped_again() -> None:
    from portcon.report.check_groups import grouped

    labels = np.array(["b", "a", "b", "c"], dtype=object)
    names, order, starts = grouped(labels)
    assert names == ["a", "b", "c"] and order.tolist() == [1, 0, 2, 3]
    assert starts.tolist() == [0, 1, 3, 4]
    labels[3] = "a"
    names, order, starts = grouped(labels)
    assert names == ["a", "b"] and order.tolist() == [1, 3, 0, 2]
    assert starts.tolist() == [0, 2, 4]
    copy = labels.copy()
    assert grouped(copy)[1].tolist() == order.tolist()


# --- the polish asks for the Hessian only when it will polish (optimizer/polish.polish)


def _old_polish(program, solution, complementary=True):
    """optimizer/polish.polish before the reordering, verbatim (module helpers as they are)."""
    import dataclasses

    from portcon.optimizer import polish as p

    weights = solution.weights
    if not p._curved(program, weights):
        return solution
    if not all(block.smooth for block in solution.blocks):
        return solution
    before = p._residual(program, solution, weights, solution.multipliers)
    if complementary and before <= p.ALREADY_EXACT:
        return solution
    if not complementary:
        before = max(before, p.SOLVED)
    active = p.initial_active(solution)
    for _ in range(p.ROUNDS):
        point, prices = p._solve_on(program, solution, active)
        if point is None:
            return solution
        violated = p._most_violated(solution, point, active)
        if violated is not None:
            active.add(violated)
            continue
        wrong = p._most_wrongly_signed(solution, prices, active)
        if wrong is not None:
            active.discard(wrong)
            continue
        if p._residual(program, solution, point, prices) > before:
            return solution
        cash = max(0.0, float(program.limits.target_allocation - point.sum()))
        return dataclasses.replace(
            solution,
            weights=point,
            cash=cash,
            multipliers=prices,
            objective=program.require_objective().value(point, cash),
        )
    return solution


def test_the_polish_gives_what_it_gave_before_asking_for_the_hessian_later() -> None:
    """Every sizing mode (with and without a Hessian), with a turnover cap (a non-smooth
    row) and trading costs, complementary or not: the same solution object or the same
    bytes of weights and prices as the polish in its former order."""
    import portcon
    from portcon.optimizer.polish import polish
    from portcon.optimizer.solve import solve_program

    frame, returns, _, _, expected = _market_book()
    current = frame.assign(current_weight=np.where(np.arange(len(frame)) % 3 == 0, 0.03, 0.0))
    polished = kept = 0
    for mode in [m.value for m in portcon.SizingMode]:
        for extra in ({}, {"max_turnover": 0.3}, {"transaction_cost_bps": 20.0}):
            limits = portcon.Limits(
                sizing_mode=mode,
                min_score_threshold=None,
                max_single_position=0.12,
                max_bucket_allocation=0.5,
                risk_model="historical" if mode == "min_cvar" else None,
                **extra,
            )
            market = {"returns": returns, "expected_returns": expected}
            if mode in ("min_tracking_error", "active_mean_variance"):
                continue  # need a benchmark column; the modes above cover their objectives
            try:
                program = portcon.construct(current, limits, **market)._report.program
            except portcon.PortconError:
                continue
            solution = solve_program(program)
            for complementary in (True, False):
                new = polish(program, solution, complementary)
                old = _old_polish(program, solution, complementary)
                assert (new is solution) == (old is solution), (mode, extra)
                assert new.weights.tobytes() == old.weights.tobytes()
                assert [m.tobytes() for m in new.multipliers] == [
                    m.tobytes() for m in old.multipliers
                ]
                polished += new is not solution
                kept += new is solution
    assert polished > 5 and kept > 5


# --- P made once per program when it reads no Parameter (optimizer/dpp_data._quadratic)


def test_p_is_kept_only_when_it_reads_no_parameter_and_equals_cvxpys_bit_for_bit() -> None:
    """A P with a Parameter in it (a ∘ x²) is made at every call and follows a; a constant P
    (sum_squares) is made once and handed out as copies; both equal cvxpy's own P."""
    import cvxpy as cp
    from cvxpy.reductions.dcp2cone.cone_matrix_stuffing import ParamConeProg

    from portcon.optimizer import dpp_data

    x = cp.Variable(4)
    a, c = cp.Parameter(4, nonneg=True), cp.Parameter(4)
    rng = np.random.default_rng(8)
    for objective, parametrised in (
        (cp.sum(cp.multiply(a, cp.square(x))) + c @ x, True),
        (cp.sum_squares(x) + c @ x, False),
    ):
        problem = cp.Problem(cp.Minimize(objective), [x >= -1, cp.sum(x) == 1])
        a.value, c.value = rng.uniform(0.5, 2, 4), rng.normal(size=4)
        problem.solve(solver="CLARABEL")
        program = problem._cache.param_prog
        seen = []
        for _ in range(4):
            a.value, c.value = rng.uniform(0.5, 2, 4), rng.normal(size=4)
            mine = dpp_data.apply_parameters(program, quad_obj=True)[0]
            theirs = ParamConeProg.apply_parameters(program, quad_obj=True)[0]
            for part in ("data", "indices", "indptr"):
                assert getattr(mine, part).tobytes() == getattr(theirs, part).tobytes()
            assert type(mine) is type(theirs) and mine.shape == theirs.shape
            seen.append(mine)
            mine.data[:] = np.nan  # a caller writing into its P does not reach the next one
        assert (dpp_data._CONSTANT_P[program][False] is None) == parametrised
        assert len({id(matrix) for matrix in seen}) == len(seen)
