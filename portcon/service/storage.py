"""The store: one transaction per decision (decision, its positions and its outbox events).

A response is sent only after :meth:`Store.save` has committed, so an acknowledged decision
is never lost; a killed server leaves no partial decision because the three writes commit
together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa

from portcon.service import jsonio
from portcon.service import tables as t
from portcon.service.bulk_rows import (
    insert_rows,
    json_text,
    ordered_ids,
    position_ids,
    stamp_value,
)
from portcon.service.checkpoints import start_checkpoints
from portcon.service.settings import normalise_database_url
from portcon.service.writer_lock import WriterLock

OUTBOX_LOCK = 7_401_301  # PostgreSQL advisory lock: events get their seq in commit order


class DuplicateDecisionError(Exception):
    """A decision with this decision_id is already stored (another request won the race)."""


@dataclass(frozen=True)
class PositionRecord:
    """One sized position of a decision, as stored in ``position_sizing_history``."""

    instrument_id: str
    recommended_weight: float
    sizing_method: str
    explanation: Mapping[str, Any]
    recommended_size: float | None = None
    kelly_fraction: float | None = None
    confidence_score: float | None = None
    binding: str | None = None
    reason: str | None = None
    position_id: str = field(default_factory=lambda: position_ids(1)[0])


@dataclass(frozen=True)
class DecisionRecord:
    """A decision to store: the full response (with its explanation), positions and events."""

    decision_id: str
    kind: str
    request_hash: str
    response: Mapping[str, Any]
    processing_time_ms: float
    positions: Sequence[PositionRecord] = ()
    events: Sequence[tuple[str, Mapping[str, Any]]] = ()


def utc_now() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(stamp: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite returns it naive, as written: UTC)."""
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys."""
    url = normalise_database_url(url)
    json_io = {"json_serializer": jsonio.dumps, "json_deserializer": jsonio.loads}
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **json_io)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **json_io
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # a commit survives a killed process
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # checkpoints run on a thread of the Store (checkpoints.py), not inside a commit; an
        # engine without a Store is short-lived, and SQLite checkpoints when it closes
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    return engine


class Store:
    """Reads and writes the service database through one SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.is_postgresql = engine.dialect.name == "postgresql"
        # SQLite writers queue on a lock (threads and worker processes) instead of sleeping
        # in SQLite's busy handler: see writer_lock.py
        self._write_lock: AbstractContextManager[Any] = (
            WriterLock(engine.url.database) if engine.dialect.name == "sqlite" else nullcontext()
        )
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            start_checkpoints(engine)

    def ping(self) -> None:
        """Raise (a SQLAlchemy error) unless the database answers."""
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def save(self, *records: DecisionRecord) -> dt.datetime:
        """Store decisions, their positions and their events in one transaction.

        Raises
        ------
        DuplicateDecisionError
            When a decision_id is already stored (nothing of this call is then stored).
        """
        now = utc_now()
        try:
            with self._write_lock, self.engine.begin() as connection:
                stamp = partial(stamp_value, connection.dialect, now=now)
                decisions = _decision_rows(records, stamp(t.decisions.c.created_at))
                insert_rows(connection, t.decisions, DECISION_COLUMNS, decisions)
                positions = _position_rows(records, stamp(t.position_sizing_history.c.created_at))
                insert_rows(connection, t.position_sizing_history, POSITION_COLUMNS, positions)
                events = _event_rows(records, stamp(t.events.c.created_at))
                if events:
                    if self.is_postgresql:
                        lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
                        connection.execute(lock, {"key": OUTBOX_LOCK})
                    insert_rows(connection, t.events, EVENT_COLUMNS, events)
        except sa.exc.IntegrityError as error:
            if self.find_many([r.decision_id for r in records]):
                raise DuplicateDecisionError(records[0].decision_id) from error
            raise
        return now

    def find(self, decision_id: str) -> tuple[str, dict[str, Any]] | None:
        """The stored (request hash, response) of a decision, or None."""
        query = sa.select(t.decisions.c.request_hash, t.decisions.c.response).where(
            t.decisions.c.decision_id == decision_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (row.request_hash, dict(row.response))

    def find_many(self, decision_ids: Iterable[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """The stored decisions among ``decision_ids``, by decision_id."""
        columns = (t.decisions.c.decision_id, t.decisions.c.request_hash, t.decisions.c.response)
        query = sa.select(*columns).where(t.decisions.c.decision_id.in_(list(decision_ids)))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return {row.decision_id: (row.request_hash, dict(row.response)) for row in rows}

    def history(
        self,
        *,
        instrument_id: str | None = None,
        decision_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Stored positions, newest first, filtered by instrument, decision and time."""
        h = t.position_sizing_history
        query = sa.select(h)
        if instrument_id is not None:
            query = query.where(h.c.instrument_id == instrument_id)
        if decision_id is not None:
            query = query.where(h.c.decision_id == decision_id)
        if since is not None:
            query = query.where(h.c.created_at >= as_utc(since))
        if until is not None:
            query = query.where(h.c.created_at < as_utc(until))
        query = query.order_by(h.c.created_at.desc(), h.c.id).limit(limit).offset(offset)
        with self.engine.connect() as connection:
            return [_position_out(row._mapping) for row in connection.execute(query)]

    def position(self, position_id: str) -> dict[str, Any] | None:
        """One stored position with the full stored response of its decision, or None."""
        h = t.position_sizing_history
        query = sa.select(h, t.decisions.c.response).join(
            t.decisions, t.decisions.c.decision_id == h.c.decision_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(query.where(h.c.position_id == position_id)).first()
        if row is None:
            return None
        out = _position_out(row._mapping)
        out["decision"] = dict(row.response)
        return out

    def events(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Outbox events with ``seq > after``, oldest first."""
        e = t.events
        query = sa.select(e).where(e.c.seq > after).order_by(e.c.seq).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            {
                "seq": row.seq,
                "event_id": row.event_id,
                "event_type": row.event_type,
                "decision_id": row.decision_id,
                "timestamp": as_utc(row.created_at).isoformat(),
                **dict(row.payload),
            }
            for row in rows
        ]

    def add_key(self, key_id: str, name: str, key_hash: str) -> None:
        """Store an API key's hash."""
        row = {"key_id": key_id, "name": name, "key_hash": key_hash, "created_at": utc_now()}
        with self.engine.begin() as connection:
            connection.execute(sa.insert(t.api_keys), [row])

    def key_hash(self, key_id: str) -> str | None:
        """The stored hash of an API key that is not revoked, or None."""
        k = t.api_keys
        query = sa.select(k.c.key_hash).where(k.c.key_id == key_id, k.c.revoked_at.is_(None))
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def save_matrix(
        self, matrix_id: str, kind: str, instruments: list[str], data: list[list[float]]
    ) -> None:
        """Store (or replace) a covariance or correlation matrix under ``matrix_id``."""
        m = t.correlation_matrices
        row = {
            "id": str(uuid.uuid4()),
            "matrix_id": matrix_id,
            "kind": kind,
            "instruments": instruments,
            "correlation_data": data,
            "calculation_date": utc_now().date(),
            "lookback_period": 0,
            "created_at": utc_now(),
        }
        with self.engine.begin() as connection:
            connection.execute(sa.delete(m).where(m.c.matrix_id == matrix_id))
            connection.execute(sa.insert(m), [row])

    def matrix(self, matrix_id: str) -> tuple[str, list[str], list[list[float]]] | None:
        """A stored matrix as (kind, instruments, rows), or None."""
        m = t.correlation_matrices
        query = sa.select(m.c.kind, m.c.instruments, m.c.correlation_data)
        with self.engine.connect() as connection:
            row = connection.execute(query.where(m.c.matrix_id == matrix_id)).first()
        return None if row is None else (row.kind, list(row.instruments), row.correlation_data)


DECISION_COLUMNS = (
    "id",
    "decision_id",
    "kind",
    "request_hash",
    "response",
    "processing_time_ms",
    "created_at",
)
POSITION_COLUMNS = (
    "id",
    "position_id",
    "decision_id",
    "instrument_id",
    "recommended_size",
    "recommended_weight",
    "sizing_method",
    "kelly_fraction",
    "confidence_score",
    "binding",
    "reason",
    "explanation",
    "created_at",
)
EVENT_COLUMNS = ("event_id", "event_type", "decision_id", "payload", "created_at")


def _decision_rows(records: Sequence[DecisionRecord], stamp: Any) -> list[tuple[Any, ...]]:
    ids = ordered_ids(len(records))
    return [
        (
            row_id,
            r.decision_id,
            r.kind,
            r.request_hash,
            json_text(r.response),
            r.processing_time_ms,
            stamp,
        )
        for row_id, r in zip(ids, records, strict=True)
    ]


def _position_rows(records: Sequence[DecisionRecord], stamp: Any) -> list[tuple[Any, ...]]:
    owned = [(r.decision_id, p) for r in records for p in r.positions]
    ids = ordered_ids(len(owned))
    return [
        (
            row_id,
            p.position_id,
            decision_id,
            p.instrument_id,
            p.recommended_size,
            p.recommended_weight,
            p.sizing_method,
            p.kelly_fraction,
            p.confidence_score,
            p.binding,
            p.reason,
            json_text(p.explanation),
            stamp,
        )
        for row_id, (decision_id, p) in zip(ids, owned, strict=True)
    ]


def _event_rows(records: Sequence[DecisionRecord], stamp: Any) -> list[tuple[Any, ...]]:
    owned = [(r.decision_id, e) for r in records for e in r.events]
    ids = ordered_ids(len(owned))
    return [
        (event_id, kind, decision_id, json_text(payload), stamp)
        for event_id, (decision_id, (kind, payload)) in zip(ids, owned, strict=True)
    ]


_POSITION_PLAIN = tuple(c for c in POSITION_COLUMNS if c not in ("id", "explanation", "created_at"))


def _position_out(row: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    out = {key: row[key] for key in _POSITION_PLAIN}
    out["explanation"] = dict(row["explanation"])
    out["created_at"] = as_utc(row["created_at"]).isoformat()
    return out
