"""The FastAPI application: ``create_app(settings)`` (uvicorn: ``--factory``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

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
    app.middleware("http")(_guard)
    app.include_router(routes.router, prefix=PREFIX)
    app.include_router(routes_sizing.router, prefix=PREFIX)
    app.include_router(routes_whatif.router, prefix=PREFIX)
    return app


async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Body size and API key checks, then request metrics (count, latency, failures)."""
    svc: Service = request.app.state.service
    started = time.perf_counter()
    refused = await _refusal(request, svc)
    response = refused if refused is not None else await call_next(request)
    route = request.scope.get("route")
    endpoint = getattr(route, "path", None)
    if endpoint is None:
        endpoint = "unmatched"
    elif not endpoint.startswith(PREFIX) and endpoint != "/openapi.json":
        endpoint = PREFIX + endpoint  # the route as its router sees it, without the prefix
    svc.metrics.requests.labels(endpoint, request.method, str(response.status_code)).inc()
    svc.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
    if response.status_code >= 400:
        svc.metrics.failures.labels(failures.error_name(request, response)).inc()
    return response


async def _refusal(request: Request, svc: Service) -> JSONResponse | None:
    """An early answer (413, 401, 503) or None to go on."""
    length = request.headers.get("content-length")
    limit = svc.settings.max_body_bytes
    too_big = f"body: more than {limit} bytes (PORTCON_MAX_BODY_BYTES)"
    if length is not None and (not length.isdigit() or int(length) > limit):
        return _refuse(request, 413, "RequestTooLarge", too_big)
    chunked = length is None and request.method in {"POST", "PUT"}
    if chunked and len(await request.body()) > limit:
        return _refuse(request, 413, "RequestTooLarge", too_big)
    if not svc.settings.require_api_key or request.url.path in OPEN_PATHS:
        return None
    key = request.headers.get("x-api-key") or _bearer(request.headers.get("authorization"))
    if not key:
        return _refuse(request, 401, "Unauthorized", "an API key is required (X-API-Key)")
    try:
        valid = await run_in_threadpool(svc.keys.valid, key)
    except Exception:
        return _refuse(request, 503, "DatabaseUnavailable", "cannot check the API key now")
    if not valid:
        return _refuse(request, 401, "Unauthorized", "the API key is not valid")
    return None


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
