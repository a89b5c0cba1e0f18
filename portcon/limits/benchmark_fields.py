"""The Limits fields of benchmark-relative books: tracking error and active-weight bounds.

With a ``benchmark_weight`` column b in the scores, the active weights are a = w − b (an
asset outside the book has a = −b). ``max_tracking_error`` caps the ex-ante tracking error
√(aᵀΣa), a second-order cone on the risk model; ``max_active_weight`` bounds every |a_i|;
``max_active_bucket_allocation`` / ``active_bucket_caps`` (and the sector pair) bound the net
active weight |Σ_{i∈g} a_i| of each group, mirroring ``max_bucket_allocation`` /
``bucket_caps``. Declared apart from :class:`~portcon.limits.Limits` (which inherits them)
to keep its module short.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, field_serializer

from portcon.limits.checks import FrozenMap, check_names
from portcon.limits.fields import GROUP_BENCHMARK, _caps_field, _field
from portcon.limits.validated import CheckedModel

BENCHMARK_FIELDS = (
    "max_tracking_error",
    "max_active_weight",
    "max_active_bucket_allocation",
    "active_bucket_caps",
    "max_active_sector_allocation",
    "active_sector_caps",
)
"""The Limits fields that need a ``benchmark_weight`` column (all loosen upwards)."""


def _check_active_caps(caps: Mapping[str, float]) -> FrozenMap[str, float]:
    check_names(caps)
    for name, cap in caps.items():
        if not 0 < cap <= 1:
            raise ValueError(f"active cap for '{name}' must be in (0, 1], got {cap}")
    return FrozenMap(caps)


ActiveCaps = Annotated[Mapping[str, float], AfterValidator(_check_active_caps)]


class BenchmarkFields(CheckedModel):
    """The benchmark-relative fields of :class:`~portcon.limits.Limits` (not used alone)."""

    max_tracking_error: float | None = _field(
        None,
        GROUP_BENCHMARK,
        "Largest ex-ante tracking error √((w−b)ᵀΣ(w−b)) against the scores' benchmark_weight "
        "column b, annualised like the risk model (0.02 = 2% a year); needs risk data.",
        gt=0,
    )
    max_active_weight: float | None = _field(
        None,
        GROUP_BENCHMARK,
        "Largest |w_i − b_i| of any asset against its benchmark weight, in (0, 1].",
        gt=0,
        le=1,
    )
    max_active_bucket_allocation: float | None = _field(
        None,
        GROUP_BENCHMARK,
        "Largest |Σ_{i∈bucket}(w_i − b_i)|, the net active weight of any bucket, in (0, 1].",
        gt=0,
        le=1,
    )
    active_bucket_caps: ActiveCaps = _caps_field(
        GROUP_BENCHMARK,
        "Per-bucket active caps overriding max_active_bucket_allocation, e.g. {'Tech': 0.03}.",
    )
    max_active_sector_allocation: float | None = _field(
        None,
        GROUP_BENCHMARK,
        "Largest |Σ_{i∈sector}(w_i − b_i)|, the net active weight of any sector, in (0, 1].",
        gt=0,
        le=1,
    )
    active_sector_caps: ActiveCaps = _caps_field(
        GROUP_BENCHMARK,
        "Per-sector active caps overriding max_active_sector_allocation, e.g. {'Energy': 0.02}.",
    )

    @field_serializer("active_bucket_caps", "active_sector_caps")
    def _serialize_active_caps(self, caps: Mapping[str, float]) -> dict[str, float]:
        return dict(caps)
