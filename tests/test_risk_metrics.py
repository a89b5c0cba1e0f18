"""Ex-ante risk and return in the metrics, against dense numpy written here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon

ASSETS = [f"S{i}" for i in range(8)]


def _market(seed: int):
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0, 0.15, (8, 3))
    covariance = loadings @ loadings.T + np.diag(rng.uniform(0.01, 0.05, 8))
    mu = rng.uniform(0.02, 0.12, 8)
    frame = pd.DataFrame(
        {"score": rng.uniform(0.6, 0.95, 8), "bucket": ["X", "Y"] * 4, "sector": list("PQRS") * 2},
        index=ASSETS,
    )
    return (
        frame,
        pd.DataFrame(covariance, index=ASSETS, columns=ASSETS),
        pd.Series(mu, index=ASSETS),
    )


@pytest.mark.parametrize("seed", range(3))
def test_return_volatility_sharpe_and_euler_contributions(seed: int) -> None:
    frame, covariance, mu = _market(seed)
    portfolio = portcon.construct(
        frame,
        {"sizing_mode": "mean_variance", "max_single_position": 0.3, "min_score_threshold": 0},
        covariance=covariance,
        expected_returns=mu,
    )
    metrics = portfolio.metrics
    w = portfolio.weights.reindex(ASSETS).to_numpy()
    sigma = covariance.to_numpy()
    volatility = np.sqrt(w @ sigma @ w)
    assert metrics.volatility == pytest.approx(volatility, rel=1e-12)
    assert metrics.expected_return == pytest.approx(mu.to_numpy() @ w, rel=1e-12)
    assert metrics.sharpe == pytest.approx(mu.to_numpy() @ w / volatility, rel=1e-12)
    contributions = metrics.risk_contributions
    held = w > 0
    expected = pd.Series(w * (sigma @ w) / volatility, index=ASSETS)[held]
    pd.testing.assert_series_equal(
        contributions["contribution"].sort_index(),
        expected.sort_index(),
        check_names=False,
        rtol=1e-10,
    )
    assert contributions["share"].sum() == pytest.approx(1.0, abs=1e-12)
    step = 1e-7  # the marginal is dσ/dw_i, by central differences
    for asset in contributions.index[:3]:
        i = ASSETS.index(asset)
        up, down = w.copy(), w.copy()
        up[i] += step
        down[i] -= step
        slope = (np.sqrt(up @ sigma @ up) - np.sqrt(down @ sigma @ down)) / (2 * step)
        assert contributions.loc[asset, "marginal"] == pytest.approx(slope, rel=1e-6)
    buckets = metrics.bucket_exposure
    assert buckets["risk_share"].sum() == pytest.approx(1.0, abs=1e-12)
    x_share = contributions["share"][[a for a in contributions.index if ASSETS.index(a) % 2 == 0]]
    assert buckets.loc["X", "risk_share"] == pytest.approx(x_share.sum(), abs=1e-12)
    exported = portfolio.to_dict()["metrics"]
    assert exported["volatility"] == pytest.approx(volatility, rel=1e-12)


def test_without_market_data_risk_is_absent_not_zero() -> None:
    frame, _, _ = _market(0)
    metrics = portcon.construct(frame, {"min_score_threshold": 0}).metrics
    assert metrics.volatility is None and metrics.expected_return is None
    assert metrics.sharpe is None and metrics.risk_contributions is None
    assert "risk_share" not in metrics.bucket_exposure.columns
