"""WAL checkpoints of the SQLite store run on their own thread, not inside commits."""

from __future__ import annotations

import gc
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from portcon.service.checkpoints import start_checkpoints
from portcon.service.migrations import upgrade
from portcon.service.storage import DecisionRecord, Store, make_engine


def record(i: int) -> DecisionRecord:
    return DecisionRecord(f"c-{i}", "position_size", "0" * 64, {"x": "y" * 2000}, 1.0)


def decisions_in_main_file(database, scratch) -> int:
    """Decisions in the database file alone (without its write-ahead log)."""
    for leftover in (f"{scratch}-wal", f"{scratch}-shm"):
        Path(leftover).unlink(missing_ok=True)
    shutil.copyfile(database, scratch)
    with closing(sqlite3.connect(scratch)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM decisions").fetchone()[0])
        except sqlite3.OperationalError:  # not even the tables are in the file yet
            return 0


def test_commits_leave_checkpoints_to_the_store_thread(tmp_path):
    database = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    store = Store(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    before = decisions_in_main_file(database, tmp_path / "copy.db")
    for i in range(300):
        store.save(record(i))
    # the thread copies the log into the database file within a few of its rounds
    deadline = time.monotonic() + 20
    while decisions_in_main_file(database, tmp_path / "copy.db") < 300:
        assert time.monotonic() < deadline, "no checkpoint reached the database file"
        time.sleep(0.1)
    assert before == 0
    assert len(store.find_many([f"c-{i}" for i in range(300)])) == 300


def test_the_thread_stops_with_its_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    upgrade(engine)
    thread = start_checkpoints(engine, interval=0.01)
    time.sleep(0.05)
    assert thread.is_alive()
    engine.dispose()
    del engine
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()
