"""``/construct``'s explanations by re-solving are asked for, and the idempotency hash."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import portcon
from portcon.service.app import create_app
from portcon.service.settings import Settings
from tests.service_support import construct_request

COUNTS = {"max_single_position": 0.3, "max_total_positions": 3, "mip_time_limit": 5.0}


@pytest.fixture
def client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'svc.db'}")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _direct(body):
    frame = pd.DataFrame(body["scores"]).set_index("asset")
    return portcon.construct(frame, body["limits"])


def test_count_prices_only_when_asked(client):
    body = construct_request(n=6)
    body["limits"] = COUNTS
    quick = client.post("/api/v1/construct", json=body).json()
    direct = _direct(body)
    assert direct.path != "convex"  # the count search chose the support
    assert quick["weights"] == direct.weights.to_dict()
    assert quick["count_prices"] is None and quick["cash_arithmetic"] is None
    assert quick["decision_summary"] == direct.to_dict(re_solve=False)["decision_summary"]
    full = client.post("/api/v1/construct", json={**body, "re_solve": True}).json()
    expected = direct.to_dict()
    assert expected["count_prices"], "the book's count limit is priced by re-solving"
    assert full["count_prices"] == expected["count_prices"]
    assert full["decision_summary"] == expected["decision_summary"]
    slot_lines = [line for line in expected["decision_summary"]["counts"] if "slot" in line]
    assert slot_lines and not set(slot_lines) & set(quick["decision_summary"]["counts"])


def test_to_dict_without_re_solving_computes_neither_re_solved_part():
    body = construct_request(n=6)
    body["limits"] = COUNTS
    portfolio = _direct(body)
    answer = portfolio.to_dict(re_solve=False)
    assert answer["count_prices"] is None and answer["cash_arithmetic"] is None
    assert answer["weights"] == portfolio.weights.to_dict()
    # both are cached properties: still absent means never computed
    assert "_count_prices" not in vars(portfolio)
    assert "_cash_arithmetic" not in vars(portfolio)
    assert portfolio.to_dict()["count_prices"] is not None
    assert "_count_prices" in vars(portfolio)


def test_a_default_sent_explicitly_is_the_same_request(client):
    body = construct_request(decision_id="dec-defaults")
    first = client.post("/api/v1/construct", json=body)
    again = client.post("/api/v1/construct", json={**body, "re_solve": False, "nav": None})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replay") == "true"
    assert again.json() == first.json()
    other = client.post("/api/v1/construct", json={**body, "re_solve": True})
    assert other.status_code == 409
