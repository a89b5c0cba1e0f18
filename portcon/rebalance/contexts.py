"""The market context of each rebalance of a replay: one for all dates, or one per date.

:func:`contexts_by_date` reads what ``replay(context=...)`` takes:

- one :class:`~portcon.context.MarketContext` (or a mapping of its fields): every date;
- a mapping or Series date → MarketContext (or a mapping of fields, or None);
- a DataFrame with a ``date`` column and one column per context field (missing cells take the
  field's default; ``favoured_buckets`` a list or a comma-separated string).

A date of the history without an entry has no context (a normal market); an entry for a date
the history lacks is an error, since it is most likely a misaligned calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

import pandas as pd

from portcon._text import listing
from portcon.context import MarketContext
from portcon.errors import InputError

CONTEXT_FIELDS = tuple(f.name for f in fields(MarketContext))

ContextInput = (
    MarketContext | Mapping[Any, Any] | pd.Series | pd.DataFrame | None
)  # what replay(context=) takes


def contexts_by_date(
    context: ContextInput, dates: Iterable[pd.Timestamp]
) -> dict[pd.Timestamp, MarketContext | None]:
    """Each date's context (None: no context that date).

    Raises
    ------
    InputError
        When a context is malformed (naming the date and the field), a date cannot be read,
        or an entry names a date the history lacks.
    """
    dates = list(dates)
    if context is None:
        return dict.fromkeys(dates)
    if isinstance(context, MarketContext):
        return dict.fromkeys(dates, context)
    if isinstance(context, pd.DataFrame):
        given = _from_frame(context)
    elif isinstance(context, pd.Series):
        given = {_date(key): _one(value, key) for key, value in context.items()}
    elif isinstance(context, Mapping):
        if any(str(key) in CONTEXT_FIELDS for key in context):
            return dict.fromkeys(dates, _one(context, None))
        given = {_date(key): _one(value, key) for key, value in context.items()}
    else:
        raise InputError(
            "context must be a MarketContext, a mapping of its fields, a mapping or Series "
            f"date → MarketContext, or a DataFrame with a date column; got {type(context).__name__}"
        )
    unknown = sorted(set(given) - set(dates))
    if unknown:
        shown = [f"{d:%Y-%m-%d}" for d in unknown]
        raise InputError(
            f"context: date(s) {listing(shown)} are not rebalance dates of the history; give "
            "contexts only for the history's dates"
        )
    return {date: given.get(date) for date in dates}


def _date(key: Any) -> pd.Timestamp:
    try:
        return pd.Timestamp(key).normalize()
    except (ValueError, TypeError) as error:
        raise InputError(
            f"context: {key!r} is not a date (YYYY-MM-DD); a per-date context is keyed by date"
        ) from error


def _one(value: Any, key: Any) -> MarketContext | None:
    """One date's context from a MarketContext, a mapping of its fields, or None."""
    where = "" if key is None else f" at {_date(key):%Y-%m-%d}"
    if value is None or isinstance(value, MarketContext):
        return value
    if isinstance(value, Mapping):
        try:
            return MarketContext.from_mapping(value)
        except InputError as error:
            raise InputError(f"{error}{where}") from None
    raise InputError(f"context{where}: expected a MarketContext or a mapping of its fields")


def _from_frame(frame: pd.DataFrame) -> dict[pd.Timestamp, MarketContext | None]:
    if "date" not in frame.columns:
        raise InputError("context: a DataFrame of contexts needs a 'date' column")
    found: dict[pd.Timestamp, MarketContext | None] = {}
    for row in frame.to_dict("records"):
        date = _date(row.pop("date"))
        if date in found:
            raise InputError(f"context: two rows for {date:%Y-%m-%d}")
        values = {k: v for k, v in row.items() if not _missing(v)}
        favoured = values.get("favoured_buckets")
        if isinstance(favoured, str):
            values["favoured_buckets"] = tuple(b.strip() for b in favoured.split(",") if b.strip())
        found[date] = _one(values, date)
    return found


def _missing(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
