"""Prometheus metrics of one service process (its own registry)."""

from __future__ import annotations

import threading
import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """Requests and latency per endpoint, solve times, paths, failures, sizings per second."""

    def __init__(self) -> None:
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
        rate = Gauge(
            "portcon_sizings_per_second",
            "Positions sized per second over the last 60 s",
            registry=r,
        )
        rate.set_function(self.sizings_per_second)
        self._window: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

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
