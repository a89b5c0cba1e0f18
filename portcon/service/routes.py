"""``/construct``, ``/kelly-criterion``, ``/health``, ``/metrics``, ``/history``, ``/events``.

Handlers are plain functions: FastAPI runs them in its thread pool, off the event loop
(``construct`` is thread-safe). Each answer that records a decision is sent after its commit.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from portcon.limits import Limits
from portcon.service import decisions as idem
from portcon.service.deadline import within
from portcon.service.failures import RequestRefusedError
from portcon.service.inputs import check_size, construct_arguments
from portcon.service.jsonio import FastJSONResponse
from portcon.service.keys import KeyChecker
from portcon.service.metrics import ServiceMetrics
from portcon.service.schemas import (
    ConstructRequest,
    ConstructResponse,
    ErrorBody,
    KellyRequest,
    KellyResponse,
    MatrixIn,
)
from portcon.service.settings import Settings
from portcon.service.storage import DecisionRecord, PositionRecord, Store

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (401, 409, 413, 422, 500, 503)
}


@dataclass(frozen=True)
class Service:
    """What the handlers share: settings, the store, metrics and the key checker."""

    settings: Settings
    store: Store
    metrics: ServiceMetrics
    keys: KeyChecker


def service(request: Request) -> Service:
    """The app's :class:`Service` (a FastAPI dependency)."""
    found: Service = request.app.state.service
    return found


Svc = Annotated[Service, Depends(service)]
router = APIRouter(responses=ERRORS)
_HEALTH_LIMITS = {"min_score_threshold": None, "max_single_position": None}


@router.post("/construct", response_model=ConstructResponse)
def construct_portfolio(body: ConstructRequest, svc: Svc) -> Response:
    """Target weights for scored assets under limits, with explanations and sensitivities."""
    from portcon.construction import construct

    check_size(len(body.scores), "scores", svc.settings)
    digest = idem.request_hash(body)
    if body.decision_id is not None:
        replay = idem.stored_answers(svc.store, [body.decision_id], digest)
        if replay is not None:
            return _replayed(replay[0])
    decision_id = body.decision_id or f"dec_{uuid.uuid4().hex}"
    started = time.perf_counter()

    def solve() -> tuple[dict[str, Any], Limits]:
        frame, limits, market = construct_arguments(body, svc.settings, svc.store)
        portfolio = construct(frame, limits, **market)
        answer = portfolio.to_dict(re_solve=body.re_solve)
        trades = portfolio.trades
        answer["trades"] = None if trades is None else _records(trades)
        return answer, limits

    answer, limits = within(svc.settings.max_solve_seconds, solve, svc.settings.solver_threads)
    answer["decision_id"] = decision_id
    answer["nav"] = body.nav
    answer["processing_time_ms"] = 1000 * (time.perf_counter() - started)
    record = DecisionRecord(
        decision_id,
        "construct",
        digest,
        answer,
        answer["processing_time_ms"],
        _construct_positions(answer, body.nav, limits.sizing_mode.value),
        [("portfolio_constructed", _construct_event(answer))],
    )
    stored, replayed = idem.commit_or_replay(svc.store, [record], digest, lambda: [answer])
    svc.metrics.solve.labels("construct").observe(answer.get("solve_time") or 0.0)
    svc.metrics.paths.labels(str(answer["path"])).inc()
    svc.metrics.sized(len(answer["weights"]))
    return _replayed(stored[0]) if replayed else FastJSONResponse(stored[0])


def _records(table: Any) -> list[dict[str, Any]]:
    """A trades table as JSON-safe rows (NaN as None), one per asset."""
    import json

    return list(json.loads(table.reset_index().to_json(orient="records", double_precision=15)))


def _replayed(answer: dict[str, Any]) -> FastJSONResponse:
    return FastJSONResponse(answer, headers={"Idempotent-Replay": "true"})


def _construct_positions(
    answer: dict[str, Any], nav: float | None, method: str
) -> list[PositionRecord]:
    return [
        PositionRecord(
            instrument_id=str(row["asset"]),
            recommended_weight=float(row.get("weight") or 0.0),
            recommended_size=None if nav is None else round(float(row["weight"] or 0) * nav, 2),
            sizing_method=method,
            binding=row.get("binding"),
            reason=row.get("reason"),
            explanation=row,
        )
        for row in answer["explanations"]
    ]


