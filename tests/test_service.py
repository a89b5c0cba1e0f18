"""The service over HTTP (TestClient) on a SQLite file: every endpoint, errors, idempotency."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import portcon
from portcon.service.app import create_app
from portcon.service.settings import Settings
from tests.service_support import construct_request, sizing_request


@pytest.fixture
def client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'svc.db'}", max_assets=50)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_construct_equals_the_python_api_and_is_stored_with_explanations(client):
    body = construct_request(decision_id="dec-1", nav=2_000_000)
    answer = client.post("/api/v1/construct", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    frame = pd.DataFrame(body["scores"]).set_index("asset")
    direct = portcon.construct(frame, body["limits"])
    assert result["weights"] == direct.weights.to_dict()  # the same answer, bit for bit
    assert math.isclose(sum(result["weights"].values()) + result["cash"], 1.0, abs_tol=1e-9)
    assert result["decision_id"] == "dec-1"
    rows = client.get("/api/v1/history", params={"decision_id": "dec-1"}).json()
    assert sorted(row["instrument_id"] for row in rows) == sorted(frame.index)
    a5 = next(row for row in rows if row["instrument_id"] == "A5")
    assert a5["reason"] == direct.explanations.loc["A5", "reason"]
    assert a5["recommended_size"] == pytest.approx(round(direct.weights["A5"] * 2e6, 2))
    one = client.get(f"/api/v1/history/{a5['position_id']}").json()
    assert one["decision"]["weights"] == result["weights"]
    assert client.get("/api/v1/history/pos_missing").status_code == 404


def test_preset_then_limits_as_in_the_python_api(client):
    body = construct_request(preset="balanced", limits={"max_single_position": 0.2})
    result = client.post("/api/v1/construct", json=body).json()
    # the one difference: a mip_time_limit not asked for gets half the service's time cap
    expected = portcon.Limits.preset("balanced", max_single_position=0.2, mip_time_limit=5.0)
    frame = pd.DataFrame(body["scores"]).set_index("asset")
    assert result["limits"] == portcon.construct(frame, expected).to_dict()["limits"]


def test_openapi_limits_are_the_limits_model(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schema["Limits"]["properties"]) == set(portcon.Limits.model_fields)


def test_idempotent_decision_ids(client):
    body = sizing_request("d-idem")
    first = client.post("/api/v1/calculate-position-size", json=body)
    second = client.post("/api/v1/calculate-position-size", json=body)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("idempotent-replay") == "true"
    assert first.json() == second.json()
    assert len(client.get("/api/v1/history", params={"decision_id": "d-idem"}).json()) == 1
    assert len(client.get("/api/v1/events").json()) == 1
    other = sizing_request("d-idem", sizing_parameters={"max_position_size": 0.03})
    conflict = client.post("/api/v1/calculate-position-size", json=other)
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "IdempotencyConflict"


@pytest.mark.parametrize(
    ("change", "status", "error", "named"),
    [
        ({"limits": {"max_single_positon": 0.1}}, 422, "ValidationError", "max_single_positon"),
        ({"limits": {"max_single_position": 2}}, 422, "ValidationError", "max_single_position"),
        ({"limits": {"mip_time_limit": 60}}, 422, "RequestTooLarge", "limits.mip_time_limit"),
        ({"preset": "balancd"}, 422, "LimitsError", "balanced"),
        ({"scores": [{"asset": "A", "score": 1}] * 2}, 422, "InputError", "duplicate asset"),
        (
            {"scores": [{"asset": f"A{i}", "score": 1} for i in range(51)]},
            422,
            "RequestTooLarge",
            "scores",
        ),
        (
            {"limits": {"max_single_position": 0.1, "allow_cash_rollover": False}},
            409,
            "InfeasibleError",
            "max_single_position",
        ),
    ],
)
def test_errors_map_to_statuses_with_json_bodies(client, change, status, error, named):
    answer = client.post("/api/v1/construct", json={**construct_request(3), **change})
    assert answer.status_code == status, answer.text
    content = answer.json()
    assert content["error"] == error
    assert named in answer.text
    assert "Traceback" not in answer.text
    if status == 409:
        assert content["conflicts"] and content["repairs"]
        repaired = {**change["limits"], **content["repairs"][0]}
        fixed = client.post("/api/v1/construct", json={**construct_request(3), "limits": repaired})
        assert fixed.status_code == 200


def test_error_classes_map_to_their_statuses():
    from portcon.service.failures import portcon_answer

    assert portcon_answer(portcon.SolverError("x")).status_code == 503
    assert portcon_answer(portcon.SolverError("x")).headers["retry-after"] == "1"
    assert portcon_answer(portcon.InternalError("x")).status_code == 500
    assert portcon_answer(portcon.InputError("x")).status_code == 422


def test_body_too_large(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", max_body_bytes=1000)
    with TestClient(create_app(settings)) as small:
        answer = small.post("/api/v1/construct", json=construct_request(40))
        assert answer.status_code == 413
        assert "body" in answer.json()["detail"]


def test_kelly_against_the_closed_forms(client):
    odds = {"win_probability": 0.55, "average_win": 1.0, "average_loss": 0.8, "fraction": 0.5}
    result = client.post("/api/v1/kelly-criterion", json=odds).json()
    full = 0.55 / 0.8 - 0.45 / 1.0
    assert result["kelly_fraction"] == pytest.approx(full, rel=1e-12)
    assert result["adjusted_kelly"] == pytest.approx(0.5 * full, rel=1e-12)
    moments = {"expected_return": 0.01, "portfolio_volatility": 0.05}
    result = client.post("/api/v1/kelly-criterion", json=moments).json()
    assert result["kelly_fraction"] == pytest.approx(0.01 / 0.05**2, rel=1e-12)
    history = {"returns": list(np.random.default_rng(1).normal(0.01, 0.05, 200))}
    result = client.post("/api/v1/kelly-criterion", json=history).json()
    interval = result["confidence_interval"]
    assert interval["lower_bound"] < result["kelly_fraction"] < interval["upper_bound"]
    bad = client.post("/api/v1/kelly-criterion", json={"win_probability": 1.5})
    assert bad.status_code == 422 and "win_probability" in bad.text


def _size(client, body):
    answer = client.post("/api/v1/calculate-position-size", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"sizing_method": "FIXED_PERCENTAGE", "max_position_size": 0.04}, 0.04),
        (
            {
                "sizing_method": "VOLATILITY_ADJUSTED",
                "volatility_target": 0.01,
                "max_position_size": None,
            },
            0.01 / 0.25,
        ),
        (
            {"sizing_method": "RISK_PARITY", "max_position_size": None},
            (1 / 0.25) / (5 / 0.2 + 1 / 0.25),
        ),
        ({"sizing_method": "EQUAL_WEIGHT", "max_position_size": None}, 1 / 6),
        (
            {
                "sizing_method": "KELLY_CRITERION",
                "kelly_multiplier": 0.2,
                "max_position_size": None,
            },
            0.2 * 0.08 / 0.25**2,
        ),
    ],
)
def test_each_method_sizes_at_its_raw_size_when_no_limit_binds(client, parameters, expected):
    result = _size(
        client, sizing_request(f"m-{parameters['sizing_method']}", sizing_parameters=parameters)
    )
    position = result["optimal_position"]
    assert position["recommended_weight"] == pytest.approx(expected, abs=1e-7)
    assert position["recommended_size"] == pytest.approx(round(expected * 1e6, 2), abs=0.02)
    assert position["confidence_score"] == 0.9


def test_a_binding_sector_cap_is_named_and_the_room_is_exact(client):
    body = sizing_request("sector", risk_constraints={"max_sector_weight": 0.22})
    result = _size(client, body)
    assert result["optimal_position"]["recommended_weight"] == pytest.approx(0.02, abs=1e-7)
    assert "Tech" in result["sizing_analysis"]["explanation"]["reason"]


def test_risk_cap_scales_to_the_exact_volatility_and_impact_is_recomputed(client):
    body = sizing_request(
        "risk",
        sizing_parameters={"max_position_size": 0.3},
        risk_constraints={"max_portfolio_risk": 0.06, "max_sector_weight": None},
    )
    result = _size(client, body)
    w = result["optimal_position"]["recommended_weight"]
    weights = np.array([0.1] * 5 + [w])
    sigma = np.array([0.2] * 5 + [0.25])
    risk_after = math.sqrt(float(((weights * sigma) ** 2).sum()))
    assert risk_after == pytest.approx(0.06, rel=1e-9)  # scaled exactly to the cap
    risk_before = math.sqrt(5 * (0.1 * 0.2) ** 2)
    impact = result["sizing_analysis"]["portfolio_impact"]
    assert impact["portfolio_risk_change"] == pytest.approx(risk_after - risk_before, rel=1e-9)
    assert result["sizing_analysis"]["explanation"]["binding"] == "max_portfolio_risk"


def test_batch_shares_the_room_in_proportion_to_raw_sizes(client):
    body = sizing_request("unused", risk_constraints={"leverage_limit": 0.6})
    body.pop("trading_decision")
    body["sizing_parameters"] = {"sizing_method": "VOLATILITY_ADJUSTED", "volatility_target": 0.02}
    body["trading_decisions"] = [
        {"decision_id": "b1", "instrument_id": "X", "volatility": 0.25},
        {"decision_id": "b2", "instrument_id": "Y", "volatility": 0.5},
    ]
    answer = client.post("/api/v1/calculate-position-size/batch", json=body)
    assert answer.status_code == 200, answer.text
    weights = [r["optimal_position"]["recommended_weight"] for r in answer.json()["results"]]
    raw = np.array([0.02 / 0.25, 0.02 / 0.5])  # 0.12 asked, 0.10 of room left
    assert weights == pytest.approx(list(raw * 0.1 / raw.sum()), abs=1e-7)
    events = client.get("/api/v1/events", params={"after": 0}).json()
    assert [e["decision_id"] for e in events] == ["b1", "b2"]
    assert events[0]["optimal_position"]["recommended_weight"] == pytest.approx(weights[0])
    assert (
        client.get("/api/v1/events", params={"after": events[0]["seq"]}).json()[0]["decision_id"]
        == "b2"
    )


def test_sizing_errors_name_the_field(client):
    answer = client.post(
        "/api/v1/calculate-position-size",
        json=sizing_request("e1", sizing_parameters={"sizing_method": "VOLATILITY_ADJUSTED"}),
    )
    assert answer.status_code == 422 and "volatility_target" in answer.json()["detail"]
    answer = client.post(
        "/api/v1/calculate-position-size",
        json=sizing_request("e2", sizing_parameters={"risk_model": "GARCH"}),
    )
    assert answer.status_code == 422 and "risk_model" in answer.text
    held_too_risky = sizing_request("e3", risk_constraints={"max_portfolio_risk": 0.01})
    answer = client.post("/api/v1/calculate-position-size", json=held_too_risky)
    assert answer.status_code == 409 and answer.json()["conflicts"] == ["max_portfolio_risk"]


def test_health_and_metrics(client):
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "process": "ok", "database": "ok", "solver": "ok"}
    _size(client, sizing_request("metrics"))
    client.post("/api/v1/construct", json={"scores": []})
    text = client.get("/api/v1/metrics").text
    assert 'portcon_requests_total{endpoint="/api/v1/calculate-position-size"' in text
    assert 'portcon_failures_total{error="ValidationError"} 1.0' in text
    assert "portcon_sizings_total 1.0" in text
    assert 'portcon_paths_total{path="convex"}' in text


def test_api_keys(tmp_path):
    from portcon.service.keys import create_key

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", require_api_key=True)
    app = create_app(settings)
    key = create_key(app.state.service.store, "tests")
    with TestClient(app) as secured:
        assert secured.get("/api/v1/health").status_code == 200  # open for load balancers
        assert secured.get("/api/v1/history").status_code == 401
        wrong = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
        assert secured.get("/api/v1/history", headers={"X-API-Key": wrong}).status_code == 401
        assert secured.get("/api/v1/history", headers={"X-API-Key": key}).status_code == 200
        bearer = {"Authorization": f"Bearer {key}"}
        assert secured.get("/api/v1/history", headers=bearer).status_code == 200


def test_market_data_inline_and_by_reference(client):
    names = ["A0", "A1", "A2"]
    covariance = [[0.04, 0.0, 0.0], [0.0, 0.09, 0.0], [0.0, 0.0, 0.01]]
    limits = {"sizing_mode": "min_variance", "max_single_position": 1.0}
    body = {**construct_request(3), "limits": limits}
    inline = client.post(
        "/api/v1/construct", json={**body, "market_data": {"covariance": covariance}}
    )
    assert inline.status_code == 200, inline.text
    put = client.put("/api/v1/matrices/cov1", json={"instruments": names, "matrix": covariance})
    assert put.status_code == 204
    stored = client.post("/api/v1/construct", json={**body, "market_data": {"matrix_id": "cov1"}})
    assert stored.json()["weights"] == inline.json()["weights"]
    inverse = np.array([1 / 0.04, 1 / 0.09, 1 / 0.01])  # min variance, uncorrelated: ∝ 1/σ²
    expected = 0.95 * inverse / inverse.sum()
    assert list(inline.json()["weights"].values()) == pytest.approx(list(expected), abs=1e-6)


def test_migrations_from_an_empty_database_match_the_tables(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from portcon.service.migrations import current_revision, upgrade
    from portcon.service.storage import make_engine
    from portcon.service.tables import metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    assert current_revision(engine) == "0001"
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    # DESC indexes are expression indexes alembic cannot compare: each shows as a remove and
    # an add of the same name; anything else is a real difference.
    names = {(d[0], d[1].name) for d in diffs if d[0] in {"add_index", "remove_index"}}
    real = [
        d
        for d in diffs
        if d[0] not in {"add_index", "remove_index"}
        or {("add_index", d[1].name), ("remove_index", d[1].name)} - names
    ]
    assert real == []
    assert len(names) == 6  # the three DESC indexes, each seen twice


def test_readme_curl_examples_answer(client):
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Service", 1)[1].split("\n## ", 1)[0]
    calls = re.findall(r"curl -s (?:-X PUT )?\$API/([\w/-]+) .*?-d '(.*?)'", section, re.S)
    assert len(calls) == 5
    for path, text in calls:
        method = client.put if path.startswith("matrices") else client.post
        answer = method(f"/api/v1/{path}", json=json.loads(text))
        assert answer.status_code in (200, 204), (path, answer.text)


def test_trades_from_current_weights(client):
    body = construct_request(4)
    for row, current in zip(body["scores"], (0.5, 0.2, 0.0, 0.0), strict=True):
        row["current_weight"] = current
    result = client.post("/api/v1/construct", json=body).json()
    trades = {row["asset"]: row for row in result["trades"]}
    for asset, weight in result["weights"].items():
        if asset in trades:
            assert trades[asset]["change"] == pytest.approx(weight - trades[asset]["current"])


def test_floor_and_if_held_columns_reach_the_program(client):
    body = construct_request(6)
    body["scores"][0]["floor_weight"] = 0.25
    body["scores"][1]["min_weight_if_held"] = 0.2
    result = client.post("/api/v1/construct", json=body)
    assert result.status_code == 200, result.text
    weights = result.json()["weights"]
    assert weights["A0"] == pytest.approx(0.25) and weights["A1"] == pytest.approx(0.2)
    frame = pd.DataFrame(body["scores"]).set_index("asset")
    assert weights == portcon.construct(frame, body["limits"]).weights.to_dict()
