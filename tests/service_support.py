"""Helpers for the service tests: payloads, a real uvicorn server, a throwaway PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sizing_request(decision_id: str, **changes: Any) -> dict[str, Any]:
    """A PositionSizingRequest: AAPL (Tech) against a five-position book."""
    positions = [
        {
            "instrument_id": f"H{i}",
            "weight": 0.1,
            "sector": "Tech" if i < 2 else "Fin",
            "volatility": 0.2,
        }
        for i in range(5)
    ]
    body: dict[str, Any] = {
        "trading_decision": {
            "decision_id": decision_id,
            "instrument_id": "AAPL",
            "sector": "Tech",
            "expected_return": 0.08,
            "volatility": 0.25,
            "confidence": 0.9,
        },
        "portfolio_state": {"nav": 1_000_000, "currency": "USD", "positions": positions},
        "sizing_parameters": {"sizing_method": "FIXED_PERCENTAGE", "max_position_size": 0.04},
        "risk_constraints": {"max_sector_weight": 0.5},
    }
    for key, value in changes.items():
        body[key] = {**body[key], **value}
    return body


def construct_request(n: int = 6, **extra: Any) -> dict[str, Any]:
    """A ConstructRequest over n assets in two buckets."""
    scores = [
        {"asset": f"A{i}", "score": 0.6 + 0.05 * i, "bucket": "B0" if i % 2 else "B1"}
        for i in range(n)
    ]
    return {"scores": scores, "limits": {"max_single_position": 0.3}, **extra}


@contextlib.contextmanager
def running_server(
    database_url: str, *, env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[Server]:
    """``portcon serve`` on a free loopback port, stopped (killed if need be) afterwards."""
    server = Server(database_url, env=env, workers=workers)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class Server:
    """A ``portcon serve`` child process on 127.0.0.1."""

    def __init__(
        self, database_url: str, env: dict[str, str] | None = None, workers: int = 1
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until /health answers."""
        command = [sys.executable, "-m", "portcon", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--database-url", self.database_url]
        command += ["--workers", str(self.workers)]
        self.process = subprocess.Popen(command, env=self.env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy")

    def kill(self) -> None:
        """SIGKILL, and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def postgres_bindir() -> Path | None:
    """PostgreSQL's server binaries, or None when they are not installed."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    bindir = Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
    return bindir if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists() else None


class Postgres:
    """A throwaway PostgreSQL cluster in a temporary directory on a free loopback port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.directory = Path(tempfile.mkdtemp(prefix="portcon-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *arguments: str) -> None:
        subprocess.run([*self.as_postgres, *arguments], check=True, capture_output=True)

    def start(self) -> None:
        """initdb and start; the directory is owned by postgres when running as root."""
        if self.as_postgres:
            shutil.chown(self.directory, user="postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -F"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.directory / "log"),
            "start",
        )

    def stop(self) -> None:
        """Stop immediately and remove the directory."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        shutil.rmtree(self.directory, ignore_errors=True)

    def restart_later(self) -> None:
        """Start again after :meth:`pause` (same data, same port)."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -F"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.directory / "log"),
            "start",
        )

    def pause(self) -> None:
        """Stop the server, keeping its data (a database outage)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
