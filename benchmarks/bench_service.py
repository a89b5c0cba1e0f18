"""Load on the position-sizing service from a second process over loopback.

Starts ``portcon serve`` (SQLite in a temporary directory) as a child process and drives it
from this process with 16 concurrent clients (asyncio + httpx), each scenario for a bounded
time after a warm-up. Printed per scenario: requests, P50 and P99 latency, requests per second
and sizing calculations per second (each position sized counts one: one per single decision,
one per decision of a batch, one per asset of a construct).

Scenarios: ``calculate-position-size`` (one decision against a 20-position book), its batch
form (100 and 500 decisions per request), ``construct`` at N = 50 and 500, convex and with a
position-count limit (max_total_positions, the mixed-integer path, with a 0.2 s search).
The server runs ``--workers`` processes (2 by default: the machine has 2 cores).

Run: ``.venv/bin/python benchmarks/bench_service.py [--seconds 10] [--clients 16] [--workers 2]
[--only batch]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.service_support import Server


def book(n: int = 20) -> dict[str, Any]:
    positions = [
        {"instrument_id": f"H{i}", "weight": 0.03, "sector": f"S{i % 4}", "volatility": 0.2}
        for i in range(n)
    ]
    return {"nav": 10_000_000, "positions": positions}


def single(i: int) -> dict[str, Any]:
    return {
        "trading_decision": {
            "decision_id": f"bench-{time.time_ns()}-{i}",
            "instrument_id": "NEW",
            "sector": "S1",
            "expected_return": 0.08,
            "volatility": 0.25,
        },
        "portfolio_state": book(),
        "sizing_parameters": {"sizing_method": "KELLY_CRITERION", "max_position_size": 0.05},
        "risk_constraints": {"max_sector_weight": 0.25, "max_instrument_weight": 0.1},
    }


def batch(i: int, size: int = 100) -> dict[str, Any]:
    decisions = [
        {
            "decision_id": f"bench-{time.time_ns()}-{i}-{k}",
            "instrument_id": f"N{k}",
            "sector": f"S{k % 4}",
            "expected_return": 0.05 + 0.001 * k,
            "volatility": 0.25,
        }
        for k in range(size)
    ]
    return {
        "trading_decisions": decisions,
        "portfolio_state": book(),
        "sizing_parameters": {"sizing_method": "KELLY_CRITERION", "max_position_size": 0.01},
        "risk_constraints": {"max_sector_weight": 0.3},
    }


def construct(n: int, counts: bool) -> Callable[[int], dict[str, Any]]:
    def body(i: int) -> dict[str, Any]:
        scores = [
            {
                "asset": f"A{k}",
                "score": 0.6 + 0.4 * ((k * 37 + i) % 101) / 101,
                "bucket": f"B{k % 5}",
            }
            for k in range(n)
        ]
        limits: dict[str, Any] = {"max_single_position": 0.05, "max_bucket_allocation": 0.3}
        if counts:
            # the count search runs until its time limit (it rarely proves optimality), so
            # each request costs mip_time_limit of CPU: the benchmark gives it 0.2 s
            limits.update(max_total_positions=25, mip_time_limit=0.2, mip_gap=0.01)
        return {"scores": scores, "limits": limits}

    return body


async def load(
    url: str, body: Callable[[int], dict[str, Any]], seconds: float, clients: int
) -> tuple[list[float], dict[str, int]]:
    """Latencies of every request, and the failed ones counted by status and error."""
    latencies: list[float] = []
    failures: dict[str, int] = {}
    deadline = time.monotonic() + seconds

    async def worker(number: int, http: httpx.AsyncClient) -> None:
        nonlocal failures
        i = 0
        while time.monotonic() < deadline:
            payload = body(number * 1_000_000 + i)
            started = time.perf_counter()
            answer = await http.post(url, json=payload)
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                error = f"{answer.status_code} {answer.json().get('error')}"
                failures[error] = failures.get(error, 0) + 1
            i += 1

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(worker(n, http) for n in range(clients)))
    return latencies, failures


def report(
    name: str, latencies: list[float], seconds: float, per_request: int, failed: int = 0
) -> None:
    """One line: requests, P50/P99 latency, requests/s, sizings/s (answered requests only)."""
    ordered = sorted(latencies)
    p50 = 1000 * statistics.median(ordered)
    p99 = 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    rate = len(ordered) / seconds
    print(
        f"{name:<38} {len(ordered):>6} req  P50 {p50:8.1f} ms  P99 {p99:8.1f} ms  "
        f"{rate:8.1f} req/s  {(len(ordered) - failed) / seconds * per_request:9.1f} sizings/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--only", default="", help="run the scenarios whose name has this")
    arguments = parser.parse_args()
    scenarios: list[tuple[str, str, Callable[[int], dict[str, Any]], int]] = [
        ("calculate-position-size (1 decision)", "calculate-position-size", single, 1),
        ("calculate-position-size/batch (100)", "calculate-position-size/batch", batch, 100),
        (
            "calculate-position-size/batch (500)",
            "calculate-position-size/batch",
            lambda i: batch(i, 500),
            500,
        ),
        ("construct N=50 convex", "construct", construct(50, False), 50),
        ("construct N=500 convex", "construct", construct(500, False), 500),
        ("construct N=50 max_total_positions", "construct", construct(50, True), 50),
        ("construct N=500 max_total_positions", "construct", construct(500, True), 500),
    ]
    with tempfile.TemporaryDirectory() as directory:
        server = Server(f"sqlite:///{directory}/bench.db", workers=arguments.workers)
        server.start()
        try:
            print(
                f"{arguments.clients} clients, {arguments.workers} server workers, "
                f"{arguments.seconds:g} s per scenario, loopback, load average "
                f"{os.getloadavg()[0]:.2f} (the machine is shared: say it with the numbers)"
            )
            for name, path, body, per_request in scenarios:
                if arguments.only not in name:
                    continue
                url = f"{server.url}/{path}"
                # warm-up at full concurrency: each solver thread compiles its own model once
                asyncio.run(load(url, body, min(3.0, arguments.seconds), arguments.clients))
                latencies, failures = asyncio.run(
                    load(url, body, arguments.seconds, arguments.clients)
                )
                failed = sum(failures.values())
                report(name, latencies, arguments.seconds, per_request, failed)
                if failures:
                    print(f"  failed (counted in the latencies): {failures}")
        finally:
            server.stop()
            print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
