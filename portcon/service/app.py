"""The FastAPI application: ``create_app(settings)`` (uvicorn: ``--factory``)."""

from __future__ import annotations

import gc
import time

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portcon.service import failures
from portcon.service.keys import KeyChecker
from portcon.service.metrics import ServiceMetrics
from portcon.service.routes import Service
from portcon.service.settings import Settings
from portcon.service.storage import Store, make_engine

PREFIX = "/api/v1"
OPEN_PATHS = frozenset({f"{PREFIX}/health"})


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service over ``settings`` (from the environment when None); migrates if asked."""
    from portcon import __version__
    from portcon.service import routes, routes_sizing, routes_whatif
    from portcon.service.migrations import upgrade

    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    if settings.migrate:
        upgrade(engine)
    store = Store(engine)
    app = FastAPI(
        title="portcon position-sizing service",
        version=__version__,
        description="Target weights and position sizes explained by dual values; every "
        "decision stored with its explanation.",
    )
    app.state.service = Service(settings, store, ServiceMetrics(), KeyChecker(store))
    failures.install(app)
    app.add_middleware(Guard)
    app.include_router(routes.router, prefix=PREFIX)
    app.include_router(routes_sizing.router, prefix=PREFIX)
    app.include_router(routes_whatif.router, prefix=PREFIX)
    return app


def create_served_app() -> FastAPI:
    """:func:`create_app` for a process that serves (``portcon serve`` and its workers), with
    the heap it starts with frozen.

    The service starts with ~225,000 objects that the garbage collector can track (FastAPI,
    pandas, cvxpy, SQLAlchemy); each full collection walked them all, ~80-100 ms with the GIL
    held, about once every 200 quick sizings, and every request in flight waited. Frozen
    (``gc.freeze``), they are left out of every later collection; what requests make is
    collected as before.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


class Guard:
    """Body size and API key checks, then request metrics (count, latency, failures).

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``app.middleware("http")``)
    runs each request through a task group and memory streams, a cost every quick sizing
    paid.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check, pass on (or answer early), then count the answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        svc: Service = scope["app"].state.service
        started = time.perf_counter()
        request = Request(scope, receive)
        refused, receive = await _refusal(request, svc, receive)
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await (refused or self.app)(scope, receive, watch)
        route = scope.get("route")
        endpoint = getattr(route, "path", None)
        if endpoint is None:
            endpoint = "unmatched"
        elif not endpoint.startswith(PREFIX) and endpoint != "/openapi.json":
            endpoint = PREFIX + endpoint  # the route as its router sees it, without the prefix
        svc.metrics.requests.labels(endpoint, request.method, str(status)).inc()
        svc.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        if status >= 400:
            svc.metrics.failures.labels(failures.error_name(request, status)).inc()


async def _refusal(
    request: Request, svc: Service, receive: Receive
) -> tuple[JSONResponse | None, Receive]:
    """An early answer (413, 401, 503) or None to go on, and the body's receive channel (a
    chunked body read here is handed on as it was read)."""
    length = request.headers.get("content-length")
    limit = svc.settings.max_body_bytes
    too_big = f"body: more than {limit} bytes (PORTCON_MAX_BODY_BYTES)"
    if length is not None and (not length.isdigit() or int(length) > limit):
        return _refuse(request, 413, "RequestTooLarge", too_big), receive
    if length is None and request.method in {"POST", "PUT"}:
        body = await request.body()
        if len(body) > limit:
            return _refuse(request, 413, "RequestTooLarge", too_big), receive
        receive = _replay(body, receive)
    if not svc.settings.require_api_key or request.url.path in OPEN_PATHS:
        return None, receive
    key = request.headers.get("x-api-key") or _bearer(request.headers.get("authorization"))
    if not key:
        return _refuse(request, 401, "Unauthorized", "an API key is required (X-API-Key)"), receive
    try:
        valid = await run_in_threadpool(svc.keys.valid, key)
    except Exception:
        return _refuse(request, 503, "DatabaseUnavailable", "cannot check the API key now"), receive
    if not valid:
        return _refuse(request, 401, "Unauthorized", "the API key is not valid"), receive
    return None, receive


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives ``body`` first, then whatever ``receive`` gives."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _refuse(request: Request, status: int, error: str, detail: str) -> JSONResponse:
    request.state.error = error
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    return JSONResponse(failures.body(error, detail), status_code=status, headers=headers)
