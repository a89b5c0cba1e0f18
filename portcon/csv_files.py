"""Every CSV input portcon reads: scores, returns, covariance, expected returns.

A missing, non-UTF-8, empty or unparsable file is an InputError naming the file and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from portcon.errors import InputError

SCORE = "score"
ASSET_COLUMN_NAMES = ("asset", "ticker", "symbol", "name", "id")


def read_csv_table(path: str | Path, what: str, **options: Any) -> pd.DataFrame:
    """``pd.read_csv(path, **options)`` with every way the file can be unreadable named.

    Parameters
    ----------
    path
        The file.
    what
        What the file holds ("scores", "returns"…), for the messages.
    options
        Passed to ``pandas.read_csv`` (the encoding is always UTF-8, BOM allowed).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not UTF-8 text (byte {error.start}); save the file as UTF-8 CSV"
        ) from error
    if not text.strip():
        raise InputError(f"{path}: the {what} file is empty; expected a header row and data rows")
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InputError(f"{path}: not a readable CSV table ({error})") from error


def read_scores_csv(path: str | Path) -> pd.DataFrame:
    """Read a scores CSV: one row per asset, the asset label in the first column.

    The label column may be named ``asset``, ``ticker``, ``symbol``, ``name`` or ``id``, or be
    the first column whatever its name.

    Raises
    ------
    InputError
        When the file is missing, not UTF-8, empty or not a CSV table.
    """
    path = Path(path)
    frame = read_csv_table(path, "scores", skipinitialspace=True)
    if frame.shape[1] < 2:
        raise InputError(
            f"{path}: found {frame.shape[1]} column(s); expected an asset column and a "
            f"'{SCORE}' column separated by commas"
        )
    label_column = next(
        (col for col in frame.columns if str(col).strip().lower() in ASSET_COLUMN_NAMES),
        frame.columns[0],
    )
    frame.columns = [str(col).strip() for col in frame.columns]
    frame = frame.set_index(str(label_column).strip())
    frame.index = frame.index.map(lambda label: str(label).strip() if pd.notna(label) else label)
    frame.index.name = "asset"
    return frame


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
