"""Prometheus metrics of the service: one process's own registry, or every worker's.

With ``portcon serve --workers N`` (N > 1) the metrics live in prometheus_client's
multiprocess mode: each worker writes its values to files under ``PROMETHEUS_MULTIPROC_DIR``
(``portcon serve`` makes a fresh temporary folder, or clears the ``*.db`` files of one it is
given) and ``GET /metrics`` on any worker sums them over all workers.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
RATE_REFRESH_SECONDS = 1.0

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """Requests and latency per endpoint, solve times, paths, failures, sizings per second."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "portcon_requests", "HTTP requests", ["endpoint", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "portcon_request_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.solve = Histogram(
            "portcon_solve_seconds", "Solver time per program", ["endpoint"], registry=r
        )
        self.paths = Counter("portcon_paths", "Solution paths taken", ["path"], registry=r)
        self.failures = Counter(
            "portcon_failures", "Failed requests by error class", ["error"], registry=r
        )
        self.sizings = Counter("portcon_sizings", "Positions sized (one per asset)", registry=r)
        self.rate = Gauge(
            "portcon_sizings_per_second",
            "Positions sized per second over the last 60 s",
            registry=r,
            multiprocess_mode="livesum",  # summed over the workers that are alive
        )
        self._window: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        if self.multiprocess:
            self._start_rate_refresh()
        else:
            self.rate.set_function(self.sizings_per_second)

    def exposition(self) -> bytes:
        """The Prometheus text exposition: this process's metrics, or every worker's summed."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(merged)

    def _start_rate_refresh(self) -> None:
        """Keep this worker's rate gauge current (a file value cannot be computed on read)."""
        from prometheus_client import multiprocess

        atexit.register(multiprocess.mark_process_dead, os.getpid())

        def refresh() -> None:
            while True:
                self.rate.set(self.sizings_per_second())
                time.sleep(RATE_REFRESH_SECONDS)

        threading.Thread(target=refresh, name="portcon-metrics-rate", daemon=True).start()

    def sized(self, count: int) -> None:
        """Count ``count`` positions sized now."""
        self.sizings.inc(count)
        with self._lock:
            self._window.append((time.monotonic(), count))

    def sizings_per_second(self, window: float = 60.0) -> float:
        """Positions sized per second over the last ``window`` seconds."""
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0][0] < now - window:
                self._window.popleft()
            return sum(count for _, count in self._window) / window
