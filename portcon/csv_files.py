"""Reading a CSV input safely: a missing, non-UTF-8, empty or unparsable file is an InputError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from portcon.errors import InputError


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
