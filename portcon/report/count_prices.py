"""Count limits priced by re-solving: what one more (or one fewer) slot does.

A count limit has no shadow price: the number of names is an integer, and the mixed-integer
answer's prices hold for the chosen support only. So each count limit set is moved by one slot
each way and the whole construction is run again (count search included): the names that enter
or leave, with their weights, and the change of the objective (and of the invested weight,
expected return and volatility) are what the slot is worth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from portcon.errors import InfeasibleError, LimitsError
from portcon.report.resolve import reconstruct

if TYPE_CHECKING:
    from portcon.portfolio import Portfolio

LOOSER = {
    "max_total_positions": 1,
    "max_new_positions": 1,
    "max_positions_per_bucket": 1,
    "min_buckets_represented": -1,
}
"""Integer count fields and the step that gives one more slot (fewer required buckets)."""
MOVED = 1e-6  # a weight change below this is not an entry, exit or move
SAME = 1e-9  # relative objective change below this is "no change"
NAMES = 4


@dataclass(frozen=True)
class SlotPrice:
    """What moving one count limit by one slot does, found by re-solving.

    Attributes
    ----------
    label
        The limit (``max_total_positions``, ``bucket_position_limits[Tech]``).
    field, name
        The Limits field and, for per-bucket entries, the bucket.
    value, new_value
        The limit now and in the re-solve.
    looser
        True for one more slot (the limit loosened), False for one fewer.
    entered, left
        (asset, weight in the re-solve) of names held only there / (asset, weight now) of
        names held only now.
    objective_change
        Re-solved minus current objective, in the objective's unit (negative: better).
    invested_change, return_change, volatility_change
        Re-solved minus current invested weight, expected return, volatility (None without
        market data).
    refused
        Why the re-solve has no portfolio (an infeasible or inconsistent request), else "".
    """

    label: str
    field: str
    name: str | None
    value: int
    new_value: int
    looser: bool
    entered: tuple[tuple[str, float], ...] = ()
    left: tuple[tuple[str, float], ...] = ()
    objective_change: float = 0.0
    invested_change: float = 0.0
    return_change: float | None = None
    volatility_change: float | None = None
    refused: str = ""

    @property
    def changed(self) -> bool:
        """True when the slot moved the book (a name entered or left, or weight moved)."""
        return bool(self.entered or self.left) or abs(self.invested_change) > MOVED

    def sentence(self) -> str:
        """``one more slot (max_total_positions 10 → 11): GS enters at 3.4%; objective …``"""
        slot = "one more slot" if self.looser else "one fewer slot"
        head = f"{slot} ({self.label} {self.value} → {self.new_value})"
        if self.refused:
            return f"{head}: no portfolio ({self.refused})"
        if not self.changed and abs(self.objective_change) <= SAME:
            return f"{head}: the same book (this move alone changes nothing)"
        moves = []
        if self.entered:
            moves.append(f"{_names(self.entered, 'at ')} {_verb(self.entered, 'enters', 'enter')}")
        if self.left:
            moves.append(f"{_names(self.left, 'from ')} {_verb(self.left, 'leaves', 'leave')}")
        text = f"{head}: {', '.join(moves) or 'the same names, resized'}"
        text += f"; objective {self.objective_change:+.4g}"
        if abs(self.invested_change) > MOVED:
            text += f", invested {100 * self.invested_change:+.2f}pt"
        if self.return_change is not None:
            text += f", expected return {100 * self.return_change:+.2f}pt"
        if self.volatility_change is not None:
            text += f", volatility {100 * self.volatility_change:+.2f}pt"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields and the sentence."""
        return {
            "label": self.label,
            "field": self.field,
            "name": self.name,
            "value": self.value,
            "new_value": self.new_value,
            "looser": self.looser,
            "entered": [[asset, weight] for asset, weight in self.entered],
            "left": [[asset, weight] for asset, weight in self.left],
            "objective_change": self.objective_change,
            "invested_change": self.invested_change,
            "return_change": self.return_change,
            "volatility_change": self.volatility_change,
            "refused": self.refused,
            "sentence": self.sentence(),
        }


