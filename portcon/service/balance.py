"""Keep-alive connections spread evenly over ``portcon serve``'s worker processes.

Each worker listens on its own ``SO_REUSEPORT`` socket (:mod:`portcon.service.workers`), and
the kernel picks the socket of a new connection by a hash of its addresses. A client that
opens its pool at once keeps those connections for good, so a chance split stays: measured
with the 16 clients of ``benchmarks/bench_service.py``, 11 connections on one worker and 5 on
the other, and the busier worker's requests queued twice as long. The tail latency followed
the busier worker.

Here every worker publishes how many connections it holds (a shared array of one slot per
worker) and, answering a request while it holds more than an even share of all of them
(⌈total / workers⌉), asks the client to close that connection after the answer
(``Connection: close``, RFC 9112 §9.6). The answer is complete; the client's next request
opens a new connection, which the kernel places afresh. Shedding stops as soon as the worker is
back to its share, so an even split is stable and costs nothing.
"""

from __future__ import annotations

from collections.abc import MutableSequence, Sized
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = (b"connection", b"close")


@dataclass
class ConnectionShare:
    """One worker's view: its open connections and every worker's published count."""

    connections: Sized  # this worker's open connections (uvicorn's server state)
    counts: MutableSequence[int]  # one slot per worker, shared between the processes
    slot: int

    def over_share(self) -> bool:
        """Publish this worker's count; True when it holds more than an even share."""
        mine = len(self.connections)
        self.counts[self.slot] = mine
        total = sum(self.counts)
        even = -(-total // len(self.counts))
        return mine > even


class Balanced:
    """An ASGI app that closes a connection after its answer while the worker is over share."""

    def __init__(self, app: ASGIApp, share: ConnectionShare | None) -> None:
        self.app = app
        self.share = share  # set once the server (whose connections it counts) exists

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add ``Connection: close`` to the answer when over share."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def answer(message: Message) -> None:
            share = self.share
            if message["type"] == "http.response.start" and share and share.over_share():
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        await self.app(scope, receive, answer)
