"""Which assets a rebalance may hold, at what bounds, and why: entry and keep thresholds,
trend confidence, minimum holding periods, grace with decay, fixed weights.

A held position is re-scored every time (never dropped for not being "selected"): it stays
while its score is at least ``min_score_threshold``; a new one opens only at
``min_score_new_position`` (and ``min_confidence_new``). A held position younger than
``min_holding_days`` keeps its weight exactly; one whose score has fallen below the keep
threshold may stay ``grace_period_days`` days, at most ``grace_decay_rate`` × its current weight
(all of it on its first day below), then closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portcon._text import percent
from portcon.errors import LimitsError
from portcon.limits import Limits
from portcon.universe import Universe


@dataclass(frozen=True)
class Eligibility:
    """The rebalance rules applied to every asset of a universe.

    Attributes
    ----------
    candidate
        True for each asset that may be held (a variable of the program).
    exclusions
        Asset → why it is not a candidate.
    pinned
        Position → (weight, Limits field or column, sentence): held exactly at that weight.
    grace
        Position → (cap, sentence): a held asset in its grace period, at most ``cap``.
    notes
        Asset → a sentence about a held candidate (kept, in grace, due for review).
    priority
        True for held assets that still qualify (kept first within position counts).
    """

    candidate: np.ndarray
    priority: np.ndarray
    exclusions: dict[str, str] = field(default_factory=dict)
    pinned: dict[int, tuple[float, str, str]] = field(default_factory=dict)
    grace: dict[int, tuple[float, str]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def eligibility(universe: Universe, limits: Limits) -> Eligibility:
    """Apply the entry, keep, confidence, holding, grace and fixed-weight rules.

    Raises
    ------
    LimitsError
        When a rule in force needs a column the scores lack.
    """
    _require_columns(universe, limits)
    keep = limits.min_score_threshold
    enter = _entry_threshold(limits)
    held = universe.held
    candidate = np.zeros(universe.size, dtype=bool)
    found = Eligibility(candidate=candidate, priority=np.zeros(universe.size, dtype=bool))
    labels = universe.assets.to_numpy(dtype=object)  # pandas' string Index is slow to index
    opens = _opens(universe, limits, held, enter)
    found.candidate[opens] = True  # new assets that pass every entry rule: nothing to say
    for position in np.flatnonzero(~opens).tolist():
        asset = str(labels[position])
        if _fixed(universe, position, found):
            continue
        if held[position]:
            _held(universe, limits, position, asset, keep, found)
        else:
            _new(universe, limits, position, asset, enter, found)
    return found


def _opens(universe: Universe, limits: Limits, held: np.ndarray, enter: float | None) -> np.ndarray:
    """True for assets neither held nor fixed that :func:`_new` would simply admit."""
    opens = ~held
    if universe.fixed_weight is not None:
        opens &= np.isnan(universe.fixed_weight)
    if enter is not None:
        opens &= ~(universe.score < enter)
    floor = limits.min_confidence_new
    if floor is not None and universe.trending_confidence is not None:
        opens &= ~(universe.trending_confidence < floor)
    return opens


def _entry_threshold(limits: Limits) -> float | None:
    thresholds = [t for t in (limits.min_score_threshold, limits.min_score_new_position) if t]
    return max(thresholds) if thresholds else None


def _require_columns(universe: Universe, limits: Limits) -> None:
    needs = (
        ("min_holding_days", limits.min_holding_days, universe.days_held, "days_held"),
        ("max_holding_days", limits.max_holding_days, universe.days_held, "days_held"),
        (
            "grace_period_days",
            limits.grace_period_days,
            universe.days_below_threshold,
            "days_below_threshold",
        ),
    )
    if universe.held.any():
        for name, value, column, column_name in needs:
            if value is not None and column is None:
                raise LimitsError(
                    f"{name} needs a '{column_name}' column for the held positions; add it or "
                    f"switch {name} off"
                )
    confidence = (limits.min_confidence_new, limits.min_confidence_existing)
    if any(value is not None for value in confidence) and universe.trending_confidence is None:
        raise LimitsError(
            "min_confidence_new / min_confidence_existing need a 'trending_confidence' column; "
            "add it or switch them off"
        )


def _fixed(universe: Universe, position: int, found: Eligibility) -> bool:
    if universe.fixed_weight is None or np.isnan(universe.fixed_weight[position]):
        return False
    weight = float(universe.fixed_weight[position])
    asset = str(universe.assets[position])
    if weight <= 0:
        found.exclusions[asset] = "not held: fixed_weight 0"
        return True
    found.candidate[position] = True
    found.pinned[position] = (weight, "fixed_weight", f"held at its fixed_weight {percent(weight)}")
    return True


def _held(
    universe: Universe,
    limits: Limits,
    position: int,
    asset: str,
    keep: float | None,
    found: Eligibility,
) -> None:
    current = float(universe.current_weight[position])  # type: ignore[index]
    score = float(universe.score[position])
    days = None if universe.days_held is None else int(universe.days_held[position])
    if limits.min_holding_days is not None and days is not None and days < limits.min_holding_days:
        found.candidate[position] = True
        sentence = f"held: day {days} of {limits.min_holding_days} minimum holding days"
        ceiling = _ceiling(universe, limits, position)
        if current > ceiling:  # drift took it above its cap: frozen at the cap instead
            sentence += f", at its cap {percent(ceiling)} (it had drifted to {percent(current)})"
        found.pinned[position] = (min(current, ceiling), "min_holding_days", sentence)
        return
    confidence = _confidence(universe, position)
    floor = limits.min_confidence_existing
    if floor is not None and confidence is not None and confidence < floor:
        found.exclusions[asset] = (
            f"closed: trending_confidence {confidence:.2f} below min_confidence_existing "
            f"{floor:.2f}"
        )
        return
    review = ""
    if limits.max_holding_days is not None and days is not None and days >= limits.max_holding_days:
        review = f"; due for review: held {days} days ≥ max_holding_days {limits.max_holding_days}"
    if keep is None or score >= keep:
        found.candidate[position] = True
        found.priority[position] = True
        kept = f"kept: held, score {score:.2f}" + (f" ≥ {keep:.2f}" if keep is not None else "")
        found.notes[asset] = kept + review
        return
    _grace(universe, limits, position, asset, keep, current, score, found, review)


def _grace(
    universe: Universe,
    limits: Limits,
    position: int,
    asset: str,
    keep: float,
    current: float,
    score: float,
    found: Eligibility,
    review: str,
) -> None:
    below = f"score {score:.2f} below min_score_threshold {keep:.2f}"
    grace = limits.grace_period_days
    if grace is None:
        found.exclusions[asset] = f"not held: {below}"
        return
    day = int(universe.days_below_threshold[position])  # type: ignore[index]
    if day >= grace:
        found.exclusions[asset] = f"closed: {below} for {day} days (grace_period_days {grace})"
        return
    rate = 1.0 if day == 0 else limits.grace_decay_rate
    cap = current * rate
    found.candidate[position] = True
    sentence = f"grace day {day} of {grace}: {below}, at most {percent(cap)}"
    if day:
        sentence += f" ({limits.grace_decay_rate:g} × its current {percent(current)})"
    found.grace[position] = (cap, sentence)
    found.notes[asset] = sentence + review


def _new(
    universe: Universe,
    limits: Limits,
    position: int,
    asset: str,
    enter: float | None,
    found: Eligibility,
) -> None:
    score = float(universe.score[position])
    if enter is not None and score < enter:
        which = (
            "min_score_new_position"
            if limits.min_score_new_position is not None
            and enter == limits.min_score_new_position
            and enter != limits.min_score_threshold
            else "min_score_threshold"
        )
        found.exclusions[asset] = f"not held: score {score:.2f} below {which} {enter:.2f}"
        return
    confidence = _confidence(universe, position)
    floor = limits.min_confidence_new
    if floor is not None and confidence is not None and confidence < floor:
        found.exclusions[asset] = (
            f"not opened: trending_confidence {confidence:.2f} below min_confidence_new {floor:.2f}"
        )
        return
    found.candidate[position] = True


def _ceiling(universe: Universe, limits: Limits, position: int) -> float:
    """The tightest per-asset cap: max_single_position and the max_weight column."""
    caps = [1.0]
    if limits.max_single_position is not None:
        caps.append(limits.max_single_position)
    if universe.max_weight is not None and not np.isnan(universe.max_weight[position]):
        caps.append(float(universe.max_weight[position]))
    return min(caps)


def _confidence(universe: Universe, position: int) -> float | None:
    if universe.trending_confidence is None:
        return None
    return float(universe.trending_confidence[position])
