"""The store's bulk writes (service/bulk_rows.py) store what SQLAlchemy Core's insert stores.

A reference database is written the way the store wrote before (``sa.insert(table)`` with a
dictionary per row, every value through its column type); both are read back through the
same :class:`Store` and must agree on every column but the random row ids, on SQLite and on
a throwaway PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid

import pytest
import sqlalchemy as sa

from portcon.service import storage
from portcon.service import tables as t
from portcon.service.bulk_rows import ordered_ids, position_ids
from portcon.service.migrations import upgrade
from portcon.service.storage import DecisionRecord, PositionRecord, Store, make_engine
from tests.service_support import Postgres, postgres_bindir

NOW = dt.datetime(2024, 3, 5, 14, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def postgres():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    server = Postgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def records(prefix: str, count: int) -> list[DecisionRecord]:
    """Decisions with awkward values: None, NaN (stored as null), unicode, nested JSON."""
    out = []
    for i in range(count):
        explanation = {
            "asset": f"X{i}",
            "weight": 0.01 * i,
            "reason": "capped at 1% by max_weight; sector “Tech” cap binding",
            "nan": math.nan,
            "rows": [{"limit": "target_allocation", "shadow_price": -0.4 + i * 1e-13}],
        }
        position = PositionRecord(
            instrument_id=f"X{i}",
            recommended_weight=0.01 * i,
            sizing_method="KELLY_CRITERION",
            explanation=explanation,
            recommended_size=1234.5 * i if i % 3 else None,
            kelly_fraction=None if i % 2 else 0.8,
            confidence_score=0.9,
            binding="max_weight" if i % 2 else None,
            reason=explanation["reason"],
            position_id=f"{prefix}-pos-{i}",
        )
        out.append(
            DecisionRecord(
                decision_id=f"{prefix}-{i}",
                kind="position_size",
                request_hash=f"{i:064x}",
                response={"answer": explanation, "list": [1, 2.5, None], "i": i},
                processing_time_ms=1.5 * i,
                positions=[position],
                events=[("position_sized", {"decision": f"{prefix}-{i}", "w": 0.01 * i})],
            )
        )
    return out


def save_with_core(store: Store, batch: list[DecisionRecord]) -> None:
    """The reference: the store's former writes, a dictionary per row through Core."""
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(t.decisions),
            [
                {
                    "id": str(uuid.uuid4()),
                    "decision_id": r.decision_id,
                    "kind": r.kind,
                    "request_hash": r.request_hash,
                    "response": dict(r.response),
                    "processing_time_ms": r.processing_time_ms,
                    "created_at": NOW,
                }
                for r in batch
            ],
        )
        connection.execute(
            sa.insert(t.position_sizing_history),
            [
                {
                    "id": str(uuid.uuid4()),
                    "position_id": p.position_id,
                    "decision_id": r.decision_id,
                    "instrument_id": p.instrument_id,
                    "recommended_size": p.recommended_size,
                    "recommended_weight": p.recommended_weight,
                    "sizing_method": p.sizing_method,
                    "kelly_fraction": p.kelly_fraction,
                    "confidence_score": p.confidence_score,
                    "binding": p.binding,
                    "reason": p.reason,
                    "explanation": dict(p.explanation),
                    "created_at": NOW,
                }
                for r in batch
                for p in r.positions
            ],
        )
        connection.execute(
            sa.insert(t.events),
            [
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": kind,
                    "decision_id": r.decision_id,
                    "payload": dict(payload),
                    "created_at": NOW,
                }
                for r in batch
                for kind, payload in r.events
            ],
        )


def fresh_store(url: str) -> Store:
    engine = make_engine(url)
    upgrade(engine)
    return Store(engine)


def read_back(store: Store, batch: list[DecisionRecord]) -> tuple[object, object, object]:
    ids = [r.decision_id for r in batch]
    found = store.find_many(ids)
    history = sorted(
        (row for row in store.history(limit=10_000) if row["decision_id"] in ids),
        key=lambda row: row["position_id"],
    )
    events = [
        {key: value for key, value in event.items() if key not in ("seq", "event_id")}
        for event in store.events(limit=10_000)
        if event["decision_id"] in ids
    ]
    return found, history, events


def check_same_as_core(fast: Store, reference: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "utc_now", lambda: NOW)
    batch = records("d", 40)
    assert fast.save(*batch) == NOW
    save_with_core(reference, batch)
    fast_read, reference_read = read_back(fast, batch), read_back(reference, batch)
    assert fast_read == reference_read
    found, history, events = fast_read
    assert len(found) == len(history) == len(events) == 40
    assert history[1]["explanation"]["nan"] is None  # NaN is stored as null, as before
    assert {row["created_at"] for row in history} == {NOW.isoformat()}
    # the random row ids are UUIDs, distinct, and events keep their commit order
    with fast.engine.connect() as connection:
        row_ids = connection.execute(sa.select(t.decisions.c.id)).scalars().all()
        seqs = connection.execute(sa.select(t.events.c.seq).order_by(t.events.c.seq)).all()
    assert len(set(row_ids)) == len(row_ids) == 40
    assert all(uuid.UUID(row_id).version == 7 for row_id in row_ids)
    assert [e["decision_id"] for e in fast.events(limit=100)] == [r.decision_id for r in batch]
    assert len(seqs) == 40


def test_bulk_rows_equal_core_inserts_on_sqlite(tmp_path, monkeypatch):
    fast = fresh_store(f"sqlite:///{tmp_path / 'fast.db'}")
    reference = fresh_store(f"sqlite:///{tmp_path / 'reference.db'}")
    check_same_as_core(fast, reference, monkeypatch)


def test_bulk_rows_equal_core_inserts_on_postgresql(postgres, monkeypatch):
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in ("bulk_fast", "bulk_reference"):
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    base = postgres.url.rsplit("/", 1)[0]
    check_same_as_core(
        fresh_store(f"{base}/bulk_fast"), fresh_store(f"{base}/bulk_reference"), monkeypatch
    )


def test_a_repeated_decision_id_in_bulk_stores_nothing(tmp_path):
    store = fresh_store(f"sqlite:///{tmp_path / 'dupe.db'}")
    store.save(*records("a", 3))
    again = records("b", 3)[:2] + records("a", 3)[2:]  # b-0, b-1 and the stored a-2
    with pytest.raises(storage.DuplicateDecisionError):
        store.save(*again)
    assert set(store.find_many(["b-0", "b-1", "a-2"])) == {"a-2"}
    assert not [row for row in store.history(limit=100) if row["decision_id"].startswith("b")]


def test_ordered_ids_are_version_7_uuids_in_time_order():
    before = time.time_ns() // 1_000_000
    first = ordered_ids(5000)
    second = ordered_ids(3)
    after = time.time_ns() // 1_000_000
    assert len(set(first + second)) == 5003
    assert first == sorted(first) and max(first) < min(second)
    for text in first + second:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after  # the Unix time in milliseconds
    assert ordered_ids(0) == []
    ids = position_ids(4)
    assert all(len(i) == 36 and i.startswith("pos_") and int(i[4:], 16) >= 0 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 4
