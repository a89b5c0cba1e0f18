"""``POST /whatif`` and the wall-clock cap on solving, over HTTP (TestClient, SQLite file)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import portcon
from portcon.service import deadline
from portcon.service.app import create_app
from portcon.service.settings import Settings
from tests.service_support import construct_request

SCENARIOS = [
    {"name": "cap 15%", "limits": {"max_single_position": 0.15}},
    {"name": "A1 doubled", "score_shocks": [{"assets": ["A1"], "multiply": 2.0}]},
    {"name": "halt A0", "exclude": ["A0"]},
    {"name": "too tight", "limits": {"max_single_position": 0.01, "allow_cash_rollover": False}},
]


@pytest.fixture
def client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", max_scenarios=5)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_whatif_equals_the_python_api_and_is_stored(client):
    body = {**construct_request(8, decision_id="w-1"), "scenarios": SCENARIOS}
    answer = client.post("/api/v1/whatif", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    frame = pd.DataFrame(body["scores"]).set_index("asset")
    direct = portcon.whatif(frame, body["limits"], SCENARIOS)
    weights = pd.DataFrame(result["weights"]).set_index("asset")
    for name in ["base", "cap 15%", "A1 doubled", "halt A0"]:
        np.testing.assert_array_equal(weights[name].to_numpy(), direct.weights[name].to_numpy())
    assert weights["too tight"].isna().all()
    (failure,) = result["failures"]
    assert failure["scenario"] == "too tight" and failure["error"] == "InfeasibleError"
    assert "max_single_position" in failure["conflicts"]
    assert {row["scenario"] for row in result["reasons"]} == {"A1 doubled", "halt A0"}
    stored = client.get("/api/v1/decisions/w-1")
    assert stored.status_code == 200 and stored.json() == result
    again = client.post("/api/v1/whatif", json=body)
    assert again.headers.get("idempotent-replay") == "true" and again.json() == result
    other = {**body, "scenarios": SCENARIOS[:1]}
    assert client.post("/api/v1/whatif", json=other).json()["error"] == "IdempotencyConflict"
    assert client.get("/api/v1/history", params={"decision_id": "w-1"}).json() == []
    assert client.get("/api/v1/decisions/nope").status_code == 404


@pytest.mark.parametrize(
    ("scenarios", "error", "named"),
    [
        ([{"name": f"s{i}"} for i in range(6)], "RequestTooLarge", "PORTCON_MAX_SCENARIOS"),
        ([], "ValidationError", "scenarios"),
        (
            [{"name": "f", "correlation_stress": {"blend": 0.5, "toward": "/etc/passwd"}}],
            "InputError",
            "scenarios[0].correlation_stress.toward",
        ),
        (
            [{"name": "slow", "limits": {"mip_time_limit": 99}}],
            "RequestTooLarge",
            "scenarios[0].limits.mip_time_limit",
        ),
        ([{"name": "typo", "limits": {"max_single_positon": 0.1}}], "ValidationError", "limits"),
        ([{"name": "same"}, {"name": "same"}], "ScenarioError", "same"),
        ([{"name": "x", "exclude": ["NOPE"]}], None, "NOPE"),
    ],
)
def test_whatif_refusals_name_the_field(client, scenarios, error, named):
    answer = client.post("/api/v1/whatif", json={**construct_request(4), "scenarios": scenarios})
    if error is None:  # a scenario that cannot apply is reported in its row, not refused
        assert answer.status_code == 200, answer.text
        assert named in answer.json()["failures"][0]["message"]
        return
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == error
    assert named in answer.text


def test_whatif_asset_limit(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", max_assets=5)
    with TestClient(create_app(settings)) as small:
        body = {**construct_request(6), "scenarios": SCENARIOS[:1]}
        answer = small.post("/api/v1/whatif", json=body)
        assert answer.status_code == 422
        assert "scores: 6 entries" in answer.json()["detail"]


def test_solving_past_the_cap_is_a_503_and_stores_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'cap.db'}"
    many = [
        {"name": f"cap {i}", "limits": {"max_single_position": 0.02 + i / 1000}} for i in range(40)
    ]
    body = {**construct_request(300, decision_id="slow-1"), "scenarios": many}
    body["limits"] = {"max_single_position": 0.05}
    with TestClient(create_app(Settings(database_url=url, max_solve_seconds=0.05))) as capped:
        answer = capped.post("/api/v1/whatif", json=body)
        assert answer.status_code == 503, answer.text
        content = answer.json()
        assert content["error"] == "SolveTimeout" and content["retryable"] is False
        assert "PORTCON_MAX_SOLVE_SECONDS" in content["detail"]
        assert capped.get("/api/v1/decisions/slow-1").status_code == 404
    with TestClient(create_app(Settings(database_url=url))) as patient:
        again = patient.post("/api/v1/whatif", json=body)
        assert again.status_code == 200, again.text  # sized afresh


def test_waiting_past_the_cap_for_a_solver_thread_is_overloaded():
    release = threading.Event()
    threads = 3
    busy = [deadline._pool(threads).submit(release.wait) for _ in range(threads)]
    try:
        with pytest.raises(deadline.OverloadedError) as refused:
            deadline.within(0.05, lambda: 1, threads)
        assert refused.value.status == 503 and refused.value.retryable
    finally:
        release.set()
    assert all(future.result(timeout=5) for future in busy)
    assert deadline.within(1.0, lambda: 2, threads) == 2
