"""Rollover cash by arithmetic: what the caps add up to, and repairs checked by re-solving.

When the limits cannot absorb the target, the invested weight is the sum of the caps that hold
the held names: "16 names × 4.0% + 12.0% in Technology (sector cap) = 76.0% < 95.0% target:
19.0% to cash". The repairs follow from the same sum: more names at the single-position cap
(a count limit raised by ⌈cash / cap⌉) or a higher single cap ((target − what the group caps
hold) / names at the cap). Each is offered only after the whole construction, re-run with it,
invests the target; when none does, the infeasibility diagnosis of the same book without
rollover gives its verified repairs instead. A repair never proposes a limit's current value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from portcon._text import FRACTION_FIELDS, format_limit, percent
from portcon.constraints.keys import group_kind
from portcon.errors import InfeasibleError, LimitsError, PortconError
from portcon.report.explain import BindingRow, binding_rows_by_asset
from portcon.report.resolve import reconstruct

if TYPE_CHECKING:
    from portcon.portfolio import Portfolio

OWN_CAPS = ("max_single_position", "max_weight")
INVESTED = 1e-6  # rollover at most this after a repair: the target is invested
COUNT_REPAIRS = ("max_total_positions", "max_new_positions")
DECIMALS = 4  # a fractional repair is rounded up to this many decimals (0.01 pt)


@dataclass(frozen=True)
class CashArithmetic:
    """Why a book left part of its target in cash, as a sum, and repairs that invest it.

    Attributes
    ----------
    terms
        The parts of the invested weight: (what holds it, weight), e.g.
        ``("16 names × 4.0% (max_single_position)", 0.64)``.
    invested, target, cash
        Their sum, the target and the rollover cash (target − invested).
    unexplained, others
        Invested weight no binding cap accounts for (0 when the sum is complete), and the
        other binding limits (a volatility cap, a floor) that hold it.
    repairs, words
        Single-limit changes that, re-solved, invest the target, and each in words.
    """

    terms: tuple[tuple[str, float], ...]
    invested: float
    target: float
    cash: float
    unexplained: float = 0.0
    others: tuple[str, ...] = ()
    repairs: tuple[dict[str, Any], ...] = field(default=())
    words: tuple[str, ...] = field(default=())

    def sentence(self) -> str:
        """``16 names × 4.0% + … = 76.0% < 95.0% target: 19.0% to cash; raise … to …``"""
        parts = [text for text, _ in self.terms]
        if self.unexplained > INVESTED:
            others = f" ({', '.join(self.others)} binding)" if self.others else ""
            parts.append(f"{percent(self.unexplained)} held by other limits{others}")
        text = (
            f"{' + '.join(parts)} = {percent(self.invested)} < {percent(self.target)} target: "
            f"{percent(self.cash)} to cash"
        )
        if self.repairs:
            text += "; " + " or ".join(self.words)
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields and the sentence."""
        return {
            "terms": [[text, weight] for text, weight in self.terms],
            "invested": self.invested,
            "target": self.target,
            "cash": self.cash,
            "unexplained": self.unexplained,
            "others": list(self.others),
            "repairs": [dict(repair) for repair in self.repairs],
            "words": list(self.words),
            "sentence": self.sentence(),
        }


def cash_arithmetic(portfolio: Portfolio) -> CashArithmetic | None:
    """The sum behind a book's rollover cash and verified repairs (None without rollover)."""
    report = portfolio._report
    solution = report.solution
    if solution is None or portfolio.rollover <= INVESTED:
        return None
    program = report.program
    rows = binding_rows_by_asset(solution, report.constraints)
    at_cap: dict[tuple[str, float], int] = {}
    groups: dict[tuple[str, str], float] = {}
    for position, asset in enumerate(program.assets):
        weight = float(solution.weights[position])
        if weight <= INVESTED:
            continue
        cap = _own_cap(asset, rows[position])
        group = next((row for row in rows[position] if group_kind(row.rule) is not None), None)
        if cap is not None:
            at_cap[(cap, round(weight, 10))] = at_cap.get((cap, round(weight, 10)), 0) + 1
        elif group is not None:
            groups[(group.rule, group.subject)] = groups.get((group.rule, group.subject), 0.0)
            groups[(group.rule, group.subject)] += weight
    terms = [
        (f"{count} names × {percent(weight)} ({rule})", count * weight)
        for (rule, weight), count in sorted(at_cap.items(), key=lambda item: -item[1])
    ]
    terms += [
        (f"{percent(weight)} in {subject} ({rule} binding)", weight)
        for (rule, subject), weight in groups.items()
    ]
    invested = float(np.sum(solution.weights))
    target = portfolio.limits.target_allocation
    explained = sum(weight for _, weight in terms)
    arithmetic = CashArithmetic(
        terms=tuple(terms),
        invested=invested,
        target=target,
        cash=target - invested,
        unexplained=max(invested - explained, 0.0),
        others=_other_binding(report.constraints),
    )
    repairs = _checked(portfolio, _candidates(portfolio, at_cap, groups, target))
    if not repairs:
        repairs = _diagnosed(portfolio)
    words = tuple(_repair_words(portfolio, repair) for repair in repairs)
    return CashArithmetic(**{**arithmetic.__dict__, "repairs": tuple(repairs), "words": words})


