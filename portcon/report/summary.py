"""The decision summary: what decided the book, printed first.

What bound and what it cost (in the objective's unit, from the constraint attribution at the
limit level, and in expected return and volatility where market data is given), whom it moved
(the names and weight its attributed portfolio takes and gives), the score threshold and the
count limits, and the sizing parameters shown as parameters, not as limits.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from portcon._text import format_limit, listing, percent
from portcon.report.attribution_result import CONSTRAINT, OBJECTIVE_TERM
from portcon.sizing.objectives import TieredDeviation, TieredTopSlice
from portcon.sizing.risk_objectives import (
    ExactKelly,
    MaxDiversification,
    MaxSharpe,
    MeanVariance,
    QuadraticKelly,
)
from portcon.sizing.wrapped import AddedTerms, innermost

if TYPE_CHECKING:
    from portcon.portfolio import Portfolio

NAMES = 3  # names shown per direction a limit moved weight
NEGLIGIBLE = 1e-9  # moves below this are not named
UNMOVED = 1e-6  # pieces moving less weight than this, and costing less, are not listed
WIDTH = 100
COUNT_FIELDS = (
    "max_total_positions",
    "max_new_positions",
    "max_positions_per_bucket",
    "min_position_size",
    "min_buckets_represented",
    "correlation_limit",
)
PARAMETERS = {
    "risk_aversion": "γ of the mean-variance utility μᵀw − γ/2 wᵀΣw",
    "kelly_fraction": "fraction of the full Kelly bet",
    "cost_aversion": "weight of trading costs in the objective",
    "market_impact": "market-impact coefficient of the cost term",
    "l2_regularization": "weight of the L2 shrinkage term",
    "l1_regularization": "weight of the L1 term",
    "base_position_size": "base size the tier multipliers scale",
}
"""Limits fields that set the objective rather than bound the answer."""


@dataclass(frozen=True)
class Bound:
    """One binding limit: its value, what it cost and whom it moved."""

    label: str
    category: str
    value: str
    cost: float
    share: float | None
    expected_return: float | None
    volatility: float | None
    took: tuple[tuple[str, float], ...]
    gave: tuple[tuple[str, float], ...]
    moved: float

    def sentence(self) -> str:
        """``max_single_position = 4.0% (position caps): cost 0.0051 (31%); …``"""
        head = f"{self.label} = {self.value}" if self.value else self.label
        cost = f"cost {self.cost:.4g}" if self.cost >= 0 else f"saved {-self.cost:.4g}"
        if self.share is not None:
            cost += f" ({100 * self.share:.0f}% of the limits' total)"
        market = []
        if self.expected_return is not None:
            market.append(f"expected return {_points(self.expected_return)}")
        if self.volatility is not None:
            market.append(f"volatility {_points(self.volatility)}")
        if market:
            cost += f", {', '.join(market)}"
        moves = f"moved {100 * self.moved:.2f}% of weight"
        if self.took:
            moves += f": took from {_names(self.took)}"
        if self.gave:
            moves += f"{';' if self.took else ':'} gave to {_names(self.gave)}"
        return f"{head} ({self.category}): {cost}; {moves}"


@dataclass(frozen=True)
class DecisionSummary:
    """What decided the book, in the order a reader asks: objective and parameters, what was
    invested, who was eligible, the count limits, then each binding limit by its cost.

    Attributes
    ----------
    objective
        What the objective measures (every cost is in its unit).
    sizing
        The sizing mode.
    parameters
        (field, value, what it sets) for each parameter of the objective.
    invested, eligible, counts
        Sentences: the invested weight and cash, the score threshold and other exclusions, one
        per count limit set.
    bounds
        The binding limits, costliest first.
    reference
        What the costs are measured against (the attribution's reference portfolio).
    note
        How far the numbers hold (a chosen support, a quadratic model, prices chosen).
    total_cost
        The binding limits' costs summed.
    driver
        What sets the sizes before any limit (the scores, or expected returns and risk).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    >>> limits = {"sizing_mode": "score_weighted", "max_single_position": 0.34}
    >>> portfolio = portcon.construct(scores, {**limits, "min_score_threshold": None})
    >>> summary = portfolio.decision_summary()
    >>> [bound] = summary.bounds
    >>> bound.label, bound.value, round(bound.moved, 4)
    ('max_single_position', '34.0%', 0.0162)
    >>> [asset for asset, _ in bound.took], [asset for asset, _ in bound.gave]
    (['A'], ['B', 'C'])
    """

    objective: str
    sizing: str
    parameters: tuple[tuple[str, str, str], ...]
    invested: str
    eligible: str
    counts: tuple[str, ...]
    bounds: tuple[Bound, ...]
    reference: str
    note: str = ""
    total_cost: float = 0.0
    driver: str = ""

    def lines(self) -> list[str]:
        """The summary as printed lines (wrapped at 100 characters)."""
        lines = ["Decision summary", ""]
        rows = [("objective", self.objective), ("sizing", self.sizing)]
        if self.driver:
            rows.append(("sized by", self.driver))
        rows += [
            ("parameter", f"{name} = {value}: {meaning} (a parameter, not a limit)")
            for name, value, meaning in self.parameters
        ]
        rows += [("invested", self.invested), ("eligible", self.eligible)]
        rows += [("counts", sentence) for sentence in self.counts]
        if self.bounds:
            rows.append(
                ("what bound", f"costs in the objective's unit, measured from {self.reference}")
            )
            rows += [("", bound.sentence()) for bound in self.bounds]
        else:
            rows.append(("what bound", "no limit changed the answer"))
        if self.note:
            rows.append(("note", self.note))
        shown = ""
        for name, raw in rows:
            text = _printable(raw)
            head = "  - " if name == "" else f"  {'' if name == shown else name:<11}"
            shown = name or shown
            wrapped = textwrap.wrap(text, WIDTH - len(head)) or [""]
            lines.append(head + wrapped[0])
            indent = " " * (6 if name == "" else 13)
            lines += [indent + line for line in wrapped[1:]]
        return lines

    def text(self) -> str:
        """The printed summary."""
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every field, and the printed ``text``."""
        values = asdict(self)
        values["parameters"] = [
            {"field": name, "value": value, "meaning": meaning}
            for name, value, meaning in self.parameters
        ]
        values["bounds"] = [
            {
                **{k: _finite(v) for k, v in asdict(bound).items() if k not in ("took", "gave")},
                "took": [[asset, change] for asset, change in bound.took],
                "gave": [[asset, change] for asset, change in bound.gave],
            }
            for bound in self.bounds
        ]
        values["total_cost"] = _finite(self.total_cost)
        values["text"] = self.text()
        return values


def decision_summary(portfolio: Portfolio, *, re_solve: bool = True) -> DecisionSummary:
    """The :class:`DecisionSummary` of a constructed portfolio; ``re_solve=False`` leaves out
    the count limits moved one slot and cash by arithmetic (both re-run the construction)."""
    program = portfolio._report.program
    limits = portfolio.limits
    attribution = portfolio.attribution(level="limit")
    bounds, total = _bounds(portfolio, attribution.table, attribution.holdings)
    reference = attribution.reference_meaning or "nothing (no attribution)"
    notes = [note for note in (attribution.note,) if note]
    return DecisionSummary(
        objective=portfolio.objective_meaning,
        sizing=str(limits.sizing_mode),
        parameters=tuple(_parameters(portfolio)),
        invested=_invested(portfolio, re_solve),
        eligible=_eligible(portfolio),
        counts=tuple(_counts(portfolio, attribution.table, re_solve)),
        bounds=tuple(bounds),
        reference=reference if program.objective is not None else "nothing",
        note="; ".join(notes),
        total_cost=total,
        driver=portfolio.sizing_driver() if program.objective is not None else "",
    )


def _bounds(
    portfolio: Portfolio, table: pd.DataFrame, holdings: pd.DataFrame
) -> tuple[list[Bound], float]:
    kinds = table["kind"].to_numpy()
    keep = (kinds == CONSTRAINT) | (kinds == OBJECTIVE_TERM)
    costs = table["objective"].to_numpy(dtype=float)
    total = float(costs[keep].sum())
    sensitivity = portfolio.sensitivity()
    assets = [str(asset) for asset in holdings.index]
    labels = [str(label) for label in table.index]
    columns = holdings.to_numpy(dtype=float)
    added, removed = table["added"].to_numpy(dtype=float), table["removed"].to_numpy(dtype=float)
    bounds = []
    for k in np.flatnonzero(keep):
        label, row = labels[k], table.iloc[k]
        moved = max(float(added[k]), -float(removed[k]))
        if moved <= UNMOVED and abs(costs[k]) <= UNMOVED * max(abs(total), 1e-9):
            continue
        column = columns[:, k]
        order = np.argsort(column, kind="stable")
        took = [(assets[i], float(column[i])) for i in order[:NAMES] if column[i] < -NEGLIGIBLE]
        gave = [
            (assets[i], float(column[i])) for i in order[::-1][:NAMES] if column[i] > NEGLIGIBLE
        ]
        bounds.append(
            Bound(
                label=label,
                category=str(row["category"]),
                value=_value(portfolio, label, str(row["rule"]), sensitivity),
                cost=float(costs[k]),
                share=float(costs[k]) / total if total > NEGLIGIBLE else None,
                expected_return=_optional(row["expected_return"]),
                volatility=_optional(row["volatility"]),
                took=tuple(took),
                gave=tuple(gave),
                moved=moved,
            )
        )
    bounds.sort(key=lambda bound: -bound.cost)
    return bounds, total


def _value(portfolio: Portfolio, label: str, rule: str, sensitivity: pd.DataFrame) -> str:
    if label in sensitivity.index:
        number = _optional(sensitivity.loc[label, "value"])
        if number is not None:
            return format_limit(str(sensitivity.loc[label, "field"]), number)
    value = getattr(portfolio.limits, rule, None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_limit(rule, float(value))
    return ""


def _parameters(portfolio: Portfolio) -> list[tuple[str, str, str]]:
    """The objective's parameters: the Limits fields it reads, γ* for max Sharpe."""
    objective = portfolio._report.program.objective
    if objective is None:
        return []
    limits = portfolio.limits
    inner = innermost(objective)
    fields: list[str] = []
    if isinstance(inner, MaxSharpe):
        ratio = "diversification ratio" if isinstance(inner, MaxDiversification) else "Sharpe"
        meaning = f"γ* of the maximum-{ratio} portfolio, derived from the data and the limits"
        found = [("risk aversion γ*", f"{inner.risk_aversion:.4g}", meaning)]
    else:
        found = []
        if isinstance(inner, MeanVariance):
            fields.append("risk_aversion")
        if isinstance(inner, QuadraticKelly | ExactKelly):
            fields.append("kelly_fraction")
        if (
            isinstance(inner, TieredDeviation | TieredTopSlice)
            and limits.base_position_size is not None
        ):
            fields.append("base_position_size")
    if inner is not objective:
        wrappers = {type(layer).__name__ for layer in _layers(objective)}
        if "WithTradingCosts" in wrappers:
            fields += ["cost_aversion", "market_impact"]
        if "WithRegularisation" in wrappers:
            fields += ["l2_regularization", "l1_regularization"]
    for name in fields:
        value = getattr(limits, name, None)
        if value is not None and not (name.startswith(("market", "l1", "l2")) and not value):
            found.append((name, format_limit(name, float(value)), PARAMETERS[name]))
    return found


def _layers(objective: Any) -> list[Any]:
    layers = []
    while isinstance(objective, AddedTerms):
        layers.append(objective)
        objective = objective.inner
    return layers


def _invested(portfolio: Portfolio, re_solve: bool) -> str:
    weights = portfolio.weights
    held = int((weights.abs() > 0).sum())
    target = portfolio.limits.target_allocation
    text = f"{percent(float(weights.sum()))} in {held} names (target {percent(target)})"
    arithmetic = portfolio.cash_arithmetic() if re_solve else None
    if arithmetic is not None:
        text += f"; cash by arithmetic: {arithmetic.sentence()}"
    elif portfolio.rollover > NEGLIGIBLE:
        text += (
            f"; {percent(portfolio.rollover)} of the target rolled to cash: the limits cannot "
            "absorb it"
        )
    elif portfolio.cash_reason:
        text += f"; {portfolio.cash_reason}"
    return text


def _eligible(portfolio: Portfolio) -> str:
    """How many names could be held, who the score threshold kept out, and what else did."""
    program = portfolio._report.program
    universe = program.universe
    threshold = portfolio.limits.min_score_threshold
    text = f"{len(program.members)} of {len(universe.assets)} names"
    below = 0
    if threshold is not None:
        scores = np.asarray(universe.score, dtype=float)
        misses = np.flatnonzero(scores < threshold)
        misses = misses[np.argsort(-scores[misses], kind="stable")]
        below = len(misses)
        labels = [str(asset) for asset in universe.assets]
        shown = [f"{labels[i]} {scores[i]:.2f}" for i in misses]
        text += f"; {below} below min_score_threshold {threshold:g}"
        if shown:
            text += f" ({listing(shown, limit=4)})"
    else:
        text += "; min_score_threshold off"
    others = len(program.exclusions) - below
    if others > 0:
        text += f"; {others} more excluded before sizing (see their reasons)"
    return text


def _counts(portfolio: Portfolio, table: pd.DataFrame, re_solve: bool) -> list[str]:
    """One sentence per count limit set: bound (whom it left out, what it cost) or not."""
    limits = portfolio.limits
    solution = portfolio._report.solution
    left_out: dict[str, list[str]] = {}
    for block in [] if solution is None else solution.blocks:
        if block.parameter.startswith("support.excluded:"):
            left_out.setdefault(block.rule, []).extend(block.subjects)
    held = int((portfolio.weights.abs() > 0).sum())
    # a whole slot priced by re-solving, where the count search chose the support
    slots = portfolio.count_prices() if re_solve and portfolio.path != "convex" else ()
    sentences = []
    for name in dict.fromkeys([*COUNT_FIELDS, *left_out]):
        value = getattr(limits, name, None)
        if name not in left_out and (not isinstance(value, int | float) or value == 0):
            continue
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        head = name if number is None else f"{name} = {format_limit(name, float(number))}"
        if name in left_out:
            cost = _optional(table.loc[name, "objective"]) if name in table.index else None
            priced = "" if cost is None else f" (cost {cost:.4g})"
            sentences.append(f"{head}: bound, left out {listing(left_out[name], limit=5)}{priced}")
        else:
            sentences.append(f"{head}: not binding ({held} held)")
        sentences += [
            price.sentence()
            for price in slots
            if price.field == name and (price.changed or (price.looser and name in left_out))
        ]
    if left_out and portfolio.path != "convex":
        sentences.append(f"prices and costs hold for the chosen support ({portfolio.path} path)")
    return sentences


def _printable(text: str) -> str:
    """Labels are any text: control characters (newlines, escape codes) are shown escaped, so
    a printed summary never drives the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _names(moves: tuple[tuple[str, float], ...]) -> str:
    return ", ".join(f"{asset} {100 * abs(change):.2f}pt" for asset, change in moves)


def _points(value: float) -> str:
    return f"{100 * value:+.2f}pt"


def _optional(value: Any) -> float | None:
    """A finite number, or None (for NaN, None, or anything that is not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
