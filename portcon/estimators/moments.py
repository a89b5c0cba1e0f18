"""Volatility and correlation from a covariance or factor model, with explicit annualisation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portcon.estimators.factor_model import FactorModel


def volatility(risk: pd.DataFrame | FactorModel, periods_per_year: float = 1.0) -> pd.Series:
    """√(diag Σ × periods_per_year) per asset (pass 1 when Σ is already annual)."""
    covariance = risk.covariance() if isinstance(risk, FactorModel) else risk
    variance = np.diag(covariance.to_numpy(dtype=float)) * float(periods_per_year)
    return pd.Series(np.sqrt(np.maximum(variance, 0.0)), index=covariance.index, name="volatility")


def correlation(risk: pd.DataFrame | FactorModel) -> pd.DataFrame:
    """Σ_ij / (σ_i σ_j); assets with zero variance get correlation 0 off the diagonal."""
    covariance = risk.covariance() if isinstance(risk, FactorModel) else risk
    matrix = covariance.to_numpy(dtype=float)
    scale = np.sqrt(np.diag(matrix))
    with np.errstate(divide="ignore", invalid="ignore"):
        result = matrix / np.outer(scale, scale)
    result[~np.isfinite(result)] = 0.0
    np.fill_diagonal(result, 1.0)
    return pd.DataFrame(result, index=covariance.index, columns=covariance.columns)
