"""Errors → HTTP answers: every answer is JSON, none carries a traceback.

``InputError``/``LimitsError``/validation → 422 (naming the field), ``InfeasibleError`` → 409
with the diagnosis and repairs, ``SolverError`` and an unavailable database → 503 with
``Retry-After``, ``InternalError`` and anything unforeseen → 500.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from portcon.errors import InfeasibleError, InternalError, PortconError, SolverError

log = logging.getLogger("portcon.service")


class RequestRefusedError(Exception):
    """A request the service refuses (limits, auth, idempotency conflicts, time cap)."""

    retryable = False  # whether the same request may succeed later (then Retry-After is sent)

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def error_name(request: Request, status: int) -> str:
    """The error class a failed request was answered with (for the failures metric)."""
    return str(getattr(request.state, "error", f"HTTP {status}"))


def body(error: str, detail: Any, retryable: bool = False, **extra: Any) -> dict[str, Any]:
    """The JSON error body."""
    return {"error": error, "detail": detail, "retryable": retryable, **extra}


def portcon_status(error: PortconError) -> int:
    """The HTTP status of a portcon error."""
    if isinstance(error, InfeasibleError):
        return 409
    if isinstance(error, SolverError):
        return 503
    if isinstance(error, InternalError):
        return 500
    return 422


def portcon_answer(error: PortconError) -> JSONResponse:
    """The HTTP answer of a portcon error."""
    status = portcon_status(error)
    extra: dict[str, Any] = {}
    if isinstance(error, InfeasibleError):
        extra = {"conflicts": list(error.conflicts), "repairs": list(error.repairs)}
    headers = {"Retry-After": "1"} if status == 503 else None
    content = body(type(error).__name__, str(error), error.retryable, **extra)
    return JSONResponse(content, status_code=status, headers=headers)


def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    request.state.error = "ValidationError"
    problems = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": item.get("msg", "")}
        for item in error.errors()
    ]
    fields = ", ".join(".".join(p["loc"][1:]) or "body" for p in problems[:5])
    return JSONResponse(body("ValidationError", problems, fields=fields), status_code=422)


def _portcon(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PortconError)
    request.state.error = type(error).__name__
    if isinstance(error, InternalError):
        log.error("portcon defect", exc_info=error)
    return portcon_answer(error)


def _refused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestRefusedError)
    request.state.error = error.error
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    if error.retryable:
        headers = {"Retry-After": "1"}
    content = body(error.error, error.detail, error.retryable)
    return JSONResponse(content, error.status, headers=headers)


def _http(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own refusals (unknown path, wrong method) in the service's error body."""
    assert isinstance(error, HTTPException)
    name = {404: "NotFound", 405: "MethodNotAllowed"}.get(error.status_code, "HTTPError")
    request.state.error = name
    return JSONResponse(body(name, error.detail or name), error.status_code, headers=error.headers)


def _database(request: Request, error: Exception) -> JSONResponse:
    request.state.error = "DatabaseUnavailable"
    log.warning("database unavailable: %s", type(error).__name__)
    return JSONResponse(
        body("DatabaseUnavailable", "the database is unavailable; retry shortly", True),
        status_code=503,
        headers={"Retry-After": "1"},
    )


def _unforeseen(request: Request, error: Exception) -> JSONResponse:
    request.state.error = "InternalError"
    log.error("unforeseen error", exc_info=error)
    return JSONResponse(
        body("InternalError", "an unforeseen error; it has been logged (please report it)"),
        status_code=500,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(PortconError, _portcon)
    app.add_exception_handler(RequestRefusedError, _refused)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(sa.exc.OperationalError, _database)
    app.add_exception_handler(sa.exc.InterfaceError, _database)
    app.add_exception_handler(sa.exc.DBAPIError, _database)
    app.add_exception_handler(Exception, _unforeseen)
