"""Return-history checks shared by the estimators: gaps and short histories are input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pandas.api.extensions import ExtensionDtype
from sklearn.utils import check_array

from portcon._text import listing
from portcon.csv_files import parse_real
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


def real_table(table: pd.DataFrame | pd.Series, what: str) -> np.ndarray:
    """The values of a labelled table as floats (NaN for gaps).

    Raises
    ------
    InputError
        For a cell holding text, true/false or a complex number, naming its row and column.
    """
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    values = np.empty(frame.shape, dtype=float)
    for k, (column, cells) in enumerate(frame.items()):
        if _plain_numbers(cells.dtype):
            values[:, k] = cells.to_numpy(dtype=float, na_value=np.nan)
            continue
        for i, (row, cell) in enumerate(cells.items()):
            number = parse_real(cell)
            if number is None:
                where = (
                    f"row {row!r}"
                    if isinstance(table, pd.Series)
                    else (f"row {row!r}, column {column!r}")
                )
                raise InputError(f"{what}: {cell!r} in {where} is not a real number; give numbers")
            values[i, k] = number
    return values


def _plain_numbers(kind: np.dtype | ExtensionDtype) -> bool:
    types = pd.api.types
    return bool(
        types.is_numeric_dtype(kind)
        and not types.is_bool_dtype(kind)
        and not types.is_complex_dtype(kind)
    )


def check_unique(labels: pd.Index, what: str) -> None:
    """Raise when a label appears more than once (naming it)."""
    repeated = labels[labels.duplicated()].unique()
    if len(repeated):
        raise InputError(
            f"{what} lists {listing(repr(label) for label in repeated)} more than once; "
            "give each asset once"
        )


def check_magnitude(values: np.ndarray, limit: float, what: str, hint: str) -> None:
    """Raise when a finite value exceeds ``limit`` in size (a unit error, and an overflow)."""
    finite = values[np.isfinite(values)]
    if finite.size and float(np.abs(finite).max()) > limit:
        largest = float(np.abs(finite).max())
        raise InputError(f"{what} holds values up to {largest:.3g}, beyond ±{limit:g}; {hint}")


def decay_weights(periods: int, half_life: float) -> np.ndarray:
    """Exponential weights over ``periods`` rows, newest last, halving every ``half_life``."""
    if not half_life > 0:
        raise InputError(f"half_life must be > 0, got {half_life}")
    age = np.arange(periods - 1, -1, -1, dtype=float)
    weights = 0.5 ** (age / half_life)
    return weights / weights.sum()
