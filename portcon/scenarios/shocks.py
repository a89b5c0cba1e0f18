"""Shocks as pure functions on labelled inputs: scores, expected returns and risk models.

Risk shocks keep the covariance positive semidefinite by construction, in factor form
Σ = B F Bᵀ + diag(s) (or dense when a dense covariance was given):

- volatility ×m on assets: Σ → D Σ D with D = diag(m) (B → D B, s → m² s);
  on factors: F → D_f F D_f. Correlations are unchanged; only rows and columns of the named
  assets (factors) move.
- correlation stress: Σ → (1 − a) Σ + a · D_v T D_v with v the volatilities and T a target
  correlation (PSD, unit diagonal): a convex combination of PSD matrices with the same
  diagonal, so volatilities are unchanged. In factor form the target enters as extra factor
  columns (v for the constant-correlation target, D_v U √Λ for a given matrix).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portcon.estimators import FactorModel
from portcon.scenarios.model import CorrelationStress, ScoreShock, Selection, VolatilityShock

CORRELATION_TOLERANCE = 1e-8


def selected(selection: Selection, frame: pd.DataFrame, field: str) -> np.ndarray:
    """Boolean mask over ``frame``'s rows of the assets the selection names.

    Raises
    ------
    ValueError
        Naming an asset, bucket or sector that is not in the inputs (``field`` says where).
    """
    if selection.all:
        return np.ones(len(frame), dtype=bool)
    mask = np.zeros(len(frame), dtype=bool)
    if selection.assets:  # the labels as text only when asked for, once
        labels = frame.index.astype(str)
        for asset in selection.assets:
            hit = labels == asset
            if not hit.any():
                raise ValueError(f"{field}.assets: unknown asset {asset!r}")
            mask |= hit
    for kind, names in (("bucket", selection.buckets), ("sector", selection.sectors)):
        if not names:
            continue
        if kind not in frame:
            raise ValueError(f"{field}.{kind}s: the scores have no {kind} column")
        groups = frame[kind].astype(str).to_numpy()
        for name in names:
            hit = groups == name
            if not hit.any():
                raise ValueError(f"{field}.{kind}s: unknown {kind} {name!r}")
            mask |= hit
    return mask


def apply_operation(values: np.ndarray, mask: np.ndarray, shock: ScoreShock) -> np.ndarray:
    """``values`` with the shock's set / add / multiply applied where ``mask`` is true."""
    op, amount = shock.operation()
    out = np.array(values, dtype=float, copy=True)
    if op == "set":
        out[mask] = amount
    elif op == "add":
        out[mask] += amount
    else:
        out[mask] *= amount
    return out


def scale_factor_model(model: FactorModel, asset_scale: pd.Series) -> FactorModel:
    """Σ → D Σ D for asset volatility multipliers ``asset_scale`` (indexed like the model)."""
    m = asset_scale.reindex(model.assets).fillna(1.0).to_numpy(dtype=float)
    return FactorModel(
        loadings=model.loadings.mul(m, axis=0),
        factor_covariance=model.factor_covariance,
        specific_variance=model.specific_variance * m**2,
    )


def scale_factors(model: FactorModel, factor_scale: pd.Series) -> FactorModel:
    """F → D_f F D_f for factor volatility multipliers (indexed by factor)."""
    m = factor_scale.reindex(model.factor_covariance.index).fillna(1.0).to_numpy(dtype=float)
    covariance = model.factor_covariance.to_numpy(dtype=float) * np.outer(m, m)
    return FactorModel(
        loadings=model.loadings,
        factor_covariance=pd.DataFrame(
            covariance, index=model.factor_covariance.index, columns=model.factor_covariance.columns
        ),
        specific_variance=model.specific_variance,
    )


def scale_covariance(covariance: pd.DataFrame, asset_scale: pd.Series) -> pd.DataFrame:
    """Σ → D Σ D on a dense covariance."""
    m = asset_scale.reindex(covariance.index).fillna(1.0).to_numpy(dtype=float)
    return covariance * np.outer(m, m)


