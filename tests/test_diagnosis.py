"""Infeasible limits: the diagnosis names the right limits; every repair works and is minimal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon import InfeasibleError
from tests.test_risk import _risk_inputs


def _flat(n: int, buckets: str | None = None, sectors: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"score": np.linspace(0.7, 0.95, n)}, index=[f"a{i}" for i in range(n)])
    if buckets:
        frame["bucket"] = list(buckets)
    if sectors:
        frame["sector"] = list(sectors)
    return frame


STRICT = dict(allow_cash_rollover=False)
FRAME, MARKET = _risk_inputs(0)

CASES = {
    "single cap below target": (
        _flat(6),
        dict(STRICT),
        {},
        {"max_single_position", "target_allocation"},
    ),
    "bucket caps below target": (
        _flat(6, "AABBCC"),
        dict(STRICT, max_single_position=0.3, max_bucket_allocation=0.25),
        {},
        {"max_bucket_allocation", "target_allocation"},
    ),
    "one bucket override": (
        _flat(6, "AAAABB"),
        dict(STRICT, max_single_position=0.3, bucket_caps={"A": 0.2}),
        {},
        {"bucket_caps[A]", "target_allocation", "max_single_position"},
    ),
    "sector caps below target": (
        _flat(8, None, "xxyyzzww"),
        dict(STRICT, max_single_position=0.5, max_sector_allocation=0.2),
        {},
        {"max_sector_allocation", "target_allocation"},
    ),
    "return floor above every asset": (
        FRAME,
        dict(sizing_mode="kelly", min_expected_return=0.5, max_single_position=0.2),
        MARKET,
        {"min_expected_return"},
    ),
    "return floor against caps": (
        FRAME,
        dict(sizing_mode="min_variance", min_expected_return=0.075, max_single_position=0.1),
        MARKET,
        {"min_expected_return", "max_single_position"},
    ),
    "return floor against volatility cap": (
        FRAME,
        dict(
            sizing_mode="kelly",
            min_expected_return=0.07,
            max_portfolio_volatility=0.02,
            max_single_position=0.3,
        ),
        MARKET,
        {"min_expected_return", "max_portfolio_volatility"},
    ),
    "volatility cap without rollover": (
        FRAME,
        dict(
            STRICT,
            sizing_mode="score_weighted",
            max_portfolio_volatility=0.02,
            max_single_position=0.3,
        ),
        MARKET,
        {"max_portfolio_volatility", "target_allocation"},
    ),
    "top-slice residual caps": (
        _flat(5),
        dict(
            STRICT,
            sizing_mode="tiered",
            base_position_size=0.1,
            max_single_position=0.5,
            max_residual_per_asset=0.02,
        ),
        {},
        {"base_position_size", "target_allocation"},
    ),
    "return floor against a bucket cap": (
        FRAME,
        dict(
            sizing_mode="mean_variance",
            min_expected_return=0.08,
            max_single_position=0.3,
            max_bucket_allocation=0.25,
        ),
        MARKET,
        {"min_expected_return", "max_bucket_allocation"},
    ),
    "kelly without rollover under sector caps": (
        _flat(6, None, "xxxyyy"),
        dict(
            STRICT, sizing_mode="equal_weight", max_sector_allocation=0.4, max_single_position=0.5
        ),
        {},
        {"max_sector_allocation", "target_allocation"},
    ),
}


def _raises(frame, limits, market) -> InfeasibleError:
    with pytest.raises(InfeasibleError) as caught:
        portcon.construct(frame, limits, **market)
    return caught.value


def _halfway(limits: portcon.Limits, repair: dict) -> dict:
    ((field, value),) = repair.items()
    if isinstance(value, dict):
        old = dict(getattr(limits, field))
        return {field: {k: (old[k] + v) / 2 if k in old else v for k, v in value.items()}}
    return {field: (getattr(limits, field) + value) / 2}


@pytest.mark.parametrize("name", list(CASES))
def test_diagnosis_names_the_limits_and_each_repair_works(name: str) -> None:
    frame, fields, market, expected = CASES[name]
    error = _raises(frame, fields, market)
    assert expected <= set(error.conflicts), error.conflicts
    assert error.repairs, str(error)
    limits = portcon.Limits(**fields)
    for repair in error.repairs:
        repaired = portcon.construct(frame, limits.replace(**repair), **market)
        assert repaired.status == "optimal" or repaired.status.startswith("optimal")
        _raises(frame, limits.replace(**_halfway(limits, repair)), market)  # minimal
    assert "no portfolio satisfies every limit at once" in str(error)


def test_obvious_cause_is_stated_in_words() -> None:
    error = _raises(_flat(6), dict(STRICT), {})
    assert "6 eligible assets × 15.0% max_single_position = 90.0% < target_allocation 95.0%" in str(
        error
    )
    assert "raise max_single_position to 15.8%" in str(error)


def test_rollover_is_the_default_answer_to_the_same_limits() -> None:
    portfolio = portcon.construct(_flat(6), {})
    assert portfolio.rollover == pytest.approx(0.05, abs=1e-9)


def test_repairs_offered_under_count_limits_work_through_the_whole_construction() -> None:
    """The convex program alone would be repaired by 2.7% positions or a 70% target, but ten
    names cannot hold more than 10 × the cap: every offered repair must survive the count
    stage too (checked here by constructing with it)."""
    scores = pd.Series(np.linspace(0.95, 0.61, 35), index=[f"A{i:02d}" for i in range(35)])
    limits = {
        "max_single_position": 0.02,
        "max_total_positions": 10,
        "target_allocation": 0.95,
        "allow_cash_rollover": False,
    }
    with pytest.raises(portcon.InfeasibleError) as refused:
        portcon.construct(scores, limits)
    assert refused.value.repairs, str(refused.value)
    for repair in refused.value.repairs:
        repaired = portcon.construct(scores, {**limits, **repair})
        assert int((repaired.weights > 1e-9).sum()) <= 10
        assert abs(repaired.weights.sum() - repaired.limits.target_allocation) < 1e-7
    fields = {field for repair in refused.value.repairs for field in repair}
    assert {"target_allocation", "max_single_position"} <= fields
    lowered = next(r for r in refused.value.repairs if "target_allocation" in r)
    assert lowered["target_allocation"] <= 10 * 0.02 + 1e-9
