"""Shadow prices against one-sided finite differences of the optimal value (tests only)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import portcon

STEP = 1e-5
RELATIVE = 1e-3
ABSOLUTE = 1e-6
KINK_JUMP = 1e-2  # one-sided slopes further apart than this: a kink, not curvature


def moved(limits: dict, field: str, step: float) -> dict:
    """``limits`` with one field (``bucket_caps[X]`` style allowed) moved by ``step``."""
    if "[" in field:
        name, key = field.rstrip("]").split("[", 1)
        return {**limits, name: {**limits[name], key: limits[name][key] + step}}
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
    for field, row in portfolio.sensitivity().iterrows():
        price = row["shadow_price"]
        up = objective_with(moved(limits, field, STEP))
        down = objective_with(moved(limits, field, -STEP))
        right = -(up - portfolio.objective) / STEP
        left = -(portfolio.objective - down) / STEP
        tolerance = RELATIVE * abs(price) + ABSOLUTE
        if abs(right - left) <= KINK_JUMP * (1 + abs(price)):
            assert (left + right) / 2 == pytest.approx(price, abs=tolerance), field
            smooth += 1
        else:
            assert min(left, right) - tolerance <= price <= max(left, right) + tolerance, field
    return smooth
