"""Trial supports on the pooled model (counts/trial.py) value a support as the row form does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import portcon
from portcon.counts.heuristic import restricted, support_value
from portcon.counts.rules import derive_counts
from portcon.errors import InfeasibleError, SolverError
from portcon.optimizer.model import build
from portcon.optimizer.program import compile_program
from portcon.optimizer.solve import solve
from portcon.universe import Universe

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scores.csv"
TOLERANCE = 1e-6  # relative, on the objective of a support


def _row_form_value(program, held, counts) -> float | None:
    """The support as SupportRule rows on a one-off model (the form the answer is built in)."""
    fixed = restricted(program, held, counts)
    if fixed is None:
        return None
    try:
        return solve(fixed, build(fixed)).objective
    except (InfeasibleError, SolverError):
        return None


@pytest.mark.parametrize("preset", ["balanced", "crisis", "aggressive"])
def test_trial_support_value_equals_the_row_form(preset: str) -> None:
    frame = pd.read_csv(EXAMPLE, index_col="asset")
    program = compile_program(Universe.from_scores(frame), portcon.Limits.preset(preset))
    counts = derive_counts(program, None)
    rng = np.random.default_rng(15)
    size = len(program.members)
    compared = feasible = 0
    for _ in range(12):
        held = np.zeros(size, dtype=bool)
        held[rng.choice(size, size=int(rng.integers(1, min(size, 12) + 1)), replace=False)] = True
        expected = _row_form_value(program, held, counts)
        found = support_value(program, held, counts)
        compared += 1
        if expected is None:
            assert found is None
            continue
        feasible += 1
        assert found is not None
        assert found == pytest.approx(expected, rel=TOLERANCE, abs=1e-9)
    assert compared == 12 and feasible >= 3
