"""The Limits fields of long-short books: shorts, gross exposure (leverage) and net exposure.

Without shorts the net exposure Σw is the invested weight and ``target_allocation`` is both.
With ``allow_short`` the weights may be negative: ``target_allocation`` stays the *net*
exposure the budget row targets (long − short; 1.0 for 130/30, 0.0 for market neutral, then
allowed in [−1, 1]), ``leverage_limit`` caps the *gross* exposure Σ|w| (long + short: 1.6 for
130/30) and ``min_net_exposure`` turns the net target into a range the objective chooses in.
Declared apart from :class:`~portcon.limits.Limits` (which inherits them) to keep its module
short.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from portcon.limits.enums import SizingMode
from portcon.limits.fields import GROUP_EXPOSURE, _field
from portcon.limits.validated import CheckedModel

LEVERAGE_MAX = 10.0  # gross exposure beyond 10× the portfolio is a typo, not a mandate
SHORT_MODES = (
    SizingMode.MIN_VARIANCE,
    SizingMode.MEAN_VARIANCE,
    SizingMode.MAX_SHARPE,
    SizingMode.KELLY,
    SizingMode.KELLY_EXACT,
    SizingMode.MIN_TRACKING_ERROR,
    SizingMode.ACTIVE_MEAN_VARIANCE,
)
"""The sizing modes that can price a short position (by risk or expected return)."""

EXPOSURE_FIELDS = ("max_short_position", "leverage_limit", "min_net_exposure")
"""The numeric exposure fields (the ones a shadow price or a repair can name)."""


class ExposureFields(CheckedModel):
    """The long-short fields of :class:`~portcon.limits.Limits` (not used alone)."""

    allow_short: bool = _field(
        False,
        GROUP_EXPOSURE,
        "Allow short positions (negative weights) for every eligible asset, each down to "
        "-max_short_position; the scores' max_short_weight column decides per asset where it "
        "has a value. Needs a sizing mode that prices a short: "
        + ", ".join(str(mode) for mode in SHORT_MODES)
        + ".",
    )
    max_short_position: float | None = _field(
        None,
        GROUP_EXPOSURE,
        "Largest short position of any one asset, as a positive fraction (0.05: down to "
        "-5%), in (0, 1]; needs allow_short. None: no per-asset short cap.",
        gt=0,
        le=1,
    )
    leverage_limit: float | None = _field(
        None,
        GROUP_EXPOSURE,
        "Largest gross exposure Σ|w| (long + short), e.g. 1.6 for 130/30, 2.0 for a 100/100 "
        f"market-neutral book, in (0, {LEVERAGE_MAX:g}]. Long-only it caps the invested weight.",
        gt=0,
        le=LEVERAGE_MAX,
    )
    min_net_exposure: float | None = _field(
        None,
        GROUP_EXPOSURE,
        "With it, the net exposure Σw (long − short) may lie anywhere from this up to "
        "target_allocation, chosen by the sizing objective (the rest is cash by choice); "
        "without it the net exposure is target_allocation less any rollover. In [-1, 1]; "
        "below 0 needs allow_short.",
        ge=-1,
        le=1,
    )

    @model_validator(mode="after")
    def _check_exposure(self) -> Any:
        check_exposure_fields(self)
        return self


def check_exposure_fields(limits: Any) -> None:
    """Exposure fields that contradict each other or the sizing mode (ValueError).

    Raises ValueError (a LimitsError from Limits) naming the fields and the fix.
    """
    target = limits.target_allocation
    if not limits.allow_short:
        for field, value, bad in (
            ("target_allocation", target, target <= 0),
            ("min_net_exposure", limits.min_net_exposure, (limits.min_net_exposure or 0) < 0),
        ):
            if bad:
                raise ValueError(
                    f"{field} = {value:g} needs allow_short = true: a long-only book's net "
                    "exposure is its invested weight, in (0, 1]"
                )
        if limits.max_short_position is not None:
            raise ValueError(
                "max_short_position is set but allow_short is false; set allow_short = true "
                "(or allow shorts per asset with the scores' max_short_weight column)"
            )
    if limits.allow_short and limits.sizing_mode not in SHORT_MODES:
        raise ValueError(short_mode_message(limits.sizing_mode, "allow_short = true"))
    low = limits.min_net_exposure
    if low is not None and low > target:
        raise ValueError(
            f"min_net_exposure {low:g} is above target_allocation {target:g} (the most net "
            "exposure); lower it or raise target_allocation"
        )
    if limits.sizing_mode == SizingMode.MAX_SHARPE and (target <= 0 or low is not None):
        raise ValueError(
            "max_sharpe needs a positive, fixed net exposure (target_allocation > 0 and no "
            "min_net_exposure): every multiple of a zero-net or free-net portfolio has the same "
            "Sharpe ratio, so the answer would have no size; use mean_variance"
        )


def short_mode_message(mode: SizingMode, source: str) -> str:
    """Why ``mode`` cannot hold shorts, and what to use instead."""
    modes = ", ".join(str(m) for m in SHORT_MODES)
    return (
        f"{source} allows short positions, but sizing_mode '{mode}' sizes positions as shares "
        f"of positive scores (or risk budgets) and has no way to price a short; use {modes}. "
        "To short low scores, use mean_variance with expected_return_estimator = 'scores' "
        "(scores below the average get negative expected returns) and a min_score_threshold "
        "that keeps them eligible"
    )
