"""Return-history checks shared by the estimators: gaps and short histories are input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_array

from portcon._text import listing
from portcon.errors import InputError


def check_returns(returns: pd.DataFrame | np.ndarray, min_periods: int = 2) -> np.ndarray:
    """Validate a T × N return history and return it as a float array.

    Raises
    ------
    InputError
        When the history has NaN or infinite values (naming the assets and how many rows),
        has fewer than ``min_periods`` rows, or is not numeric.
    """
    if np.iscomplexobj(returns) or (
        isinstance(returns, pd.DataFrame) and any(np.iscomplexobj(c) for _, c in returns.items())
    ):
        raise InputError("Complex data not supported: returns must be real numbers")
    if sp.issparse(returns):
        check_array(returns, accept_sparse=False)  # raises scikit-learn's own message
    names = (
        [str(column) for column in returns.columns] if isinstance(returns, pd.DataFrame) else None
    )
    try:
        values = np.asarray(returns, dtype=float)
    except ValueError as error:  # a TypeError (say, a dict in a cell) is not data at all
        raise InputError(f"returns must be numeric ({error})") from error
    if values.ndim == 2 and values.size:
        bad = ~np.isfinite(values)
        if bad.any():
            counts = bad.sum(axis=0)
            labels = names or [f"column {k}" for k in range(values.shape[1])]
            gaps = [f"{labels[k]} ({counts[k]} rows)" for k in np.flatnonzero(counts)]
            raise InputError(
                f"returns have NaN or infinite values for {listing(gaps)}; fill or drop those "
                "rows, or drop the assets"
            )
    try:
        return check_array(values, ensure_min_samples=min_periods)
    except ValueError as error:
        raise InputError(f"returns: {error}") from error


def decay_weights(periods: int, half_life: float) -> np.ndarray:
    """Exponential weights over ``periods`` rows, newest last, halving every ``half_life``."""
    if not half_life > 0:
        raise InputError(f"half_life must be > 0, got {half_life}")
    age = np.arange(periods - 1, -1, -1, dtype=float)
    weights = 0.5 ** (age / half_life)
    return weights / weights.sum()
