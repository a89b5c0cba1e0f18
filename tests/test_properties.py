"""Property tests: any universe and limits give a portfolio within its limits, or a PortconError."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portcon
from portcon.report.check import violations
from portcon.universe import Universe

caps = st.one_of(st.none(), st.floats(0.01, 1.0))


@st.composite
def universes(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    scores = draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    buckets = draw(st.lists(st.sampled_from("ABC"), min_size=n, max_size=n))
    sectors = draw(st.lists(st.sampled_from("xyzw"), min_size=n, max_size=n))
    volatility = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    return pd.DataFrame(
        {"score": scores, "bucket": buckets, "sector": sectors, "volatility": volatility},
        index=[f"a{i}" for i in range(n)],
    )


@st.composite
def limit_sets(draw) -> dict:
    mode = draw(st.sampled_from(list(portcon.SizingMode)))
    fields = dict(
        sizing_mode=mode,
        target_allocation=draw(st.floats(0.05, 1.0)),
        max_single_position=draw(caps),
        min_score_threshold=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
        max_bucket_allocation=draw(caps),
        max_sector_allocation=draw(caps),
        residual_strategy=draw(st.sampled_from(list(portcon.ResidualStrategy))),
    )
    if mode == portcon.SizingMode.TIERED:
        fields["base_position_size"] = draw(st.one_of(st.none(), st.floats(0.005, 0.5)))
    return fields


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=universes(), fields=limit_sets())
def test_every_answer_satisfies_every_limit(frame: pd.DataFrame, fields: dict) -> None:
    try:
        portfolio = portcon.construct(frame, fields)
    except portcon.PortconError:
        return
    weights = portfolio.weights.to_numpy()
    assert violations(weights, Universe.from_scores(frame), portfolio.limits) == []
    assert np.isclose(portfolio.cash, 1 - weights.sum(), atol=1e-12)
    residual = portfolio.explanations.get("residual")
    if residual is not None and residual.notna().any():
        assert residual.abs().max() < 1e-6
