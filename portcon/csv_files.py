"""Every file portcon reads: scores, returns, covariance and expected returns CSVs, limits TOML.

Files are read as text and parsed here, cell by cell, with Python's ``csv`` module: labels stay
exactly the text in the file (``001``, ``1e3``, ``TRUE``, ``NA`` and ``None`` are labels, never
numbers, booleans or gaps) and numbers are converted by portcon, so every bad cell is an
:class:`~portcon.errors.InputError` naming the file, line, column or asset and the fix. Only
regular files are read: a folder, pipe or device is refused before it is opened for reading
(a pipe is opened non-blocking, so it can never hang the reader).
"""

from __future__ import annotations

import csv
import io
import numbers
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from portcon.errors import InputError, PortconError

SCORE = "score"
ASSET_COLUMN_NAMES = ("asset", "ticker", "symbol", "name", "id")
DATA_COLUMNS: tuple[str, ...] = ("score", "bucket", "sector", "current_weight", "volatility")
DATA_COLUMNS += ("min_weight", "max_weight", "benchmark_weight")
TEXT_COLUMNS = ("bucket", "sector")
OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
NUMBER_HINT = "write numbers with '.' as the decimal point (0.9) and no thousands separators"


def read_text_file(path: str | Path, what: str, error: type[PortconError] = InputError) -> str:
    """The text of a regular UTF-8 file (a leading byte-order mark is dropped).

    Parameters
    ----------
    path
        The file.
    what
        What it holds ("scores", "limits"…), for the messages.
    error
        The error class to raise.

    Raises
    ------
    PortconError
        ``error`` when the path is empty, missing, a folder, a pipe or device, unreadable or
        not UTF-8, naming the file and the fix.
    """
    if str(path) == "":
        raise error(f"the {what} file name is empty; give the path of a file")
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError as failure:
        raise error(f"{what} file '{path}' does not exist") from failure
    except PermissionError as failure:
        raise error(
            f"{what} file '{path}' cannot be read: permission denied; make it readable "
            "(chmod u+r) or give a copy you can read"
        ) from failure
    except OSError as failure:
        raise error(f"{what} file '{path}' cannot be opened ({failure.strerror})") from failure
    try:
        _check_regular(descriptor, path, what, error)
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read()
    except OSError as failure:
        raise error(f"{what} file '{path}' cannot be read ({failure.strerror})") from failure
    finally:
        os.close(descriptor)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as failure:
        raise error(
            f"{path}: not UTF-8 text (byte {failure.start}); save the file as UTF-8"
        ) from failure


def _check_regular(descriptor: int, path: Path, what: str, error: type[PortconError]) -> None:
    kind = os.fstat(descriptor).st_mode
    if stat.S_ISDIR(kind):
        raise error(f"{what} file '{path}' is a folder; give the path of a file inside it")
    if not stat.S_ISREG(kind):
        raise error(
            f"{what} file '{path}' is not a regular file (a pipe, socket or device); save "
            "the data to a file and give its path"
        )


def read_csv_table(path: str | Path, what: str) -> pd.DataFrame:
    """A CSV file as a table of stripped text cells (header names as columns).

    Blank lines are skipped; empty trailing fields (a comma ending every line) are dropped.

    Raises
    ------
    InputError
        When the file cannot be read, is empty, is separated by something other than commas,
        has a line with more fields than the header, or a missing or repeated column name.
    """
    text = read_text_file(path, what)
    records = [
        (number, cells) for number, cells in _records(text, path) if any(map(str.strip, cells))
    ]
    if not records:
        raise InputError(f"{path}: the {what} file is empty; expected a header row and data rows")
    (_, header), body = records[0], records[1:]
    header = [cell.strip() for cell in header]
    _check_separator(path, header)
    rows = [_fit(path, number, cells, len(header)) for number, cells in body]
    while len(header) > 1 and header[-1] == "" and all(row[-1] == "" for row in rows):
        header.pop()
        rows = [row[:-1] for row in rows]
    _check_header(path, header)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.attrs["lines"] = [number for number, _ in body]
    return frame


def _records(text: str, path: str | Path) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return [(reader.line_num, cells) for cells in reader]
    except csv.Error as failure:
        raise InputError(
            f"{path}, line {reader.line_num}: not a readable CSV table ({failure}); check the "
            'quotes (") on that line: each quoted value opens and closes with one'
        ) from failure


def _check_separator(path: str | Path, header: list[str]) -> None:
    if len(header) != 1:
        return
    for separator, name in OTHER_SEPARATORS.items():
        if separator in header[0]:
            raise InputError(
                f"{path}: the fields are separated by {name}; portcon reads comma-separated "
                f"files: save it as CSV with ',' between fields and '.' as the decimal point"
            )


