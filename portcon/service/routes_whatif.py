"""``POST /whatif``: the base portfolio and one per scenario, over :func:`portcon.whatif`.

The request is a ``/construct`` request plus ``scenarios`` (:class:`portcon.Scenario`, the
same model as the Python API and the TOML files). The answer is
:meth:`ScenarioReport.to_dict` (weights, changes, metrics, exposures, binding limits, reasons,
failures). It is stored as a decision of kind ``whatif`` — no positions (nothing is sized to
trade) and no outbox event — so a repeated ``decision_id`` returns the stored report and
``GET /decisions/{decision_id}`` reads it back.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from portcon.scenarios import Scenario
from portcon.service import decisions as idem
from portcon.service.deadline import within
from portcon.service.failures import RequestRefusedError
from portcon.service.inputs import check_size, construct_arguments
from portcon.service.jsonio import FastJSONResponse
from portcon.service.routes import ERRORS, Service, Svc
from portcon.service.schemas import ConstructRequest
from portcon.service.storage import DecisionRecord

router = APIRouter(responses=ERRORS)


class WhatIfRequest(ConstructRequest):
    """A ``/construct`` request (the base) and the scenarios to compare with it."""

    scenarios: list[Scenario] = Field(
        min_length=1, description="what-if scenarios (portcon.Scenario); names unique"
    )


class WhatIfResponse(BaseModel):
    """``ScenarioReport.to_dict()``: every table as records, ``base`` first."""

    model_config = ConfigDict(extra="allow")

    decision_id: str
    weights: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    binding: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    scenarios: list[dict[str, Any]]
    processing_time_ms: float


@router.post("/whatif", response_model=WhatIfResponse)
def whatif(body: WhatIfRequest, svc: Svc) -> FastJSONResponse:
    """The base portfolio and one per scenario, with what changed and why."""
    from portcon.scenarios import whatif as run_whatif

    check_size(len(body.scores), "scores", svc.settings)
    _check_scenarios(body, svc)
    digest = idem.request_hash(body)
    if body.decision_id is not None:
        replay = idem.stored_answers(svc.store, [body.decision_id], digest)
        if replay is not None:
            return FastJSONResponse(replay[0], headers={"Idempotent-Replay": "true"})
    decision_id = body.decision_id or f"whatif_{uuid.uuid4().hex}"
    started = time.perf_counter()

    def solve() -> dict[str, Any]:
        frame, limits, market = construct_arguments(body, svc.settings, svc.store)
        return run_whatif(frame, limits, body.scenarios, **market).to_dict()

    answer = within(svc.settings.max_solve_seconds, solve, svc.settings.solver_threads)
    answer["decision_id"] = decision_id
    answer["processing_time_ms"] = 1000 * (time.perf_counter() - started)
    record = DecisionRecord(decision_id, "whatif", digest, answer, answer["processing_time_ms"])
    stored, replayed = idem.commit_or_replay(svc.store, [record], digest, lambda: [answer])
    svc.metrics.sized(len(body.scores) * (1 + len(body.scenarios)))
    headers = {"Idempotent-Replay": "true"} if replayed else None
    return FastJSONResponse(stored[0], headers=headers)


def _check_scenarios(body: WhatIfRequest, svc: Service) -> None:
    """422 naming the field: too many scenarios, a file path, a number that is not finite,
    or a solver time above the service's cap."""
    cap = svc.settings.max_scenarios
    if len(body.scenarios) > cap:
        raise RequestRefusedError(
            422,
            "RequestTooLarge",
            f"scenarios: {len(body.scenarios)} scenarios, more than the {cap} this service "
            "accepts (PORTCON_MAX_SCENARIOS)",
        )
    for i, scenario in enumerate(body.scenarios):
        where = f"scenarios[{i}]"
        stress = scenario.correlation_stress
        if stress is not None and isinstance(stress.toward, str):
            raise RequestRefusedError(
                422,
                "InputError",
                f"{where}.correlation_stress.toward: a file path is not read over HTTP; give a "
                "constant correlation in [0, 1]",
            )
        try:
            json.dumps(scenario.model_dump(mode="json"), allow_nan=False)
        except ValueError:
            raise RequestRefusedError(
                422, "InputError", f"{where}: every number must be finite"
            ) from None
        asked = scenario.limits.get("mip_time_limit")
        if isinstance(asked, int | float) and not asked <= svc.settings.max_solve_seconds:
            shown = asked if math.isfinite(asked) else str(asked)
            raise RequestRefusedError(
                422,
                "RequestTooLarge",
                f"{where}.limits.mip_time_limit: {shown} s is more than the "
                f"{svc.settings.max_solve_seconds:g} s this service allows per request "
                "(PORTCON_MAX_SOLVE_SECONDS)",
            )


@router.get("/decisions/{decision_id}")
def decision(
    decision_id: Annotated[str, PathParam(min_length=1, max_length=100)], svc: Svc
) -> dict[str, Any]:
    """The stored answer of any decision (construct, sizing or what-if) by its id."""
    found = svc.store.find(decision_id)
    if found is None:
        raise RequestRefusedError(404, "NotFound", f"decision_id {decision_id!r} is not stored")
    return found[1]