def _construct_event(answer: dict[str, Any]) -> dict[str, Any]:
    held = {k: w for k, w in answer["weights"].items() if w and w > 0}
    return {
        "weights": held,
        "cash": answer["cash"],
        "path": str(answer["path"]),
        "processing_time_ms": answer["processing_time_ms"],
    }


@router.post("/kelly-criterion", response_model=KellyResponse)
def kelly_criterion(body: KellyRequest, svc: Svc) -> KellyResponse:
    """The Kelly fraction of one bet (odds, moments or a return history) over portcon.kelly."""
    from portcon.kelly_bet import kelly

    started = time.perf_counter()
    result = kelly(
        win_probability=body.win_probability,
        average_win=body.average_win,
        average_loss=body.average_loss,
        expected_return=body.expected_return,
        volatility=body.portfolio_volatility,
        risk_free_rate=body.risk_free_rate,
        returns=None if body.returns is None else _array(body.returns),
        fraction=body.fraction,
        max_bet=body.max_bet,
        confidence_level=body.confidence_level,
    )
    interval = None
    if result.confidence_interval is not None:
        lower, upper = result.confidence_interval
        interval = {
            "lower_bound": lower,
            "upper_bound": upper,
            "confidence_level": result.confidence_level,
        }
    svc.metrics.sized(1)
    return KellyResponse.model_validate(
        {
            "method": result.method,
            "kelly_fraction": result.kelly_fraction,
            "adjusted_kelly": result.adjusted_kelly,
            "bet_size": result.bet_size,
            "confidence_interval": interval,
            "sensitivity_analysis": result.sensitivity,
            "processing_time_ms": 1000 * (time.perf_counter() - started),
        }
    )


def _array(values: list[float]) -> Any:
    import numpy as np

    return np.asarray(values, dtype=float)


@router.get("/health")
def health(svc: Svc) -> FastJSONResponse:
    """Process, database and a tiny solve: 200 when all answer, else 503 naming what failed."""
    import pandas as pd

    from portcon.construction import construct

    checks: dict[str, str] = {"process": "ok"}
    try:
        svc.store.ping()
        checks["database"] = "ok"
    except Exception as error:  # any failure to reach the database is "unavailable"
        checks["database"] = f"unavailable ({type(error).__name__})"
    try:
        portfolio = construct(pd.Series({"A": 1.0, "B": 0.8}), _HEALTH_LIMITS)
        checks["solver"] = "ok" if math.isclose(sum(portfolio.weights), 0.95) else "wrong answer"
    except Exception as error:
        checks["solver"] = f"failed ({type(error).__name__})"
    ok = all(value == "ok" for value in checks.values())
    return FastJSONResponse({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503)


@router.get("/metrics")
def metrics(svc: Svc) -> Response:
    """Prometheus exposition (summed over every worker with ``--workers`` > 1)."""
    return Response(svc.metrics.exposition(), media_type=svc.metrics.content_type)


@router.get("/history")
def history(
    svc: Svc,
    instrument_id: Annotated[str | None, Query(max_length=200)] = None,
    decision_id: Annotated[str | None, Query(max_length=100)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[dict[str, Any]]:
    """Stored sized positions with their explanations, newest first."""
    return svc.store.history(
        instrument_id=instrument_id,
        decision_id=decision_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )


@router.get("/history/{position_id}")
def history_position(position_id: str, svc: Svc) -> dict[str, Any]:
    """One stored position with the full stored answer of its decision."""
    found = svc.store.position(position_id)
    if found is None:
        raise RequestRefusedError(404, "NotFound", f"position_id {position_id!r} is not stored")
    return found


@router.get("/events")
def events(
    svc: Svc,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Outbox events after sequence number ``after``, oldest first (follow with the last seq)."""
    return svc.store.events(after, limit)


@router.put("/matrices/{matrix_id}", status_code=204)
def put_matrix(
    matrix_id: Annotated[str, PathParam(min_length=1, max_length=100)], body: MatrixIn, svc: Svc
) -> Response:
    """Store a covariance (or correlation) matrix for ``market_data.matrix_id``."""
    n = len(body.instruments)
    check_size(n, "instruments", svc.settings)
    if len(body.matrix) != n or any(len(row) != n for row in body.matrix):
        raise RequestRefusedError(422, "InputError", f"matrix: must be {n} × {n}")
    svc.store.save_matrix(matrix_id, body.kind, body.instruments, body.matrix)
    return Response(status_code=204)