def _fit(path: str | Path, number: int, cells: list[str], width: int) -> list[str]:
    cells = [cell.strip() for cell in cells]
    if len(cells) <= width:
        return cells + [""] * (width - len(cells))
    if any(cells[width:]):
        raise InputError(
            f"{path}, line {number}: {len(cells)} fields but the header has {width}; a decimal "
            f"comma (0,9)? {NUMBER_HINT}, and quote any text that contains a comma"
        )
    return cells[:width]


def _check_header(path: str | Path, header: list[str]) -> None:
    for position, name in enumerate(header[1:], start=2):
        if not name:
            raise InputError(
                f"{path}: column {position} has no name in the header row; name it or delete it"
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(
                f"{path}: column '{name}' appears twice in the header (columns {seen[name]} and "
                f"{position}); keep one of them"
            )
        seen[name] = position


def read_scores_csv(path: str | Path) -> pd.DataFrame:
    """Read a scores CSV: one row per asset, the asset label in its own column.

    The label column is the one named ``asset``, ``ticker``, ``symbol``, ``name`` or ``id``,
    else the first column when its name is not one of the data columns (``score``,
    ``bucket``…). Labels, buckets and sectors are kept as text; other cells stay text for
    :class:`~portcon.universe.Universe` to convert, with empty cells as NaN.

    Raises
    ------
    InputError
        When the file is missing, not UTF-8, empty, not a CSV table or has no asset column.
    """
    frame = read_csv_table(path, "scores")
    if frame.shape[1] < 2:
        raise InputError(
            f"{path}: found {frame.shape[1]} column(s); expected an asset column and a "
            f"'{SCORE}' column separated by commas"
        )
    label = next((c for c in frame.columns if c.lower() in ASSET_COLUMN_NAMES), frame.columns[0])
    if label in DATA_COLUMNS:
        raise InputError(
            f"{path}: no asset column (the first column is '{label}'); add a first column "
            "named 'asset' holding each asset's name"
        )
    frame = frame.replace("", np.nan).set_index(label)
    frame.index.name = "asset"
    return frame


def read_labelled_csv(path: str | Path, what: str) -> pd.DataFrame:
    """A numeric CSV whose first column labels the rows (dates or assets), header the columns.

    Raises
    ------
    InputError
        When the file cannot be read, has a missing or repeated label, or a cell that is not a
        number (naming its line and column).
    """
    frame = read_csv_table(path, what)
    if frame.shape[1] < 2:
        raise InputError(
            f"{path}: found {frame.shape[1]} column(s); expected a label column and value "
            "columns separated by commas"
        )
    lines = frame.attrs["lines"]
    labels = frame.iloc[:, 0]
    for line, label in zip(lines, labels, strict=True):
        if not label:
            raise InputError(f"{path}, line {line}: the row has no label in the first column")
    repeated = labels[labels.duplicated()]
    if len(repeated):
        raise InputError(
            f"{path}: row label '{repeated.iloc[0]}' appears more than once; keep one row each"
        )
    values = frame.iloc[:, 1:]
    numbers = np.empty(values.shape, dtype=float)
    for k, column in enumerate(values.columns):
        for i, cell in enumerate(values[column]):
            numbers[i, k] = _number(cell, f"{path}, line {lines[i]}, column '{column}': {what}")
    return pd.DataFrame(numbers, index=pd.Index(labels, dtype=object), columns=values.columns)


def _number(cell: str, where: str) -> float:
    if cell == "":
        return float("nan")
    try:
        return float(cell)
    except ValueError:
        raise InputError(f"{where} value {cell!r} is not a number; {NUMBER_HINT}") from None


def parse_real(value: object) -> float | None:
    """A real number as float, NaN for a gap (empty text, None, NaN), None for anything else.

    Text is parsed by ``float`` after stripping; booleans and complex numbers are not real
    numbers here (pandas and numpy would silently read them as 1/0 or drop the imaginary part).
    """
    if isinstance(value, bool | np.bool_ | complex | np.complexfloating):
        return None
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else np.nan
        except ValueError:
            return None
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, numbers.Real):
        return float(value)
    return None


def read_current_csv(path: str | Path) -> pd.DataFrame:
    """The book held now: one row per asset (its label first), a ``current_weight`` column and
    optional ``days_held`` and ``days_below_threshold`` columns.

    Raises
    ------
    InputError
        When the file cannot be read or a cell is not a number (naming its line and column).
    """
    frame = read_labelled_csv(path, "current book")
    frame.index.name = "asset"
    return frame


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
