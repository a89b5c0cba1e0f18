"""`Portfolio`: target weights with their explanations, sensitivities and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portcon._json import json_safe
from portcon.limits import Limits
from portcon.rebalance.trades import HOLD, one_way_turnover, trade_table
from portcon.report.metrics import Metrics
from portcon.report.report import Report

if TYPE_CHECKING:
    from portcon.report.attribution_result import Attribution
    from portcon.report.cash_arithmetic import CashArithmetic
    from portcon.report.count_prices import SlotPrice
    from portcon.report.summary import DecisionSummary
    from portcon.report.weight_moves import WeightSensitivity

CASH_LABEL = "CASH"
CASH_FALLBACK = "CASH (uninvested)"


@dataclass(frozen=True, eq=False)
class Portfolio:
    """The result of :func:`portcon.construct`. Immutable: accessors return copies.

    Attributes
    ----------
    cash
        1 − Σ weights: cash by choice (1 − target_allocation) plus any rollover.
    rollover
        The part of target_allocation the limits could not absorb.
    objective
        The minimised objective value.
    status, solver, solve_time
        Solver status, the solver that produced the answer, its own solve time in seconds.
    timings
        Seconds per stage: ``prepare``, ``build``, ``solve``, ``solver``, ``report``, ``total``.
    limits
        The effective limits.
    notes
        What portcon changed in the inputs on request (a repaired covariance), in words.
    path
        How the answer was found: ``"convex"`` (one convex program), ``"mixed_integer"``
        (SCIP chose the held assets for the count limits) or ``"heuristic"`` (greedy and swap
        search chose them).
    mip_gap, mip_bound
        For the last two paths: the relative gap to, and the value of, a lower bound on the
        objective of any portfolio meeting the count limits (None on the convex path).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> book = portcon.construct(pd.Series({"A": 0.9, "B": 0.8}), {"max_single_position": 0.4})
    >>> book
    Portfolio(2 positions, invested 80.0%, status='optimal', solver='CLARABEL')
    >>> round(book.cash, 4), book.path.value
    (0.2, 'convex')
    >>> book.explanations.loc["A", "reason"]
    'capped at 40.0% by max_single_position'
    """

    _weights: pd.Series
    cash: float
    rollover: float
    objective: float
    status: str
    solver: str
    solve_time: float
    timings: dict[str, float]
    limits: Limits
    _report: Report
    _current: pd.Series | None = field(default=None)
    _cost_bps: pd.Series | None = field(default=None)
    notes: tuple[str, ...] = ()
    path: str = "convex"
    mip_gap: float | None = None
    mip_bound: float | None = None
    _correlation: np.ndarray | None = field(default=None, repr=False)

    @property
    def cash_reason(self) -> str:
        """Why part of target_allocation is uninvested (empty when it is all invested)."""
        return self._report.cash_reason

    @property
    def metrics(self) -> Metrics:
        """Concentration, cash and group exposure (a copy: its tables may be changed freely)."""
        return self._report.metrics.copy()

    @property
    def cash_label(self) -> str:
        """The label of the cash row of :meth:`to_frame`: ``CASH``, unless an asset has it.

        An asset may be called ``CASH`` (it is a listed ticker); the cash row then takes the
        first of ``CASH (uninvested)``, ``CASH (uninvested) 2``, … that no asset has, so the
        cash row never shares a label with an asset. It is always the last row.
        """
        taken = {str(asset) for asset in self._weights.index}
        if CASH_LABEL not in taken:
            return CASH_LABEL
        label, suffix = CASH_FALLBACK, 1
        while label in taken:
            suffix += 1
            label = f"{CASH_FALLBACK} {suffix}"
        return label

    @property
    def weights(self) -> pd.Series:
        """Target weight per input asset, in input order (0 for assets not held)."""
        return self._weights.copy()

    @property
    def trades(self) -> pd.DataFrame | None:
        """The trades from the current book to the target, or None without current weights.

        One row per asset held now or in the target: ``current``, ``target``, ``change``,
        ``action`` (open, close, increase, decrease, hold), ``priority`` (1 first: closes,
        decreases, increases, opens), ``reason`` (the rule that set the target), ``cost``
        (abs(change) × ``cost_bps`` or ``transaction_cost_bps``, in portfolio fractions).
        """
        if self._current is None:
            return None
        reasons = self._report.explanations["reason"]
        return trade_table(self._weights, self._current, reasons, self._cost_bps)

    @property
    def turnover(self) -> float:
        """One-way turnover Σ|change| / 2 (0 without current weights)."""
        trades = self.trades
        return 0.0 if trades is None else one_way_turnover(trades)

    @property
    def trading_cost(self) -> float:
        """Estimated cost of the trades, as a fraction of the portfolio."""
        trades = self.trades
        return 0.0 if trades is None else float(trades["cost"].sum())

    @property
    def constraints(self) -> pd.DataFrame:
        """One row per constraint row.

        Columns: ``rule`` (the Limits field), ``subject`` (asset, bucket, sector or
        ``portfolio``), ``sense``, ``bound``, ``value``, ``slack``, ``shadow_price`` (decrease of
        the objective per unit increase of the bound), ``binding``.
        """
        return self._report.constraints.copy()

    @property
    def explanations(self) -> pd.DataFrame:
        """One row per asset: weight, score, binding limits, a reason, and the KKT identity.

        The columns after ``reason`` are the parts of the stationarity identity
        ``sizing + Σ rules = residual`` (≈ 0); NaN for assets excluded before optimisation.
        """
        return self._report.explanations.copy()

    @property
    def objective_meaning(self) -> str:
        """What ``objective`` (and every shadow price) measures, in words and units."""
        return self._report.objective_meaning

    def sensitivity(self) -> pd.DataFrame:
        """One row per limit entry, indexed by its label (``bucket_caps[Tech]``).

        Columns: ``field`` and ``group`` (the Limits field and, for per-name fields, the
        name), ``value``, ``shadow_price`` and ``unit``. The shadow price is the decrease of
        the minimised objective (see :attr:`objective_meaning`) per unit of the field (``unit``
        says what one unit is): raising it by 0.01 lowers the objective by about
        0.01 × shadow_price, where the optimum is smooth in the field.
        """
        return self._report.sensitivity.copy()

    def weight_sensitivity(self) -> WeightSensitivity:
        """How every weight and cash move per unit increase of each limit, without re-solving.

        Implicit differentiation of the KKT system at the answer's active set; valid while
        that set holds, which ``ranges`` measures in each direction (0 at a kink). On the
        mixed-integer and heuristic paths it holds for the chosen support. See
        :class:`portcon.report.weight_moves.WeightSensitivity`.
        """
        from portcon.report.weight_sensitivity import weight_sensitivity

        report = self._report
        chosen = self.path != "convex"
        return weight_sensitivity(report.program, report.solution, self.cash_label, chosen)

    def attribution(self, level: str = "row", reference: str = "budget") -> Attribution:
        """The weights split exactly into a reference portfolio and one portfolio per binding
        constraint, with the same split of expected return, risk and the objective.

        ``level="row"`` gives one piece per binding constraint row, ``"limit"`` one per limit
        entry; ``reference`` is ``"budget"`` (the objective's optimum investing the same amount
        with no other limit) or ``"unconstrained"`` (no limit at all: Axioma's convention, with
        the budget as a piece). On the mixed-integer and heuristic paths it holds for the
        chosen support. See
        :class:`portcon.report.attribution_result.Attribution` and docs/design.md.
        """
        key = (level, reference)
        if key not in self._attributions:
            from portcon.report.attribution import constraint_attribution

            report = self._report
            self._attributions[key] = constraint_attribution(
                report.program,
                report.solution,
                report.constraints["binding"].to_numpy(dtype=bool),
                self._weights.index,
                level=level,
                reference=reference,
                chosen_support=self.path != "convex",
            )
        return self._attributions[key].copy()

    def count_prices(self) -> tuple[SlotPrice, ...]:
        """Each integer count limit set, moved one slot each way and re-solved: who enters or
        leaves and what the objective, invested weight, return and volatility do. See
        :class:`portcon.report.count_prices.SlotPrice`."""
        return self._count_prices

    @cached_property
    def _count_prices(self) -> tuple[SlotPrice, ...]:
        from portcon.report.count_prices import count_prices

        return count_prices(self)

    def cash_arithmetic(self) -> CashArithmetic | None:
        """Rollover cash as a sum of the caps that hold the book, with repairs checked by
        re-solving (None when the target is invested). See
        :class:`portcon.report.cash_arithmetic.CashArithmetic`."""
        return self._cash_arithmetic

    @cached_property
    def _cash_arithmetic(self) -> CashArithmetic | None:
        from portcon.report.cash_arithmetic import cash_arithmetic

        return cash_arithmetic(self)

    def sizing_causes(self) -> pd.Series:
        """Per held asset: its reference weight (score share of the invested amount, or the
        budget-only optimum) and the binding limits that moved it, in points; the pieces are
        the limit-level :meth:`attribution` and add up to the weight."""
        from portcon.report.causes import sizing_causes

        return pd.Series(sizing_causes(self), dtype=object, name="causes")

    def sizing_driver(self) -> str:
        """What sets the sizes before any limit: the scores, or which market data."""
        from portcon.report.causes import sizing_driver

        return sizing_driver(self)

    def summary(self) -> str:
        """The decision summary, as printed first by the command line: what bound and what it
        cost (in the objective's unit, and in expected return and volatility with market
        data), whom it moved, the score threshold and count limits, and the parameters."""
        return self.decision_summary().text()

    def decision_summary(self, *, re_solve: bool = True) -> DecisionSummary:
        """:meth:`summary` as data (:class:`portcon.report.summary.DecisionSummary`).

        With ``re_solve=False`` the parts that re-run the construction are left out: each
        count limit moved one slot (:meth:`count_prices`) and cash by arithmetic
        (:meth:`cash_arithmetic`); everything else comes from this answer's duals.
        """
        return self._decision_summary if re_solve else self._quick_summary

    @cached_property
    def _decision_summary(self) -> DecisionSummary:
        from portcon.report.summary import decision_summary

        return decision_summary(self)

    @cached_property
    def _quick_summary(self) -> DecisionSummary:
        from portcon.report.summary import decision_summary

        return decision_summary(self, re_solve=False)

    @cached_property
    def _attributions(self) -> dict[tuple[str, str], Attribution]:
        return {}

    def to_frame(self) -> pd.DataFrame:
        """One row per asset plus a last cash row: weight, score, groups, trade, binding, reason.

        The cash row is labelled :attr:`cash_label` (``CASH`` unless an asset is so named).
        """
        explanations = self._report.explanations
        columns = [c for c in ("weight", "score", "bucket", "sector") if c in explanations]
        frame = explanations[[*columns, "binding", "reason"]].copy()
        if self._current is not None:
            at = list(frame.columns).index("binding")
            frame.insert(at, "current_weight", self._current)
            change = self._weights - self._current
            frame.insert(at + 1, "trade", change.where(change.abs() > HOLD, 0.0))
        cash_row = pd.DataFrame(
            {"weight": [self.cash], "binding": [""], "reason": [self._cash_sentence()]},
            index=pd.Index([self.cash_label], name=frame.index.name),
        )
        return pd.concat([frame, cash_row.reindex(columns=frame.columns)])

    def _cash_sentence(self) -> str:
        chosen = 1.0 - self.limits.target_allocation
        sentence = f"{100 * chosen:.1f}% by target_allocation"
        return f"{sentence}; {self.cash_reason}" if self.cash_reason else sentence

    def to_dict(self, *, re_solve: bool = True) -> dict[str, Any]:
        """Everything as JSON-safe types (NaN becomes None).

        Parameters
        ----------
        re_solve
            Include the explanations that re-run the construction: ``count_prices`` (each
            count limit moved one slot, two constructs per limit) and ``cash_arithmetic``
            (repairs checked by constructing with them). False leaves both ``None`` and the
            decision summary without them: the answer's own duals only, no further solve.
        """
        arithmetic = self.cash_arithmetic() if re_solve else None
        count_prices = self.count_prices() if re_solve and self.path != "convex" else ()
        return json_safe(
            {
                "weights": self._weights.to_dict(),
                "cash": self.cash,
                "rollover": self.rollover,
                "cash_reason": self.cash_reason,
                "notes": list(self.notes),
                "path": self.path,
                "mip_gap": self.mip_gap,
                "mip_bound": self.mip_bound,
                "objective": self.objective,
                "objective_meaning": self.objective_meaning,
                "status": self.status,
                "solver": self.solver,
                "solve_time": self.solve_time,
                "timings": self.timings,
                "limits": self.limits.model_dump(mode="json"),
                "metrics": self.metrics.to_dict(),
                "constraints": self._report.constraints.to_dict(orient="records"),
                "explanations": self._report.explanations.reset_index().to_dict(orient="records"),
                "sensitivity": self._report.sensitivity.reset_index().to_dict(orient="records"),
                "decision_summary": self.decision_summary(re_solve=re_solve).to_dict(),
                "attribution": self.attribution(level="limit").to_dict(),
                "sizing_driver": self.sizing_driver(),
                "sizing_causes": self.sizing_causes().to_dict(),
                "cash_arithmetic": None if arithmetic is None else arithmetic.to_dict(),
                "count_prices": [price.to_dict() for price in count_prices] if re_solve else None,
            }
        )

    def __repr__(self) -> str:
        held = int((self._weights > 0).sum())
        return (
            f"Portfolio({held} positions, invested {100 * (1 - self.cash):.1f}%, "
            f"status={self.status!r}, solver={self.solver!r})"
        )
