"""``/calculate-position-size`` and its batch form: decisions sized, stored, then answered."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from portcon.service import decisions as idem
from portcon.service.bulk_rows import position_ids
from portcon.service.deadline import within
from portcon.service.inputs import check_size
from portcon.service.jsonio import FastJSONResponse
from portcon.service.routes import ERRORS, Service, Svc
from portcon.service.sizing import SizedBatch, SizedDecision, size_decisions
from portcon.service.sizing_schemas import (
    BatchSizingRequest,
    BatchSizingResponse,
    PortfolioState,
    PositionSizingRequest,
    PositionSizingResponse,
    RiskConstraints,
    SizingParameters,
    TradingDecision,
)
from portcon.service.storage import DecisionRecord, PositionRecord

router = APIRouter(responses=ERRORS)


@router.post("/calculate-position-size", response_model=PositionSizingResponse)
def calculate_position_size(body: PositionSizingRequest, svc: Svc) -> FastJSONResponse:
    """Size one trading decision against the book (the seed's request and response)."""
    check_size(len(body.portfolio_state.positions), "portfolio_state.positions", svc.settings)
    digest = idem.request_hash(body)
    answers, replayed = _size(
        svc,
        [body.trading_decision],
        body.portfolio_state,
        body.sizing_parameters,
        body.risk_constraints,
        digest,
        "trading_decision",
    )
    headers = {"Idempotent-Replay": "true"} if replayed else None
    return FastJSONResponse(answers[0], headers=headers)


@router.post("/calculate-position-size/batch", response_model=BatchSizingResponse)
def calculate_position_sizes(body: BatchSizingRequest, svc: Svc) -> FastJSONResponse:
    """Size many decisions together, in one program, against one book."""
    check_size(len(body.trading_decisions), "trading_decisions", svc.settings)
    check_size(len(body.portfolio_state.positions), "portfolio_state.positions", svc.settings)
    started = time.perf_counter()
    digest = idem.request_hash(body)
    answers, replayed = _size(
        svc,
        body.trading_decisions,
        body.portfolio_state,
        body.sizing_parameters,
        body.risk_constraints,
        digest,
        "trading_decisions",
    )
    content = {"results": answers, "processing_time_ms": 1000 * (time.perf_counter() - started)}
    headers = {"Idempotent-Replay": "true"} if replayed else None
    return FastJSONResponse(content, headers=headers)


def _size(
    svc: Service,
    decisions: Sequence[TradingDecision],
    state: PortfolioState,
    parameters: SizingParameters,
    constraints: RiskConstraints,
    digest: str,
    field: str,
) -> tuple[list[dict[str, Any]], bool]:
    ids = [d.decision_id for d in decisions]
    replay = idem.stored_answers(svc.store, ids, digest)
    if replay is not None:
        return replay, True
    started = time.perf_counter()
    limit = min(2.0, svc.settings.max_solve_seconds)
    batch = within(
        svc.settings.max_solve_seconds,
        lambda: size_decisions(
            decisions, state, parameters, constraints, field=field, mip_time_limit=limit
        ),
        svc.settings.solver_threads,
    )
    elapsed = 1000 * (time.perf_counter() - started)
    ids = position_ids(len(batch.decisions))
    method = parameters.sizing_method.value  # an enum's value is a slow property: read once
    answers = [
        _answer(one, batch, state, method, elapsed, position_id)
        for one, position_id in zip(batch.decisions, ids, strict=True)
    ]
    records = [
        _record(answer, one, digest, method)
        for answer, one in zip(answers, batch.decisions, strict=True)
    ]
    stored, replayed = idem.commit_or_replay(svc.store, records, digest, lambda: answers)
    svc.metrics.solve.labels("calculate-position-size").observe(
        batch.details.get("solve_time") or 0.0
    )
    svc.metrics.paths.labels(str(batch.details["path"])).inc()
    svc.metrics.sized(len(decisions))
    return stored, replayed


def _answer(
    one: SizedDecision,
    batch: SizedBatch,
    state: PortfolioState,
    method: str,
    elapsed: float,
    position_id: str,
) -> dict[str, Any]:
    d = one.decision
    sharpe = None
    if d.expected_return is not None and d.volatility is not None:
        sharpe = d.expected_return / d.volatility
    return {
        "optimal_position": {
            "position_id": position_id,
            "decision_id": d.decision_id,
            "instrument_id": d.instrument_id,
            "recommended_size": round(one.weight * state.nav, 2),
            "recommended_weight": one.weight,
            "currency": state.currency,
            "sizing_method_used": method,
            "confidence_score": d.confidence,
        },
        "sizing_analysis": {
            "kelly_fraction": one.kelly_fraction,
            "raw_size": one.raw_size,
            "expected_return": d.expected_return,
            "expected_volatility": d.volatility,
            "sharpe_ratio": sharpe,
            "portfolio_impact": batch.impact,
            "explanation": one.explanation,
            "optimization_details": batch.details,
        },
        "processing_time_ms": elapsed,
    }


def _record(answer: dict[str, Any], one: SizedDecision, digest: str, method: str) -> DecisionRecord:
    position = answer["optimal_position"]
    analysis = answer["sizing_analysis"]
    event = {
        "optimal_position": {
            key: position[key]
            for key in ("position_id", "decision_id", "instrument_id", "recommended_size")
        }
        | {
            "recommended_weight": position["recommended_weight"],
            "currency": position["currency"],
            "sizing_method": position["sizing_method_used"],
            "confidence_score": position["confidence_score"],
        },
        "sizing_analysis": {
            "kelly_fraction": analysis["kelly_fraction"],
            "expected_return": analysis["expected_return"],
            "expected_volatility": analysis["expected_volatility"],
            "sharpe_ratio": analysis["sharpe_ratio"],
            "portfolio_risk_change": analysis["portfolio_impact"]["portfolio_risk_change"],
            "processing_time_ms": answer["processing_time_ms"],
        },
    }
    return DecisionRecord(
        decision_id=one.decision.decision_id,
        kind="position_size",
        request_hash=digest,
        response=answer,
        processing_time_ms=answer["processing_time_ms"],
        positions=[
            PositionRecord(
                instrument_id=one.decision.instrument_id,
                recommended_weight=one.weight,
                recommended_size=position["recommended_size"],
                sizing_method=method,
                kelly_fraction=one.kelly_fraction,
                confidence_score=one.decision.confidence,
                binding=one.explanation.get("binding"),
                reason=one.explanation.get("reason"),
                explanation=one.explanation,
                position_id=position["position_id"],
            )
        ],
        events=[("position_sized", event)],
    )
