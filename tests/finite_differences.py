"""Shadow prices against one-sided finite differences of the optimal value (tests only)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import portcon

STEP = 1e-5
RELATIVE = 1e-3
ABSOLUTE = 1e-6
KINK_JUMP = 1e-2  # one-sided slopes further apart than this: a kink, not curvature


def moved(limits: dict, field: str, group: str | None, step: float) -> dict:
    """``limits`` with one field, or one group's entry of a per-group field, moved by ``step``."""
    if group is not None:
        return {**limits, field: {**limits[field], group: limits[field][group] + step}}
    return {**limits, field: portcon.Limits(**limits).model_dump()[field] + step}


def check_shadow_prices(
    portfolio: portcon.Portfolio, limits: dict, objective_with: Callable[[dict], float]
) -> int:
    """Assert every reported shadow price against finite differences; return how many were smooth.

    Where the optimum is differentiable in a field (the two one-sided slopes agree to within
    the kink threshold) the central difference must equal the price to 1e-3 relative; at a
    kink the price must lie between the one-sided slopes (a subgradient).
    """
    smooth = 0
    for label, row in portfolio.sensitivity().iterrows():
        field, group, price = row["field"], row["group"], row["shadow_price"]
        up = objective_with(moved(limits, field, group, STEP))
        down = objective_with(moved(limits, field, group, -STEP))
        right = -(up - portfolio.objective) / STEP
        left = -(portfolio.objective - down) / STEP
        tolerance = RELATIVE * abs(price) + ABSOLUTE
        if abs(right - left) <= KINK_JUMP * (1 + abs(price)):
            assert (left + right) / 2 == pytest.approx(price, abs=tolerance), label
            smooth += 1
        else:
            assert min(left, right) - tolerance <= price <= max(left, right) + tolerance, label
    return smooth
