"""A dated score history in long format, read and checked before a replay runs.

One row per (date, asset): ``date``, ``asset``, ``score`` and optional per-asset columns
(``bucket``, ``sector``, ``trending_confidence``, ``cost_bps``, ``volatility``, ``min_weight``,
``max_weight``, ``fixed_weight``). The book's state (``current_weight``, ``days_held``,
``days_below_threshold``) is what a replay carries from step to step, so the history may not
give it. Every error names the row (the CSV line) and the column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.csv_files import parse_real, read_csv_table
from portcon.errors import InputError

REQUIRED = ("date", "asset", "score")
LABELS = ("bucket", "sector")
NUMBERS: tuple[str, ...] = ("score", "trending_confidence", "cost_bps", "volatility")
NUMBERS += ("min_weight", "max_weight", "fixed_weight")
CARRIED = ("current_weight", "days_held", "days_below_threshold")
"""State the replay carries; a history giving it would be ambiguous."""


def read_history_csv(path: str | Path) -> pd.DataFrame:
    """A history CSV checked by :func:`check_history` (errors name the file and line)."""
    frame = read_csv_table(path, "history")
    lines = frame.attrs.get("lines", list(range(2, len(frame) + 2)))
    frame = frame.replace("", np.nan)
    return check_history(frame, where=[f"{path}, line {line}" for line in lines])


def check_history(history: pd.DataFrame, where: list[str] | None = None) -> pd.DataFrame:
    """The history with ``date`` as timestamps, numbers as floats, sorted by date (stable).

    Parameters
    ----------
    history
        Long table: ``date``, ``asset``, ``score`` and optional columns (see module doc).
    where
        How to name each row in messages (CSV lines); by default ``history row k`` (0-based).

    Raises
    ------
    InputError
        A missing or carried column, a blank asset, an unparsable date or number, or a
        (date, asset) pair given twice, naming the rows and the column.
    """
    if not isinstance(history, pd.DataFrame):
        raise InputError(
            "history must be a DataFrame in long format with columns date, asset, score; got "
            f"{type(history).__name__}"
        )
    keep_index = "asset" not in history.columns and history.index.name == "asset"
    frame = history.reset_index(drop=not keep_index)
    names = where if where is not None else [f"history row {k}" for k in range(len(frame))]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"history: missing column(s) {listing(missing)}; a history has one row per (date, "
            "asset) with columns date, asset, score"
        )
    carried = [c for c in CARRIED if c in frame.columns]
    if carried:
        raise InputError(
            f"history: column(s) {listing(carried)} are carried by the replay from step to "
            "step; drop them (give the starting book as initial=)"
        )
    if frame.empty:
        raise InputError("history: no rows; expected one row per (date, asset)")
    frame["date"] = _dates(frame["date"], names)
    frame["asset"] = _labels(frame["asset"], "asset", names, blank_ok=False)
    for column in LABELS:
        if column in frame.columns:
            frame[column] = _labels(frame[column], column, names, blank_ok=True)
    for column in NUMBERS:
        if column in frame.columns:
            frame[column] = _numbers(frame[column], column, names, blank_ok=column != "score")
    _check_unique(frame, names)
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def _dates(column: pd.Series, names: list[str]) -> pd.Series:
    parsed = []
    for k, cell in enumerate(column):
        try:
            stamp = pd.Timestamp(cell)
        except (ValueError, TypeError):
            stamp = None
        if stamp is None or pd.isna(stamp) or stamp.tzinfo is not None:
            raise InputError(
                f"{names[k]}, column 'date': {cell!r} is not a date; write dates as "
                "YYYY-MM-DD (no time zone)"
            )
        parsed.append(stamp.normalize() if stamp != stamp.normalize() else stamp)
    return pd.Series(pd.DatetimeIndex(parsed), index=column.index)


def _labels(column: pd.Series, name: str, names: list[str], blank_ok: bool) -> pd.Series:
    values: list[object] = []
    for k, cell in enumerate(column):
        blank = cell is None or (isinstance(cell, float) and np.isnan(cell)) or cell is pd.NA
        if blank or str(cell).strip() == "":
            if not blank_ok:
                raise InputError(f"{names[k]}, column '{name}': blank; give the {name}")
            values.append(np.nan)
        else:
            values.append(str(cell))
    return pd.Series(values, index=column.index, dtype=object)


def _numbers(column: pd.Series, name: str, names: list[str], blank_ok: bool) -> pd.Series:
    values = np.empty(len(column))
    for k, cell in enumerate(column):
        value = parse_real(cell)
        problem = None
        if value is None:
            problem = f"{cell!r} is not a number"
        elif np.isnan(value) and not blank_ok:
            problem = "blank"
        elif np.isinf(value):
            problem = f"{cell!r} is not finite"
        if problem is not None:
            raise InputError(
                f"{names[k]}, column '{name}': {problem}; write numbers with '.' as the decimal "
                "point (0.61)"
            )
        values[k] = value
    return pd.Series(values, index=column.index)


def _check_unique(frame: pd.DataFrame, names: list[str]) -> None:
    twice = np.flatnonzero(frame.duplicated(["date", "asset"], keep=False).to_numpy())
    if len(twice):
        date, asset = frame.loc[twice[0], "date"], frame.loc[twice[0], "asset"]
        same = (frame["date"] == date) & (frame["asset"] == asset)
        rows = [names[k] for k in np.flatnonzero(same.to_numpy())]
        raise InputError(
            f"history: asset {asset} is given twice on {date:%Y-%m-%d} ({listing(rows, 4)}); "
            "give one row per (date, asset)"
        )
