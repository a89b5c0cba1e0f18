"""What-if scenarios and sweeps: each answer against a fresh construct on inputs shocked here,
by a naive dense implementation of every shock."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portcon
from portcon.optimizer import model as model_module
from portcon.scenarios import Scenario, ScenarioError, load_scenarios
from portcon.scenarios.inputs import Inputs, shocked
from tests.conftest import random_universe

WEIGHTS = 1e-7
LIMITS = dict(sizing_mode="score_weighted", max_single_position=0.12, max_bucket_allocation=0.5)


def market(frame: pd.DataFrame, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    factors = ["F1", "F2"]
    loadings = pd.DataFrame(rng.normal(0, 0.2, (len(frame), 2)), frame.index, factors)
    factor_cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.02]], factors, factors)
    specific = pd.Series(rng.uniform(0.01, 0.03, len(frame)), frame.index)
    mu = pd.Series(rng.normal(0.05, 0.02, len(frame)), frame.index)
    return {
        "factor_model": portcon.FactorModel(loadings, factor_cov, specific),
        "expected_returns": mu,
    }


@pytest.fixture(scope="module")
def base() -> tuple[pd.DataFrame, dict[str, object]]:
    frame = random_universe(3, n=16, buckets=3, sectors=2, low=0.5)
    return frame, market(frame)


def dense(model: portcon.FactorModel) -> pd.DataFrame:
    b, f = model.loadings.to_numpy(), model.factor_covariance.to_numpy()
    sigma = b @ f @ b.T + np.diag(model.specific_variance.to_numpy())
    return pd.DataFrame(sigma, model.assets, model.assets)


def naive_shock(frame: pd.DataFrame, data: dict[str, object], scenario: dict) -> tuple:
    """The scenario applied the obvious way: dense Σ, loops over assets."""
    frame = frame.copy()
    limits = portcon.Limits(**LIMITS)
    overrides = dict(scenario.get("limits", {}))
    if "bucket_caps" in overrides:
        overrides["bucket_caps"] = {**limits.bucket_caps, **overrides["bucket_caps"]}
    limits = limits.replace(**overrides)
    for shock in scenario.get("score_shocks", []):
        for asset in frame.index:
            if frame.at[asset, "bucket"] in shock.get("buckets", []):
                frame.at[asset, "score"] = frame.at[asset, "score"] * shock["multiply"]
    sigma = dense(data["factor_model"]).to_numpy()
    for shock in scenario.get("volatility_shocks", []):
        m = np.array([shock["multiply"] if s in shock["sectors"] else 1.0 for s in frame["sector"]])
        sigma = sigma * np.outer(m, m)
    if "correlation_stress" in scenario:
        a = scenario["correlation_stress"]["blend"]
        v = np.sqrt(np.diag(sigma))
        sigma = (1 - a) * sigma + a * np.outer(v, v)
    keep = ~frame.index.isin(scenario.get("exclude", []))
    covariance = pd.DataFrame(sigma, frame.index, frame.index)
    return frame[keep], limits, covariance, data["expected_returns"]


scenario_strategy = st.fixed_dictionaries(
    {"name": st.just("s")},
    optional={
        "limits": st.fixed_dictionaries(
            {},
            optional={
                "max_single_position": st.sampled_from([0.09, 0.1, 0.15, 0.2]),
                "bucket_caps": st.fixed_dictionaries({"B1": st.sampled_from([0.2, 0.3, 0.6])}),
            },
        ),
        "score_shocks": st.lists(
            st.fixed_dictionaries(
                {"buckets": st.just(["B0"]), "multiply": st.sampled_from([0.8, 1.5, 3.0])}
            ),
            max_size=1,
        ),
        "volatility_shocks": st.lists(
            st.fixed_dictionaries(
                {"sectors": st.just(["S1"]), "multiply": st.sampled_from([0.5, 2.0])}
            ),
            max_size=1,
        ),
        "correlation_stress": st.fixed_dictionaries({"blend": st.sampled_from([0.3, 1.0])}),
        "exclude": st.lists(st.sampled_from(["A001", "A004"]), max_size=2, unique=True),
    },
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenario_strategy, sizing=st.sampled_from(["score_weighted", "min_variance"]))
def test_each_scenario_equals_a_fresh_construct_on_the_shocked_inputs(
    base, scenario: dict, sizing: str
) -> None:
    frame, data = base
    limits = {**LIMITS, "sizing_mode": sizing}
    report = portcon.whatif(frame, limits, [scenario], **data)
    assert report.failures.empty, report.failures.to_string()
    naive_frame, naive_limits, covariance, mu = naive_shock(frame, data, scenario)
    fresh = portcon.construct(
        naive_frame,
        naive_limits.replace(sizing_mode=sizing),
        covariance=covariance,
        expected_returns=mu,
    )
    expected = fresh.weights.reindex(frame.index).fillna(0.0)
    np.testing.assert_allclose(report.weights["s"], expected, atol=WEIGHTS, rtol=0)
    base_fresh = portcon.construct(frame, limits, **data)
    np.testing.assert_allclose(report.weights["base"], base_fresh.weights, atol=WEIGHTS, rtol=0)
    assert report.metrics.at["s", "cash"] == pytest.approx(fresh.cash, abs=WEIGHTS)


def test_shocked_covariance_matches_the_dense_formula(base) -> None:
    frame, data = base
    scenario = {
        "name": "s",
        "volatility_shocks": [{"sectors": ["S1"], "multiply": 2.0}],
        "correlation_stress": {"blend": 0.4},
    }
    got = shocked(Inputs.from_arguments(frame, LIMITS, data), Scenario(**scenario))
    _, _, expected, _ = naive_shock(frame, data, scenario)
    np.testing.assert_allclose(dense(got.market["factor_model"]), expected, atol=1e-14)


def test_structure_preserving_scenarios_rebind_instead_of_compiling(base, monkeypatch) -> None:
    frame, data = base
    built: list[int] = []
    real_build = model_module._build

    def counting_build(program, dpp):
        built.append(len(program.members))
        return real_build(program, dpp)

    monkeypatch.setattr(model_module, "_build", counting_build)
    model_module.clear_cache()
    same_structure = [
        {"name": "cap", "limits": {"max_single_position": 0.15}},
        {"name": "tech", "limits": {"max_bucket_allocation": 0.45}},
        {"name": "scores", "score_shocks": [{"buckets": ["B0"], "multiply": 1.2}]},
        {"name": "vol", "volatility_shocks": [{"sectors": ["S1"], "multiply": 1.5}]},
        {"name": "returns", "return_shocks": [{"all": True, "add": 0.01}]},
    ]
    limits = {**LIMITS, "sizing_mode": "min_variance", "min_score_threshold": None}
    portcon.whatif(frame, limits, same_structure, **data)
    assert built == [len(frame)]  # the base's model, re-bound for every other scenario
    portcon.whatif(frame, limits, [{"name": "halt", "exclude": ["A001"]}], **data)
    assert built[1:] == [len(frame) - 1]  # only the structural change compiled


def test_failed_scenarios_are_reported_in_their_rows(base) -> None:
    frame, data = base
    scenarios = [
        {"name": "unknown asset", "exclude": ["NOPE"]},
        {
            "name": "infeasible",
            "limits": {"max_single_position": 0.01, "allow_cash_rollover": False},
        },
        {"name": "fine", "limits": {"max_single_position": 0.2}},
        {"name": "unknown sector", "score_shocks": [{"sectors": ["XX"], "add": 1}]},
    ]
    report = portcon.whatif(frame, LIMITS, scenarios, **data)
    failures = report.failures.set_index("scenario")
    assert set(failures.index) == {"unknown asset", "infeasible", "unknown sector"}
    assert "NOPE" in failures.at["unknown asset", "message"]
    assert "score_shocks[0].sectors" in failures.at["unknown sector", "message"]
    assert failures.at["infeasible", "error"] == "InfeasibleError"
    assert "max_single_position" in json.loads(failures.at["infeasible", "repairs"])[-1]
    assert report.weights["infeasible"].isna().all() and report.weights["fine"].notna().all()


def test_bad_scenarios_name_the_scenario_and_the_field(tmp_path) -> None:
    with pytest.raises(ScenarioError, match=r"'oops'.*volatility_shocks\[0\]\.multiply"):
        Scenario.parse({"name": "oops", "volatility_shocks": [{"all": True, "multiply": -1}]})
    with pytest.raises(ScenarioError, match=r"'typo'.*max_single_postion.*did you mean"):
        Scenario.parse({"name": "typo", "limits": {"max_single_postion": 0.1}})
    with pytest.raises(ScenarioError, match="exactly one of set, add, multiply"):
        Scenario.parse({"name": "two", "score_shocks": [{"all": True, "add": 1, "multiply": 2}]})
    path = tmp_path / "s.toml"
    path.write_text('[[scenario]]\nname = "a"\n[[scenario]]\nname = "a"\n')
    with pytest.raises(ScenarioError, match="used twice"):
        load_scenarios(path)


def test_the_example_file_loads_and_runs() -> None:
    scenarios = load_scenarios("examples/scenarios.toml")
    assert len(scenarios) >= 5
    frame = pd.read_csv("examples/scores.csv", index_col="asset")
    covariance = pd.read_csv("examples/covariance.csv", index_col=0)
    limits = portcon.Limits.from_toml("examples/limits.toml")
    report = portcon.whatif(frame, limits, scenarios, covariance=covariance)
    assert report.failures.empty, report.failures.to_string()
    assert list(report.weights.columns) == ["base", *(s.name for s in scenarios)]


def test_sweep_matches_constructs_along_the_grid(base, tmp_path) -> None:
    frame, data = base
    values = [0.08, 0.12, 0.2]
    report = portcon.sweep(frame, LIMITS, "max_single_position", values, **data)
    for value in values:
        fresh = portcon.construct(frame, {**LIMITS, "max_single_position": value}, **data)
        column = report.weights[f"max_single_position={value:g}"]
        np.testing.assert_allclose(column, fresh.weights, atol=WEIGHTS, rtol=0)
    caps = portcon.sweep(frame, LIMITS, "bucket_caps[B1]", [0.2, 0.3], **data)
    fresh = portcon.construct(frame, {**LIMITS, "bucket_caps": {"B1": 0.2}}, **data)
    np.testing.assert_allclose(caps.weights["bucket_caps[B1]=0.2"], fresh.weights, atol=WEIGHTS)
    template = {"name": "t", "volatility_shocks": [{"sectors": ["S1"], "multiply": 1.0}]}
    shock = portcon.sweep(
        frame,
        {**LIMITS, "sizing_mode": "min_variance"},
        "volatility_shocks.0.multiply",
        [1.0, 3.0],
        scenario=template,
        **data,
    )
    np.testing.assert_allclose(
        shock.weights["volatility_shocks.0.multiply=1"], shock.weights["base"], atol=WEIGHTS
    )
    assert shock.sweep == ("volatility_shocks.0.multiply", (1.0, 3.0))
    paths = report.to_csv(tmp_path / "out")
    back = pd.read_csv(tmp_path / "out" / "weights.csv", index_col="asset")
    np.testing.assert_array_equal(back.to_numpy(), report.weights.to_numpy())
    assert {p.name for p in paths} >= {"metrics.csv", "binding.csv", "reasons.csv"}
    saved = json.loads(report.to_json(tmp_path / "r.json").read_text())
    assert saved["sweep"][0] == "max_single_position" and len(saved["weights"]) == len(frame)


def test_reasons_cover_every_changed_weight(base) -> None:
    frame, data = base
    scenarios = [{"name": "cap", "limits": {"bucket_caps": {"B0": 0.2}}}]
    report = portcon.whatif(frame, LIMITS, scenarios, **data)
    changed = report.changes["cap"].abs() > 1e-9
    assert set(report.reasons["asset"]) == set(report.changes.index[changed])
    assert report.binding.query("scenario == 'cap'")["limit"].str.contains("bucket_caps").any()


def test_local_whatif_states_the_base_weight_sensitivity(base, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    frame, data = base
    report = portcon.whatif(frame, LIMITS, [], **data)
    sentences = report.portfolio("base").weight_sensitivity().sentences()
    assert list(report.local["limit"]) == list(sentences.index) and len(sentences) > 0
    assert list(report.local["sentence"]) == list(sentences)
    page = report.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "without re-solving" in page and sentences.iloc[0].split(" by ")[0] in page
