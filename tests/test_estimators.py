"""Estimators: naive references written here, scikit-learn where we wrap it, estimator checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.covariance import OAS, LedoitWolf
from sklearn.utils.estimator_checks import check_estimator

from portcon import InputError
from portcon import estimators as est

TOLERANCE = 1e-12


@pytest.fixture
def returns() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    mixing = rng.normal(0, 1, (6, 6))
    values = rng.normal(0.0005, 0.01, (250, 6)) @ (np.eye(6) + 0.3 * mixing)
    return pd.DataFrame(values, columns=[f"R{k}" for k in range(6)])


ESTIMATORS = [
    est.SampleCovariance(),
    est.LedoitWolfCovariance(),
    est.OASCovariance(),
    est.EWMACovariance(half_life=20),
    est.StatisticalFactorCovariance(n_factors=2),
    est.HistoricalMean(),
    est.EWMAMean(half_life=20),
    est.JamesSteinMean(),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_scikit_learn_conventions(estimator) -> None:
    check_estimator(estimator)


def test_sample_covariance_is_the_textbook_formula(returns: pd.DataFrame) -> None:
    x = returns.to_numpy()
    t = len(x)
    mean = [sum(x[k, j] for k in range(t)) / t for j in range(x.shape[1])]
    naive = np.array(
        [
            [
                sum((x[k, i] - mean[i]) * (x[k, j] - mean[j]) for k in range(t)) / (t - 1)
                for j in range(6)
            ]
            for i in range(6)
        ]
    )
    fitted = est.sample_covariance(returns, periods_per_year=252)
    np.testing.assert_allclose(fitted.to_numpy(), 252 * naive, rtol=1e-10)
    assert list(fitted.index) == list(returns.columns)


def test_shrinkage_estimators_wrap_scikit_learn(returns: pd.DataFrame) -> None:
    np.testing.assert_allclose(
        est.ledoit_wolf(returns).to_numpy(),
        LedoitWolf().fit(returns.to_numpy()).covariance_,
        atol=TOLERANCE,
    )
    np.testing.assert_allclose(
        est.oas(returns).to_numpy(), OAS().fit(returns.to_numpy()).covariance_, atol=TOLERANCE
    )


def test_ewma_covariance_matches_a_weighted_loop(returns: pd.DataFrame) -> None:
    x, half_life = returns.to_numpy(), 30.0
    t = len(x)
    raw = [0.5 ** ((t - 1 - k) / half_life) for k in range(t)]
    weights = [r / sum(raw) for r in raw]
    mean = sum(weights[k] * x[k] for k in range(t))
    total = sum(weights[k] * np.outer(x[k] - mean, x[k] - mean) for k in range(t))
    naive = total / (1 - sum(w * w for w in weights))
    np.testing.assert_allclose(
        est.ewma_covariance(returns, half_life=half_life).to_numpy(), naive, rtol=1e-10
    )
    np.testing.assert_allclose(
        est.ewma_mean(returns, half_life=half_life).to_numpy(), mean, rtol=1e-10
    )


def test_ewma_with_huge_half_life_is_the_sample_estimate(returns: pd.DataFrame) -> None:
    np.testing.assert_allclose(
        est.ewma_covariance(returns, half_life=1e12).to_numpy(),
        est.sample_covariance(returns).to_numpy(),
        rtol=1e-8,
    )


def test_statistical_factor_model_reproduces_its_pieces(returns: pd.DataFrame) -> None:
    model = est.StatisticalFactorCovariance(n_factors=2).fit(returns)
    sample = np.cov(returns.to_numpy(), rowvar=False)
    values, vectors = np.linalg.eigh(sample)
    top = vectors[:, [-1, -2]] * np.sqrt(values[[-1, -2]])
    np.testing.assert_allclose(np.abs(model.loadings_), np.abs(top), rtol=1e-8)
    np.testing.assert_allclose(
        model.specific_variance_, np.diag(sample) - np.sum(top**2, axis=1), rtol=1e-8
    )
    rebuilt = model.loadings_ @ model.loadings_.T + np.diag(model.specific_variance_)
    np.testing.assert_allclose(model.covariance_, rebuilt, atol=TOLERANCE)
    np.testing.assert_allclose(np.diag(model.covariance_), np.diag(sample), rtol=1e-10)


def test_james_stein_shrinks_towards_the_grand_mean(returns: pd.DataFrame) -> None:
    x = returns.to_numpy()
    t, n = x.shape
    means = x.mean(axis=0)
    grand = means.mean()
    intensity = min(
        1.0, (n - 3) * np.mean(x.var(axis=0, ddof=1)) / (t * np.sum((means - grand) ** 2))
    )
    fitted = est.JamesSteinMean().fit(returns)
    assert fitted.shrinkage_ == pytest.approx(intensity, rel=1e-12)
    np.testing.assert_allclose(
        fitted.expected_returns_, grand + (1 - intensity) * (means - grand), rtol=1e-12
    )
    assert 0 < fitted.shrinkage_ <= 1


def test_grinold_kahn_alpha() -> None:
    scores = pd.Series({"a": 0.9, "b": 0.6, "c": 0.3})
    vol = pd.Series({"a": 0.2, "b": 0.3, "c": 0.1})
    alpha = est.alpha_from_scores(scores, vol, information_coefficient=0.1)
    z = (scores - scores.mean()) / scores.std(ddof=0)
    np.testing.assert_allclose(alpha.to_numpy(), (0.1 * vol * z).to_numpy(), atol=TOLERANCE)
    with pytest.raises(InputError, match="all scores are equal"):
        est.alpha_from_scores(pd.Series({"a": 1.0, "b": 1.0}), vol[["a", "b"]])


def test_factor_model_round_trips_a_dense_covariance(returns: pd.DataFrame) -> None:
    covariance = est.sample_covariance(returns)
    model = est.FactorModel.from_covariance(covariance)
    np.testing.assert_allclose(model.covariance().to_numpy(), covariance.to_numpy(), atol=1e-15)
    vol = est.volatility(covariance, periods_per_year=252)
    np.testing.assert_allclose(vol.to_numpy(), np.sqrt(252 * np.diag(covariance)), rtol=1e-12)
    corr = est.correlation(model)
    np.testing.assert_allclose(corr.to_numpy(), returns.corr().to_numpy(), atol=1e-10)


def test_vendor_factor_model_covariance() -> None:
    loadings = pd.DataFrame(
        [[1.0, 0.2], [0.5, -0.3], [0.0, 1.0]], index=list("abc"), columns=["mkt", "val"]
    )
    factor = pd.DataFrame(
        [[0.04, 0.01], [0.01, 0.02]], index=["mkt", "val"], columns=["mkt", "val"]
    )
    specific = pd.Series([0.01, 0.02, 0.03], index=list("abc"))
    model = est.FactorModel(loadings=loadings, factor_covariance=factor, specific_variance=specific)
    expected = loadings.to_numpy() @ factor.to_numpy() @ loadings.to_numpy().T + np.diag(specific)
    np.testing.assert_allclose(model.covariance().to_numpy(), expected, atol=1e-15)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda b, f, s: (b, f.iloc[::-1], s), "indexed and columned"),
        (lambda b, f, s: (b, f, s.iloc[:2]), "indexed like the loadings"),
        (lambda b, f, s: (b, f + np.array([[0, 0.005], [0, 0]]), s), "not symmetric"),
        (lambda b, f, s: (b, -f, s), "not positive semidefinite"),
        (lambda b, f, s: (b, f, -s), "negative for"),
    ],
)
def test_bad_factor_models(change, fragment: str) -> None:
    loadings = pd.DataFrame(
        [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], index=list("abc"), columns=["x", "y"]
    )
    factor = pd.DataFrame(np.eye(2) * 0.01, index=["x", "y"], columns=["x", "y"])
    specific = pd.Series([0.01, 0.01, 0.01], index=list("abc"))
    b, f, s = change(loadings, factor, specific)
    with pytest.raises(InputError, match=fragment):
        est.FactorModel(loadings=b, factor_covariance=f, specific_variance=s)


def test_gaps_in_returns_name_the_assets_and_rows(returns: pd.DataFrame) -> None:
    gappy = returns.copy()
    gappy.iloc[3:6, 2] = np.nan
    with pytest.raises(InputError, match=r"R2 \(3 rows\)"):
        est.SampleCovariance().fit(gappy)
    with pytest.raises(InputError, match="minimum of 2 is required"):
        est.HistoricalMean().fit(returns.iloc[:1])
