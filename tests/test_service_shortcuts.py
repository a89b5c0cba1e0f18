"""The service's speed-ups give the answers the plain way gives."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

import portcon
from portcon.service import sizing_held
from portcon.service.answers import SIZING_KEYS, sizing_data
from portcon.service.jsonio import dumps, loads
from portcon.service.sizing import size_decisions
from portcon.service.sizing_schemas import BatchSizingRequest
from tests.service_support import construct_request

METHODS = ["KELLY_CRITERION", "FIXED_PERCENTAGE", "VOLATILITY_ADJUSTED", "RISK_PARITY"]


@pytest.mark.parametrize(
    "limits",
    [
        {"max_single_position": 0.3},
        {"max_single_position": 0.06},
        {"max_single_position": 0.05, "max_total_positions": 8},
    ],
)
def test_sizing_data_is_to_dict_for_its_keys(limits):
    body = construct_request(20)
    frame = pd.DataFrame(body["scores"]).set_index("asset")
    portfolio = portcon.construct(frame, limits)
    full = portfolio.to_dict()
    assert sizing_data(portfolio) == {key: full[key] for key in SIZING_KEYS}


def test_orjson_round_trip_and_old_rows_with_nan():
    value = {"a": [1.5, None, "x"], "b": {"c": 1e-300}}
    assert loads(dumps(value)) == value
    assert math.isnan(loads('{"a": NaN}')["a"])  # a row the standard library wrote still reads


def _random_batch(rng: random.Random) -> BatchSizingRequest:
    sectors = ["A", "B", "C"]
    positions = [
        {
            "instrument_id": f"H{i}",
            "weight": rng.uniform(0, 0.12),
            "sector": rng.choice(sectors),
            "volatility": rng.uniform(0.1, 0.5),
        }
        for i in range(rng.randint(0, 8))
    ]
    decisions = [
        {
            "decision_id": f"d{k}",
            "instrument_id": f"N{k}",
            "sector": rng.choice(sectors),
            "expected_return": rng.uniform(-0.02, 0.15),
            "volatility": rng.uniform(0.1, 0.5),
        }
        for k in range(rng.randint(1, 5))
    ]
    constraints: dict[str, float] = {}
    if rng.random() < 0.5:
        constraints["max_sector_weight"] = rng.uniform(0.1, 0.5)
    if rng.random() < 0.5:
        constraints["max_instrument_weight"] = rng.uniform(0.01, 0.3)
    if rng.random() < 0.3:
        constraints["leverage_limit"] = rng.uniform(0.3, 1.0)
    parameters = {
        "sizing_method": rng.choice(METHODS),
        "max_position_size": rng.choice([0.02, 0.05, 0.2, 0.5]),
        "volatility_target": 0.1,
    }
    return BatchSizingRequest.model_validate(
        {
            "trading_decisions": decisions,
            "portfolio_state": {"nav": 1e6, "positions": positions},
            "sizing_parameters": parameters,
            "risk_constraints": constraints,
        }
    )


def _sized(body: BatchSizingRequest) -> list[tuple[float, str | None, str | None]] | str:
    try:
        batch = size_decisions(
            body.trading_decisions,
            body.portfolio_state,
            body.sizing_parameters,
            body.risk_constraints,
        )
    except portcon.PortconError as error:
        return f"{type(error).__name__}: {error}"
    return [
        (d.weight, d.explanation.get("binding"), d.explanation.get("reason"))
        for d in batch.decisions
    ]


def test_a_budget_of_the_raw_sizes_changes_no_weight_binding_or_reason(monkeypatch):
    rng = random.Random(13)
    bodies = [_random_batch(rng) for _ in range(40)]
    fast = [_sized(body) for body in bodies]
    monkeypatch.setattr(sizing_held, "_budget", lambda book, caps, cap, sectors, room: room)
    plain = [_sized(body) for body in bodies]
    for quick, slow in zip(fast, plain, strict=True):
        if isinstance(quick, str) or isinstance(slow, str):
            assert quick == slow
            continue
        for (w1, b1, r1), (w2, b2, r2) in zip(quick, slow, strict=True):
            assert w1 == pytest.approx(w2, abs=1e-9)
            assert (b1, r1) == (b2, r2)