def target_correlation(stress: CorrelationStress, assets: pd.Index) -> np.ndarray:
    """The target correlation matrix T of a stress, over ``assets`` (checked PSD, unit diagonal)."""
    if not isinstance(stress.toward, str):
        rho = float(stress.toward)
        return (1 - rho) * np.eye(len(assets)) + rho
    from portcon.csv_files import read_covariance_csv

    frame = read_covariance_csv(stress.toward)
    missing = assets.difference(frame.index)
    if len(missing):
        raise ValueError(f"correlation_stress.toward: {len(missing)} assets missing from the file")
    matrix = frame.loc[assets, assets].to_numpy(dtype=float)
    if np.abs(np.diag(matrix) - 1).max() > CORRELATION_TOLERANCE:
        raise ValueError("correlation_stress.toward: the diagonal of a correlation must be 1")
    if np.abs(matrix - matrix.T).max() > CORRELATION_TOLERANCE:
        raise ValueError("correlation_stress.toward: the matrix is not symmetric")
    if np.linalg.eigvalsh(matrix).min() < -CORRELATION_TOLERANCE:
        raise ValueError("correlation_stress.toward: the matrix is not positive semidefinite")
    return matrix


def stress_covariance(covariance: pd.DataFrame, stress: CorrelationStress) -> pd.DataFrame:
    """(1 − a) Σ + a D_v T D_v on a dense covariance."""
    sigma = covariance.to_numpy(dtype=float)
    v = np.sqrt(np.maximum(np.diag(sigma), 0.0))
    target = target_correlation(stress, covariance.index) * np.outer(v, v)
    blended = (1 - stress.blend) * sigma + stress.blend * target
    return pd.DataFrame(
        (blended + blended.T) / 2, index=covariance.index, columns=covariance.columns
    )


def stress_factor_model(model: FactorModel, stress: CorrelationStress) -> FactorModel:
    """The correlation stress in factor form (asset correlations, or factor ones)."""
    a = stress.blend
    if stress.factors:
        f = model.factor_covariance.to_numpy(dtype=float)
        v = np.sqrt(np.maximum(np.diag(f), 0.0))
        target = target_correlation(stress, model.factor_covariance.index) * np.outer(v, v)
        blended = (1 - a) * f + a * target
        return FactorModel(
            loadings=model.loadings,
            factor_covariance=pd.DataFrame(
                (blended + blended.T) / 2,
                index=model.factor_covariance.index,
                columns=model.factor_covariance.columns,
            ),
            specific_variance=model.specific_variance,
        )
    b = model.loadings.to_numpy(dtype=float)
    f = model.factor_covariance.to_numpy(dtype=float)
    s = model.specific_variance.to_numpy(dtype=float)
    v = np.sqrt(np.einsum("ij,jk,ik->i", b, f, b) + s)
    extra, extra_cov, new_specific = _target_factors(stress, model.assets, v, a)
    names = [f"stress{k + 1}" for k in range(extra.shape[1])]
    k = f.shape[0]
    covariance = np.zeros((k + len(names), k + len(names)))
    covariance[:k, :k] = (1 - a) * f
    covariance[k:, k:] = extra_cov
    factors = [*model.loadings.columns, *names]
    return FactorModel(
        loadings=pd.DataFrame(np.hstack([b, extra]), index=model.assets, columns=factors),
        factor_covariance=pd.DataFrame(covariance, index=factors, columns=factors),
        specific_variance=pd.Series((1 - a) * s + new_specific, index=model.assets),
    )


def _target_factors(
    stress: CorrelationStress, assets: pd.Index, v: np.ndarray, a: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a · D_v T D_v as (extra loadings, their covariance, extra specific variance)."""
    if not isinstance(stress.toward, str):
        rho = float(stress.toward)
        return v[:, None], np.array([[a * rho]]), a * (1 - rho) * v**2
    target = target_correlation(stress, assets)
    eigenvalues, eigenvectors = np.linalg.eigh(target)
    keep = eigenvalues > CORRELATION_TOLERANCE
    loadings = v[:, None] * eigenvectors[:, keep] * np.sqrt(eigenvalues[keep])
    return loadings, a * np.eye(int(keep.sum())), np.zeros(len(v))


def volatility_multipliers(
    shocks: tuple[VolatilityShock, ...], frame: pd.DataFrame, factors: pd.Index | None
) -> tuple[pd.Series, pd.Series]:
    """Per-asset and per-factor multipliers (products over the shocks; 1 where untouched)."""
    assets = pd.Series(1.0, index=frame.index)
    by_factor = pd.Series(1.0, index=factors if factors is not None else pd.Index([]))
    for number, shock in enumerate(shocks):
        field = f"volatility_shocks[{number}]"
        if shock.names_assets():
            mask = selected(shock, frame, field)
            assets[mask] *= shock.multiply
        for factor in shock.factors:
            if factors is None:
                raise ValueError(f"{field}.factors: factor shocks need factor_model=")
            if factor not in by_factor.index:
                raise ValueError(f"{field}.factors: unknown factor {factor!r}")
            by_factor[factor] *= shock.multiply
    return assets, by_factor
