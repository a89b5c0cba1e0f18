"""The service as it runs: a real uvicorn on loopback, PostgreSQL, a database outage, SIGKILL."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from portcon.service.app import create_app
from portcon.service.settings import Settings
from tests.service_support import (
    Postgres,
    Server,
    construct_request,
    postgres_bindir,
    running_server,
    sizing_request,
)


@pytest.fixture(scope="session")
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


def test_real_server_on_sqlite_answers_and_keeps_decisions_across_restarts(tmp_path):
    url = f"sqlite:///{tmp_path / 'real.db'}"
    with running_server(url) as server:
        answer = httpx.post(f"{server.url}/construct", json=construct_request(decision_id="r1"))
        assert answer.status_code == 200
        sized = httpx.post(f"{server.url}/calculate-position-size", json=sizing_request("r2"))
        assert sized.status_code == 200
        bad = httpx.post(f"{server.url}/construct", json={"scores": "no"})
        assert bad.status_code == 422 and bad.json()["error"] == "ValidationError"
    with running_server(url) as server:
        rows = httpx.get(f"{server.url}/history", params={"decision_id": "r2"}).json()
        assert [row["instrument_id"] for row in rows] == ["AAPL"]
        replay = httpx.post(f"{server.url}/calculate-position-size", json=sizing_request("r2"))
        assert replay.headers["idempotent-replay"] == "true"
        assert replay.json() == sized.json()


def test_postgresql_store_migrates_sizes_and_replays(postgres):
    settings = Settings(database_url=postgres.url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health").json()["database"] == "ok"
        first = client.post("/api/v1/calculate-position-size", json=sizing_request("pg-1"))
        assert first.status_code == 200, first.text
        again = client.post("/api/v1/calculate-position-size", json=sizing_request("pg-1"))
        assert again.json() == first.json()
        built = client.post("/api/v1/construct", json=construct_request(decision_id="pg-2"))
        assert built.status_code == 200
        rows = client.get("/api/v1/history", params={"instrument_id": "AAPL"}).json()
        assert [row["decision_id"] for row in rows] == ["pg-1"]
        events = client.get("/api/v1/events").json()
        assert [e["event_type"] for e in events][-2:] == ["position_sized", "portfolio_constructed"]


def test_postgresql_schema_matches_the_tables(postgres):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from portcon.service.migrations import upgrade
    from portcon.service.storage import make_engine
    from portcon.service.tables import metadata

    engine = make_engine(postgres.url)
    upgrade(engine)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in diffs if d[0] not in {"add_index", "remove_index"}] == []
    engine.dispose()


@pytest.mark.slow
def test_database_outage_gives_503_and_the_service_recovers(postgres):
    settings = Settings(database_url=postgres.url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/health").status_code == 200
        postgres.pause()
        try:
            health = client.get("/api/v1/health")
            assert health.status_code == 503 and health.json()["database"] != "ok"
            down = client.post("/api/v1/calculate-position-size", json=sizing_request("out-1"))
            assert down.status_code == 503
            assert down.json()["error"] == "DatabaseUnavailable" and "Traceback" not in down.text
        finally:
            postgres.restart_later()
        assert client.get("/api/v1/health").status_code == 200
        back = client.post("/api/v1/calculate-position-size", json=sizing_request("out-1"))
        assert back.status_code == 200


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_acknowledged_decision(tmp_path):
    url = f"sqlite:///{tmp_path / 'fault.db'}"
    acknowledged: list[str] = []
    lock = threading.Lock()
    server = Server(url)
    server.start()
    stop = time.monotonic() + 20  # bounded even if the kill never comes

    def client(number: int) -> None:
        with httpx.Client(timeout=10) as http:
            for i in range(10_000):
                if time.monotonic() > stop:
                    return
                decision = f"k{number}-{i}"
                try:
                    answer = http.post(
                        f"{server.url}/calculate-position-size", json=sizing_request(decision)
                    )
                except httpx.HTTPError:
                    return  # the server is gone: this one was never acknowledged
                if answer.status_code == 200:
                    with lock:
                        acknowledged.append(decision)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        while len(acknowledged) < 30 and time.monotonic() < stop:
            time.sleep(0.05)
        server.kill()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        server.stop()
    assert len(acknowledged) >= 30
    with running_server(url) as restarted:
        rows = httpx.get(f"{restarted.url}/history", params={"limit": 1000}).json()
    stored = [row["decision_id"] for row in rows]
    assert len(stored) == len(set(stored))  # no decision twice, no partial row
    assert set(acknowledged) <= set(stored)


def _kelly_counts(folder) -> dict[int, float]:
    """Kelly requests counted in each worker's multiprocess file, by worker pid."""
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            if "portcon_requests_total" in key and "kelly-criterion" in key:
                counts[pid] = counts.get(pid, 0.0) + value
    return counts


def _scraped_kelly_total(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("portcon_requests_total{") and "kelly-criterion" in line
    ]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_metrics_are_summed_over_two_workers(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale")  # an earlier run's: removed at start
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder)}
    body = {"win_probability": 0.55, "average_win": 1.0, "average_loss": 1.0}
    sent = 0
    with running_server(f"sqlite:///{tmp_path / 'mp.db'}", env=env, workers=2) as server:
        for _ in range(20):  # bounded: at most 20 rounds of 16 requests on fresh connections

            def send(count: int = 4) -> None:
                for _ in range(count):
                    httpx.post(f"{server.url}/kelly-criterion", json=body, timeout=30)

            clients = [threading.Thread(target=send) for _ in range(4)]
            for client in clients:
                client.start()
            for client in clients:
                client.join()
            sent += 16
            if len([c for c in _kelly_counts(folder).values() if c > 0]) >= 2:
                break
        per_worker = _kelly_counts(folder)
        assert len([c for c in per_worker.values() if c > 0]) == 2, per_worker
        assert sum(per_worker.values()) == sent
        for _ in range(6):  # whichever worker answers the scrape, it reports every worker's
            assert _scraped_kelly_total(server.url) == sent
