"""Rules without a solver: set the weights, read each constraint's value and violation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portcon.limits import Limits
from portcon.optimizer.model import ModelPool, build
from portcon.optimizer.program import compile_program
from portcon.universe import Universe


def _model(limits: Limits):
    frame = pd.DataFrame(
        {"score": [0.9, 0.8, 0.7, 0.65], "bucket": ["X", "X", "Y", "Y"]},
        index=["a", "b", "c", "d"],
    )
    program = compile_program(Universe.from_scores(frame), limits)
    return program, build(program)


def test_group_cap_rows_measure_bucket_sums() -> None:
    program, model = _model(Limits(max_bucket_allocation=0.3, bucket_caps={"Y": 0.1}))
    model.context.weights.value = np.array([0.2, 0.15, 0.05, 0.1])
    by_rule = {block.rule: block.label for block in program.blocks}
    plain = model.constraints[by_rule["max_bucket_allocation"]]
    override = model.constraints[by_rule["bucket_caps"]]
    np.testing.assert_allclose(plain.violation(), [0.05], atol=1e-12)  # X: 0.35 vs 0.30
    np.testing.assert_allclose(override.violation(), [0.05], atol=1e-12)  # Y: 0.15 vs 0.10


def test_single_cap_and_budget_rows() -> None:
    program, model = _model(Limits(max_single_position=0.15, target_allocation=0.5))
    model.context.weights.value = np.array([0.2, 0.1, 0.1, 0.1])
    model.context.cash.value = 0.0
    by_rule = {block.rule: block.label for block in program.blocks}
    cap = model.constraints[by_rule["max_single_position"]]
    budget = model.constraints[by_rule["target_allocation"]]
    np.testing.assert_allclose(cap.violation(), [0.05, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(budget.violation(), [0.0], atol=1e-12)


def test_pooled_models_are_reused_for_the_same_structure_one_solve_at_a_time() -> None:
    program_a, _ = _model(Limits(max_single_position=0.15))
    program_b, _ = _model(Limits(max_single_position=0.25))
    pool = ModelPool()
    with pool.checkout(program_a) as model_a, pool.checkout(program_b) as busy:
        assert busy is not model_a  # lent out: a second solve at once gets its own
    with pool.checkout(program_b) as model_b:
        assert model_b in (model_a, busy)
        assert model_b.context.parameter("max_single_position").value[0] == 0.25
