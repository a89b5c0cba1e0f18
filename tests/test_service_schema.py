"""Schemathesis against the app's own OpenAPI schema: no generated request gets a 5xx.

Every operation in the schema is exercised with valid and invalid bodies, parameters and
paths (a bounded number of examples each, so the whole module stays well under a minute).
A 503 is also a failure here: the database and the solver are both up, so a 503 would be a
mislabelled defect.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from portcon.service.app import create_app
from portcon.service.settings import Settings

EXAMPLES = int(os.environ.get("PORTCON_SCHEMA_EXAMPLES", "25"))


def _app() -> FastAPI:
    """The app on a SQLite file in a fresh temporary folder (removed at exit)."""
    folder = tempfile.TemporaryDirectory(prefix="portcon-schema-")
    atexit.register(folder.cleanup)
    database = Path(folder.name) / "svc.db"
    return create_app(Settings(database_url=f"sqlite:///{database}", max_assets=40))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:500]}"
        f"\nbody: {str(case.body)[:500]}\nquery: {case.query}"
    )
    if response.status_code >= 400:
        body = response.json()
        assert set(body) >= {"error", "detail"}, body


def test_what_schemathesis_found_stays_fixed(tmp_path):
    """The 5xx found by the generated requests, each now a 4xx naming its field."""
    from fastapi.testclient import TestClient

    from tests.service_support import sizing_request

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'found.db'}")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wrong_method = client.get("/api/v1/construct")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"] == "MethodNotAllowed"
        assert client.get("/api/v1/nowhere").json()["error"] == "NotFound"
        for field, value in [
            ("volatility", 5e-324),  # squared: 0, then divided by
            ("average_loss", 3.5e187),  # squared: overflow
            ("expected_return", 1e300),  # a Kelly fraction of inf, not JSON
        ]:
            body = sizing_request("x", trading_decision={field: value})
            answer = client.post("/api/v1/calculate-position-size", json=body)
            assert answer.status_code == 422, answer.text
            assert field in answer.json()["fields"]