def count_prices(portfolio: Portfolio) -> tuple[SlotPrice, ...]:
    """One more and one fewer slot for every integer count limit set, each by re-solving.

    Per-bucket entries of ``bucket_position_limits`` are moved one at a time; a limit that
    would go below its least meaningful value (0 positions, 1 bucket) is moved only up.
    """
    if portfolio._report.solution is None:
        return ()
    limits = portfolio.limits
    prices = []
    for field, step in LOOSER.items():
        value = getattr(limits, field)
        if value is None:
            continue
        for looser in (True, False):
            moved = value + (step if looser else -step)
            if moved >= (1 if field == "min_buckets_represented" else 0):
                prices.append(_priced(portfolio, field, None, value, moved, looser))
    for bucket, value in limits.bucket_position_limits.items():
        for looser, moved in ((True, value + 1), (False, value - 1)):
            if moved >= 0:
                prices.append(
                    _priced(portfolio, "bucket_position_limits", bucket, value, moved, looser)
                )
    return tuple(prices)


def next_in_line(portfolio: Portfolio) -> dict[str, str]:
    """For each name a count rule left out: what one more slot of that rule does, in words
    (who enters, and whether it is this name)."""
    solution = portfolio._report.solution
    if solution is None or portfolio.path == "convex":
        return {}
    looser = {price.label: price for price in portfolio.count_prices() if price.looser}
    sentences = {}
    for block in solution.blocks:
        if not block.parameter.startswith("support.excluded:"):
            continue
        price = looser.get(block.rule)
        for asset in block.subjects:
            if price is None:
                continue
            entered = dict(price.entered)
            if asset in entered:
                said = f"next in line: one more {block.rule} slot brings it in at "
                said += f"{100 * entered[asset]:.2f}% (objective {price.objective_change:+.4g})"
            elif price.entered:
                said = f"not next in line: one more {block.rule} slot brings in "
                said += _names(price.entered, "at ")
            else:
                said = f"one more {block.rule} slot alone brings in no name"
            sentences[str(asset)] = said
    return sentences


def _priced(
    portfolio: Portfolio, field: str, name: str | None, value: int, moved: int, looser: bool
) -> SlotPrice:
    label = field if name is None else f"{field}[{name}]"
    if name is None:
        change: dict[str, Any] = {field: moved}
    else:
        change = {field: {**portfolio.limits.bucket_position_limits, name: moved}}
    price = SlotPrice(label, field, name, value, moved, looser)
    try:
        other = reconstruct(portfolio, **change)
    except (InfeasibleError, LimitsError) as refusal:
        return SlotPrice(label, field, name, value, moved, looser, refused=_first(refusal))
    now, then = portfolio.weights, other.weights
    held_now, held_then = now.abs() > MOVED, then.abs() > MOVED
    entered = _ranked(then[held_then & ~held_now])
    left = _ranked(now[held_now & ~held_then])
    before, after = portfolio.metrics, other.metrics
    return SlotPrice(
        price.label,
        field,
        name,
        value,
        moved,
        looser,
        entered=entered,
        left=left,
        objective_change=other.objective - portfolio.objective,
        invested_change=float(then.sum() - now.sum()),
        return_change=_difference(after.expected_return, before.expected_return),
        volatility_change=_difference(after.volatility, before.volatility),
    )


def _ranked(weights: Any) -> tuple[tuple[str, float], ...]:
    order = np.argsort(-np.abs(weights.to_numpy(dtype=float)), kind="stable")
    return tuple((str(weights.index[i]), float(weights.iloc[i])) for i in order)


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _first(refusal: Exception) -> str:
    text = str(refusal).strip().splitlines()[0] if str(refusal).strip() else type(refusal).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _names(moves: tuple[tuple[str, float], ...], at: str) -> str:
    shown = [f"{asset} {at}{100 * weight:.2f}%" for asset, weight in moves[:NAMES]]
    if len(moves) > NAMES:
        shown.append(f"{len(moves) - NAMES} more")
    return ", ".join(shown)


def _verb(moves: tuple[tuple[str, float], ...], one: str, many: str) -> str:
    return one if len(moves) == 1 else many
