"""Read market data from CSV files: returns (dates × assets), covariance, expected returns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from portcon.csv_files import read_csv_table
from portcon.errors import InputError


def read_labelled_csv(path: str | Path, what: str) -> pd.DataFrame:
    """A CSV whose first column labels the rows (dates or assets) and header labels columns.

    Raises
    ------
    InputError
        When the file is missing, not UTF-8, empty, or has non-numeric cells (named).
    """
    path = Path(path)
    frame = read_csv_table(path, what, index_col=0)
    frame.columns = [str(column).strip() for column in frame.columns]
    frame.index = [str(label).strip() for label in frame.index]
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & frame.notna()
    if bad.any().any():
        row, column = next((r, c) for c in bad.columns for r in bad.index[bad[c]])
        raise InputError(
            f"{path}: {what} value {frame.loc[row, column]!r} in row {row!r}, "
            f"column {column!r} is not a number"
        )
    return numeric


def read_returns_csv(path: str | Path) -> pd.DataFrame:
    """Periodic returns, one row per date and one column per asset."""
    return read_labelled_csv(path, "returns")


def read_covariance_csv(path: str | Path) -> pd.DataFrame:
    """A covariance matrix labelled by asset on both axes."""
    return read_labelled_csv(path, "covariance")


def read_expected_returns_csv(path: str | Path) -> pd.Series:
    """Expected returns: an asset column and one value column."""
    frame = read_labelled_csv(path, "expected returns")
    if frame.shape[1] != 1:
        raise InputError(
            f"{path}: expected returns need exactly one value column besides the asset column, "
            f"found {frame.shape[1]}"
        )
    return frame.iloc[:, 0]
