"""A decision's rows written in bulk: one ``executemany`` per table, values as the driver
takes them.

SQLAlchemy Core's ``insert`` passes every value of every row through its column type (the
JSON columns' serialiser, SQLite's datetime formatting) and builds a parameter dictionary
per row: for a batch of 500 decisions (1,500 rows) that was a third of the time of storing
it. Here each JSON value is serialised once by orjson, the timestamp (one per save) is
converted once by the column type's own bind processor, and the rows go to the driver as
tuples: ``?`` placeholders on SQLite, ``%s`` (``%s::jsonb`` for JSON) on PostgreSQL. Another
database gets the same rows through Core's ``insert`` (its JSON values decoded back).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from portcon.service import jsonio

DRIVER_DIALECTS = ("sqlite", "postgresql")


def uuid4_texts(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, like ``str(uuid.uuid4())``, from one read
    of the system's random source (``uuid.uuid4`` reads it and builds an object per id)."""
    random = bytearray(os.urandom(16 * count))
    texts = []
    for start in range(0, 16 * count, 16):
        random[start + 6] = (random[start + 6] & 0x0F) | 0x40  # version 4
        random[start + 8] = (random[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
        h = random[start : start + 16].hex()
        texts.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return texts


def json_text(value: Any) -> str:
    """A JSON column's value as text (serialised once, by orjson)."""
    return jsonio.dumps(value)


def stamp_value(dialect: sa.Dialect, column: sa.Column[Any], now: dt.datetime) -> Any:
    """``now`` as the driver takes it for ``column``: its type's bind processor, once."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return now if process is None else process(now)


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order, JSON columns already as text from
    :func:`json_text`, stamps from :func:`stamp_value`) in one ``executemany``."""
    if not rows:
        return
    dialect = connection.dialect
    is_json = [isinstance(table.c[name].type, sa.JSON) for name in columns]
    if dialect.name not in DRIVER_DIALECTS:
        decoded = [
            {
                name: orjson.loads(value) if json else value
                for name, value, json in zip(columns, row, is_json, strict=True)
            }
            for row in rows
        ]
        connection.execute(sa.insert(table), decoded)
        return
    if dialect.name == "sqlite":
        marks = ["?"] * len(columns)
    else:
        marks = ["%s::jsonb" if json else "%s" for json in is_json]
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
    connection.exec_driver_sql(sql, list(rows))