def _other_binding(table: Any) -> tuple[str, ...]:
    """Binding rules other than the budget, long-only, own caps and group caps."""
    binding = table[table["binding"].astype(bool)]["rule"]
    skipped = ("target_allocation", "long_only", *OWN_CAPS)
    return tuple(
        str(rule)
        for rule in dict.fromkeys(binding)
        if rule not in skipped and group_kind(str(rule)) is None
    )


def _own_cap(asset: str, rows: list[BindingRow]) -> str | None:
    return next(
        (
            row.rule
            for row in rows
            if row.subject == asset and row.rule in OWN_CAPS and not row.floor and not row.pinned
        ),
        None,
    )


def _candidates(
    portfolio: Portfolio,
    at_cap: dict[tuple[str, float], int],
    groups: dict[tuple[str, str], float],
    target: float,
) -> list[dict[str, Any]]:
    """Repairs the arithmetic suggests: more names at the cap, or a higher single cap."""
    limits = portfolio.limits
    single = [(weight, count) for (rule, weight), count in at_cap.items() if rule == OWN_CAPS[0]]
    candidates: list[dict[str, Any]] = []
    if len(single) == 1:
        cap, count = single[0]
        missing = target - float(portfolio.weights.sum())
        extra = math.ceil(missing / cap - 1e-9)
        for name in COUNT_REPAIRS:
            value = getattr(limits, name)
            if value is not None and _bound(portfolio, name):
                candidates.append({name: value + extra})
        held_by_groups = sum(groups.values())
        raised = _round_up((target - held_by_groups) / count)
        if raised > cap + 1e-12:
            candidates.append({OWN_CAPS[0]: raised})
    return candidates


def _bound(portfolio: Portfolio, name: str) -> bool:
    """True when a count rule left a name out (its slot would add a name)."""
    solution = portfolio._report.solution
    blocks = [] if solution is None else solution.blocks
    return any(
        block.rule == name and block.parameter.startswith("support.excluded:") for block in blocks
    )


def _checked(portfolio: Portfolio, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The candidates that, re-solved, invest the target; each raised a little further (up to
    three steps of its own unit) when the first value falls short."""
    working = []
    for candidate in candidates:
        [(name, value)] = candidate.items()
        for step in range(4):
            moved = value + step if isinstance(value, int) else _round_up(value * (1 + 0.05 * step))
            if _invests(portfolio, {name: moved}):
                working.append({name: moved})
                break
    return [repair for repair in working if not _current(portfolio, repair)]


def _invests(portfolio: Portfolio, repair: dict[str, Any]) -> bool:
    try:
        other = reconstruct(portfolio, **repair)
    except PortconError:
        return False
    return other.rollover <= INVESTED


def _diagnosed(portfolio: Portfolio) -> list[dict[str, Any]]:
    """The diagnosis's verified repairs of the same book refused rollover."""
    try:
        reconstruct(portfolio, allow_cash_rollover=False)
    except InfeasibleError as refusal:
        return [
            dict(repair)
            for repair in refusal.repairs
            if "allow_cash_rollover" not in repair and not _current(portfolio, repair)
        ]
    except (LimitsError, PortconError):
        return []
    return []


def _current(portfolio: Portfolio, repair: dict[str, Any]) -> bool:
    """True when a repair would leave every field it names at its current value."""
    return all(getattr(portfolio.limits, name, None) == value for name, value in repair.items())


def _round_up(value: float) -> float:
    scale = 10**DECIMALS
    return math.ceil(value * scale - 1e-9) / scale


def _repair_words(portfolio: Portfolio, repair: dict[str, Any]) -> str:
    words = []
    for name, value in repair.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            words.append(f"set {name} to {value}")
            continue
        now = getattr(portfolio.limits, name, None)
        verb = "lower" if isinstance(now, int | float) and value < now else "raise"
        shown = f"{100 * value:.2f}%" if name in FRACTION_FIELDS else format_limit(name, value)
        words.append(f"{verb} {name} to {shown}")
    return " and ".join(words)
