"""The request guard (a plain ASGI middleware): body limits on chunked bodies, and metrics."""

from __future__ import annotations

import gc

import orjson
from fastapi.testclient import TestClient

from portcon.service import workers
from portcon.service.app import create_app, create_served_app
from portcon.service.settings import Settings
from tests.service_support import construct_request, sizing_request


def chunks(body: bytes, size: int = 100):
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_is_read_once_and_handed_on(tmp_path):
    body = orjson.dumps(sizing_request("chunked-1"))
    limit = len(body) + 10
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", max_body_bytes=limit)
    headers = {"content-type": "application/json"}
    with TestClient(create_app(settings)) as client:
        plain = client.post("/api/v1/calculate-position-size", json=sizing_request("plain-1"))
        chunked = client.post(
            "/api/v1/calculate-position-size", content=chunks(body), headers=headers
        )
        assert chunked.status_code == 200, chunked.text
        assert chunked.json()["optimal_position"]["decision_id"] == "chunked-1"
        weight = chunked.json()["optimal_position"]["recommended_weight"]
        assert weight == plain.json()["optimal_position"]["recommended_weight"]
        big = orjson.dumps(construct_request(40))
        refused = client.post("/api/v1/construct", content=chunks(big), headers=headers)
        assert refused.status_code == 413 and refused.json()["error"] == "RequestTooLarge"


def test_metrics_count_answers_and_failures_by_error_class(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}")
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/v1/construct", json={"scores": "no"}).status_code == 422
        assert client.get("/api/v1/no-such-path").status_code == 404
        ok = client.post("/api/v1/calculate-position-size", json=sizing_request("m-1"))
        assert ok.status_code == 200
        text = client.get("/api/v1/metrics").text
    assert 'portcon_failures_total{error="ValidationError"} 1.0' in text
    assert 'portcon_failures_total{error="NotFound"} 1.0' in text
    assert (
        'portcon_requests_total{endpoint="/api/v1/calculate-position-size",method="POST",'
        'status="200"} 1.0'
    ) in text
    assert 'portcon_requests_total{endpoint="unmatched",method="GET",status="404"} 1.0' in text
    assert 'portcon_request_seconds_count{endpoint="/api/v1/construct"} 1.0' in text


def test_a_served_app_starts_with_its_heap_frozen(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTCON_DATABASE_URL", f"sqlite:///{tmp_path / 'f.db'}")
    assert workers.APP == "portcon.service.app:create_served_app"  # what portcon serve runs
    try:
        app = create_served_app()
        assert gc.get_freeze_count() > 100_000
        with TestClient(app) as client:
            answer = client.post("/api/v1/calculate-position-size", json=sizing_request("f-1"))
            assert answer.status_code == 200
    finally:
        gc.unfreeze()
