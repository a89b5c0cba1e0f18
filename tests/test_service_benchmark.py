"""benchmark_weight over HTTP: the service's answer equals the Python API's on the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import portcon
from portcon.service.app import create_app
from portcon.service.settings import Settings

N = 6
ASSETS = [f"A{i}" for i in range(N)]
BENCHMARK = [0.3, 0.25, 0.2, 0.15, 0.1, None]  # the last omitted: 0 in the benchmark
LIMITS = {
    "sizing_mode": "min_tracking_error",
    "min_score_threshold": 0.0,
    "max_single_position": 0.28,
    "target_allocation": 1.0,
    "allow_cash_rollover": False,
}


def _covariance() -> np.ndarray:
    rng = np.random.default_rng(3)
    loadings = rng.normal(size=(N, 2)) * 0.1
    return loadings @ loadings.T + np.diag(np.linspace(0.02, 0.06, N))


COVARIANCE = _covariance()


@pytest.fixture
def client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'svc.db'}", max_assets=50)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _body(benchmark: list[float | None]) -> dict:
    scores = [
        {"asset": a, "score": 0.6 + 0.05 * i}
        | ({} if benchmark[i] is None else {"benchmark_weight": benchmark[i]})
        for i, a in enumerate(ASSETS)
    ]
    market = {"assets": ASSETS, "covariance": COVARIANCE.tolist()}
    return {"scores": scores, "limits": LIMITS, "market_data": market}


def test_benchmark_weight_over_http_equals_the_python_api(client):
    answer = client.post("/api/v1/construct", json=_body(BENCHMARK))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    frame = pd.DataFrame(
        {"score": [0.6 + 0.05 * i for i in range(N)], "benchmark_weight": BENCHMARK},
        index=ASSETS,
    )
    covariance = pd.DataFrame(COVARIANCE, index=ASSETS, columns=ASSETS)
    direct = portcon.construct(frame, LIMITS, covariance=covariance)
    assert result["weights"] == direct.weights.to_dict()  # the same answer, bit for bit
    weights = np.array([result["weights"].get(a, 0.0) for a in ASSETS])
    active = weights - np.array([b or 0.0 for b in BENCHMARK])
    # the cap binds on A0 (benchmark 30% > 28%), so the answer is not the benchmark itself
    assert weights[0] == pytest.approx(0.28, abs=1e-6)
    tracking = float(np.sqrt(active @ COVARIANCE @ active))
    assert result["metrics"]["tracking_error"] == pytest.approx(tracking, rel=1e-6)
    assert result["metrics"]["active_share"] == pytest.approx(0.5 * np.abs(active).sum(), abs=1e-9)


def test_a_bad_benchmark_weight_is_named(client):
    over = client.post("/api/v1/construct", json=_body([0.5, 0.4, 0.3, None, None, None]))
    assert over.status_code == 422, over.text
    assert "benchmark_weight" in over.text
    negative = client.post("/api/v1/construct", json=_body([-0.1, 0.4, 0.3, None, None, None]))
    assert negative.status_code == 422
    assert "benchmark_weight" in negative.text


SHORT_LIMITS = {
    "sizing_mode": "mean_variance",
    "risk_aversion": 2.0,
    "allow_short": True,
    "max_short_position": 0.1,
    "leverage_limit": 1.4,
    "target_allocation": 1.0,
    "max_single_position": 0.5,
    "allow_cash_rollover": False,
    "min_score_threshold": 0.0,
}
HELD_SHORT = [0.4, 0.3, 0.2, 0.15, 0.0, -0.05]


def _short_body(limits: dict) -> dict:
    scores = [
        {"asset": a, "score": 0.6 + 0.05 * i, "current_weight": HELD_SHORT[i]}
        for i, a in enumerate(ASSETS)
    ]
    market = {
        "assets": ASSETS,
        "covariance": COVARIANCE.tolist(),
        "expected_returns": {a: 0.02 * (i - 2) for i, a in enumerate(ASSETS)},
    }
    return {"scores": scores, "limits": limits, "market_data": market}


def test_a_held_short_over_http(client):
    answer = client.post("/api/v1/construct", json=_short_body(SHORT_LIMITS))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    frame = pd.DataFrame(
        {"score": [0.6 + 0.05 * i for i in range(N)], "current_weight": HELD_SHORT}, index=ASSETS
    )
    direct = portcon.construct(
        frame,
        SHORT_LIMITS,
        covariance=pd.DataFrame(COVARIANCE, index=ASSETS, columns=ASSETS),
        expected_returns=pd.Series({a: 0.02 * (i - 2) for i, a in enumerate(ASSETS)}),
    )
    assert result["weights"] == direct.weights.to_dict()
    trades = {row["asset"]: row for row in result["trades"]}
    assert trades["A5"]["current"] == -0.05
    long_only = {
        k: v for k, v in SHORT_LIMITS.items() if k not in ("allow_short", "max_short_position")
    }
    refused = client.post("/api/v1/construct", json=_short_body(long_only))
    assert refused.status_code == 422
    assert "A5" in refused.text and "allow_short" in refused.text


def test_max_short_weight_over_http_equals_the_python_api(client):
    """A per-asset short bound lets that asset alone go short (no allow_short)."""
    scores_by_asset = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1]
    shorts = [0.0, 0.0, 0.0, 0.0, 0.05, 0.1]
    limits = {
        "sizing_mode": "mean_variance",
        "expected_return_estimator": "scores",
        "min_score_threshold": 0.0,
        "max_single_position": 0.4,
        "target_allocation": 1.0,
        "risk_aversion": 2.0,
    }
    scores = [
        {"asset": a, "score": s, "max_short_weight": m}
        for a, s, m in zip(ASSETS, scores_by_asset, shorts, strict=True)
    ]
    market = {"assets": ASSETS, "covariance": COVARIANCE.tolist()}
    answer = client.post(
        "/api/v1/construct", json={"scores": scores, "limits": limits, "market_data": market}
    )
    assert answer.status_code == 200, answer.text
    frame = pd.DataFrame({"score": scores_by_asset, "max_short_weight": shorts}, index=ASSETS)
    covariance = pd.DataFrame(COVARIANCE, index=ASSETS, columns=ASSETS)
    direct = portcon.construct(frame, limits, covariance=covariance)
    weights = answer.json()["weights"]
    assert weights == direct.weights.to_dict()
    assert -0.1 - 1e-9 <= weights["A5"] < -0.01  # the lowest score goes short, within its bound
    assert min(weights.get(a, 0.0) for a in ASSETS[:4]) >= 0.0  # no short bound: long only
