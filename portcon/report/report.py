"""`Report`: the explanations of one solution, computed when first asked for.

Batch jobs that need only the weights do not pay for building tables of reasons; the
command line and anyone reading ``Portfolio.explanations`` do, once.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution
from portcon.report import explain
from portcon.report.metrics import Metrics, compute_metrics


class Report:
    """Constraint table, explanations, sensitivity, cash reason and metrics of a solution.

    Parameters
    ----------
    program
        The program solved.
    solution
        Its solution, or None when no asset was eligible (nothing was solved).
    weights
        Weights over the whole universe.
    """

    def __init__(self, program: Program, solution: Solution | None, weights: np.ndarray) -> None:
        self.program = program
        self.solution = solution
        self.weights = weights

    @cached_property
    def constraints(self) -> pd.DataFrame:
        """One row per constraint row."""
        if self.solution is None:
            return explain.constraint_table_empty()
        return explain.constraint_table(self.solution)

    @cached_property
    def explanations(self) -> pd.DataFrame:
        """One row per universe asset: weight, score, groups, binding, reason, KKT parts."""
        universe = self.program.universe
        labels = [str(a) for a in universe.assets]
        if self.solution is None:
            sentences = {asset: ("", reason) for asset, reason in self.program.exclusions.items()}
            kkt = pd.DataFrame(index=labels)
        else:
            sentences = explain.reasons(self.program, self.solution, self.constraints)
            kkt = explain.attribution(self.program, self.solution)
        frame = pd.DataFrame({"weight": self.weights, "score": universe.score}, index=labels)
        for kind in ("bucket", "sector"):
            if universe.groups(kind) is not None:
                frame[kind] = universe.groups(kind)
        frame["binding"] = [sentences[a][0] for a in labels]
        frame["reason"] = [sentences[a][1] for a in labels]
        frame = frame.join(kkt)
        frame.index = universe.assets
        return frame

    @property
    def objective_meaning(self) -> str:
        """What the minimised objective is, in words and units."""
        objective = self.program.objective
        return "nothing (no asset eligible)" if objective is None else objective.describe()

    @cached_property
    def sensitivity(self) -> pd.DataFrame:
        """Shadow price per Limits field."""
        if self.solution is None:
            columns = ["field", "group", "value", "shadow_price", "unit"]
            return pd.DataFrame(columns=columns).rename_axis("limit")
        return explain.sensitivity(self.program, self.solution)

    @cached_property
    def cash_reason(self) -> str:
        """Why part of the target is uninvested ("" when none is)."""
        if self.solution is None:
            target = self.program.limits.target_allocation
            return f"no asset is eligible: the {100 * target:.1f}% target stays in cash"
        return explain.cash_reason(self.program, self.solution, self.constraints)

    @cached_property
    def metrics(self) -> Metrics:
        """Concentration, cash, group exposure, and risk and return where market data is given."""
        program = self.program
        return compute_metrics(
            self.weights, program.universe, program.limits, program.universe_market
        )
