"""What-if reuse that must not change answers: a limit-only scenario starting from the base's
prepared universe, and a pooled model re-bound only where a value changed."""

from __future__ import annotations

import numpy as np
import pandas as pd

import portcon
import portcon.construction as construction
from portcon.optimizer import model as model_module
from portcon.scenarios.inputs import Inputs, shocked


def _book(n: int = 24) -> tuple[pd.DataFrame, portcon.Limits, dict[str, object]]:
    rng = np.random.default_rng(7)
    assets = [f"A{i:02d}" for i in range(n)]
    frame = pd.DataFrame(
        {
            "score": rng.uniform(0.5, 1.0, n),
            "bucket": [f"B{i % 3}" for i in range(n)],
            "sector": [f"S{i % 4}" for i in range(n)],
            "sector_override": ["Fintech" if i % 5 == 0 else "" for i in range(n)],
        },
        index=assets,
    )
    factors = ["F1", "F2"]
    loadings = pd.DataFrame(rng.normal(0, 0.2, (n, 2)), assets, factors)
    factor_cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.02]], factors, factors)
    specific = pd.Series(rng.uniform(0.01, 0.03, n), assets)
    limits = portcon.Limits(
        sizing_mode="score_weighted",
        max_single_position=0.12,
        max_sector_allocation=0.4,
        min_score_threshold=None,
    )
    return frame, limits, {"factor_model": portcon.FactorModel(loadings, factor_cov, specific)}


SCENARIOS = [
    portcon.Scenario(name="cap", limits={"max_single_position": 0.08}),
    portcon.Scenario(name="sector cap", limits={"max_sector_allocation": 0.3}),
    portcon.Scenario(name="decay", limits={"score_decay_factor": 0.9}),
    portcon.Scenario(name="tech up", score_shocks=[{"buckets": ["B1"], "multiply": 1.2}]),
]


def test_limit_only_scenarios_reuse_the_base_universe_and_equal_fresh_constructs(
    monkeypatch,
) -> None:
    frame, limits, market = _book()
    calls = []
    real = construction.prepare_universe

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(construction, "prepare_universe", counting)
    report = portcon.whatif(frame, limits, SCENARIOS, **market)
    # the base once for its universe; "decay" changes a field the preparation reads and
    # "tech up" changes the scores, so each prepares its own; "cap", "sector cap" and the
    # base's own construct reuse the base's
    assert len(calls) == 3
    base = Inputs.from_arguments(frame, limits, market)
    for scenario in [None, *SCENARIOS]:
        inputs = base if scenario is None else shocked(base, scenario)
        fresh = portcon.construct(inputs.scores, inputs.limits, **inputs.market)
        got = report.portfolio("base" if scenario is None else scenario.name)
        assert got is not None
        assert np.array_equal(fresh.weights.to_numpy(), got.weights.to_numpy())
        assert fresh.notes == got.notes
        assert any("sector_override" in note for note in got.notes)


def test_rebinding_a_pooled_model_sets_exactly_the_new_values() -> None:
    frame, limits, market = _book()
    first = portcon.construct(frame, limits, **market)._report.program
    moved = portcon.construct(frame, limits.replace(max_single_position=0.08), **market)
    second = moved._report.program
    model = model_module._build(first, dpp=True)
    model.bind(first)
    held = {name: p.value for name, p in model.context.parameters.items()}
    model.bind(first)  # the same bits: nothing is set again
    assert all(model.context.parameters[name].value is held[name] for name in held)
    model.bind(second)
    for name, value in second.parameters().items():
        assert np.array_equal(np.asarray(model.context.parameters[name].value), value)
