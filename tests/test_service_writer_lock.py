"""SQLite writers of several processes queue on one flock (portcon/service/writer_lock.py)."""

from __future__ import annotations

import fcntl
import multiprocessing
import os

import pytest

from portcon.service.writer_lock import WriterLock


def _hold(database: str, held, release) -> None:
    with WriterLock(database):
        held.set()
        release.wait(30)


def test_a_second_process_waits_for_the_writer(tmp_path):
    database = str(tmp_path / "svc.db")
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    child = context.Process(target=_hold, args=(database, held, release))
    child.start()
    try:
        assert held.wait(60), "the child never took the lock"
        probe = os.open(f"{database}.writer-lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            release.set()
            child.join(60)
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the child is done
            fcntl.flock(probe, fcntl.LOCK_UN)
        finally:
            os.close(probe)
    finally:
        release.set()
        child.join(60)
    with WriterLock(database):  # and this process takes it too
        pass


def test_a_killed_writer_frees_the_lock(tmp_path):
    database = str(tmp_path / "svc.db")
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    child = context.Process(target=_hold, args=(database, held, release))
    child.start()
    assert held.wait(60)
    child.kill()
    child.join(60)
    probe = os.open(f"{database}.writer-lock", os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the kernel released it
    finally:
        os.close(probe)


def test_threads_only_for_a_memory_database():
    lock = WriterLock(":memory:")
    with lock:
        assert not lock._threads.acquire(blocking=False)
    assert lock._threads.acquire(blocking=False)
    lock._threads.release()
