"""Forced inclusions: a floor w_i ≥ ℓ on each included asset, solved exactly by pinning.

portcon has no unconditional floor row, but it has pins (the ``fixed_weight`` column, an
equality row with its own price), and for a convex program a floor is a pin exactly where it
binds: if the optimum without the floor gives the asset less than ℓ, the optimum with it
gives exactly ℓ (the objective is convex along the segment between them). With several
floors the binding set is found as an active set: pin every included asset that falls below
its floor, release a pin whose price is positive (one more unit of it would *lower* the
objective, so the asset wants more than its floor), and repeat. The answer is then a KKT
point of the program with the floors — a pinned floor has the sign of a ``≥`` row's price,
every free included asset is at or above its floor — and it is one ordinary ``construct``
on the final inputs (the pins as a ``fixed_weight`` column).

ℓ is ``min_position_size`` when set (a held position is at least that large), else 0.01%.
An asset the thresholds exclude has no size of its own: included, it is pinned at ℓ (its pin
is never released, since releasing it would drop it again). On the count paths the pins
count as held positions and the other supports are searched around them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from portcon.portfolio import Portfolio
from portcon.scenarios.inputs import Inputs

INCLUDE_FLOOR = 1e-4  # without min_position_size: held means at least 0.01%
BELOW = 1e-9  # a weight this far under its floor breaks it
WANTS_MORE = 1e-9  # a pin's price above this: the asset would rather be larger

Construct = Callable[[Inputs], Portfolio]


def floor_of(inputs: Inputs) -> float:
    """ℓ: ``min_position_size`` when set, else :data:`INCLUDE_FLOOR`."""
    size = inputs.limits.min_position_size
    return float(size) if size else INCLUDE_FLOOR


def with_inclusions(
    inputs: Inputs, include: tuple[str, ...], construct: Construct
) -> tuple[Inputs, Portfolio]:
    """The inputs (with pins) and portfolio holding every ``include`` asset at ≥ its floor."""
    floor = floor_of(inputs)
    pinned: set[str] = set(_already_pinned(inputs, include))
    kept: set[str] = set(pinned)  # pins that are never released
    seen: set[frozenset[str]] = set()
    while True:
        current = _pinned(inputs, pinned - set(_already_pinned(inputs, include)), floor)
        portfolio = construct(current)
        seen.add(frozenset(pinned))
        weights = portfolio.weights
        below = [a for a in include if a not in pinned and weights[a] < floor - BELOW]
        if below:
            kept |= {a for a in below if _not_a_member(portfolio, a)}
            pinned |= set(below)
            continue
        prices = _pin_prices(portfolio, pinned - kept)
        wanting = prices[prices > WANTS_MORE]
        release = pinned - {str(wanting.idxmax())} if len(wanting) else None
        if release is None or frozenset(release) in seen:
            return current, portfolio
        pinned = release


def _already_pinned(inputs: Inputs, include: tuple[str, ...]) -> list[str]:
    """Included assets the inputs already pin (their own fixed_weight stands)."""
    column = inputs.scores.get("fixed_weight")
    if column is None:
        return []
    given = column.to_numpy(dtype=float)
    labels = inputs.scores.index.astype(str)
    return [a for a in include if np.any((labels == a) & ~np.isnan(given))]


def _pinned(inputs: Inputs, assets: set[str], floor: float) -> Inputs:
    if not assets:
        return inputs
    frame = inputs.scores.copy()
    labels = frame.index.astype(str)
    column = (
        frame["fixed_weight"].to_numpy(dtype=float, copy=True)
        if "fixed_weight" in frame
        else np.full(len(frame), np.nan)
    )
    column[np.isin(labels, sorted(assets))] = floor
    frame["fixed_weight"] = column
    return replace(inputs, scores=frame)


def _not_a_member(portfolio: Portfolio, asset: str) -> bool:
    """True when the asset is not a variable of the program (a threshold excludes it)."""
    return asset not in portfolio._report.program.assets


def _pin_prices(portfolio: Portfolio, assets: set[str]) -> pd.Series:
    """The price of each asset's fixed_weight row (decrease of the objective per unit more)."""
    table = portfolio.constraints
    rows = table[(table["rule"] == "fixed_weight") & table["subject"].isin(sorted(assets))]
    return pd.Series(rows["shadow_price"].to_numpy(dtype=float), index=rows["subject"].to_numpy())
