"""How a Limits field is declared: its group (for TOML, the CLI help) and its bounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo

MIP_TIME_LIMIT_MAX = 86_400.0  # one day: longer searches are a typo, not a plan
COUNT_MAX = 10**9
GROUP_SIZING = "Sizing"
GROUP_ALLOCATION = "Allocation and positions"
GROUP_GROUPS = "Buckets and sectors"
GROUP_FLOORS = "Floors and group relations (hard)"
GROUP_EXPOSURE = "Long-short and leverage"
GROUP_BENCHMARK = "Benchmark-relative (active weights)"
GROUP_REGULARISATION = "Regularisation"
GROUP_RESIDUAL = "Residual (what raw sizes leave)"
GROUP_RISK = "Risk and return"
GROUP_COUNTS = "Position counts (mixed-integer)"
GROUP_REBALANCE = "Rebalancing a held book"
GROUP_DIVERSIFICATION = "Diversification and market context"
GROUP_ORDER = (
    GROUP_SIZING,
    GROUP_ALLOCATION,
    GROUP_GROUPS,
    GROUP_FLOORS,
    GROUP_EXPOSURE,
    GROUP_BENCHMARK,
    GROUP_RESIDUAL,
    GROUP_RISK,
    GROUP_REGULARISATION,
    GROUP_COUNTS,
    GROUP_REBALANCE,
    GROUP_DIVERSIFICATION,
)


def group_of(info: FieldInfo) -> str:
    """The group a Limits field is declared in ("Other" when it names none)."""
    extra = info.json_schema_extra  # a dict for every Limits field (pydantic allows a callable)
    return str(extra.get("group", "Other")) if isinstance(extra, dict) else "Other"


def in_group_order(fields: Mapping[str, FieldInfo]) -> list[tuple[str, FieldInfo]]:
    """Fields sorted by group (in GROUP_ORDER, unknown groups last), declaration order within."""
    rank = {group: position for position, group in enumerate(GROUP_ORDER)}
    return sorted(fields.items(), key=lambda item: rank.get(group_of(item[1]), len(rank)))


def _field(default: Any, group: str, description: str, **kwargs: Any) -> Any:
    return Field(default, description=description, json_schema_extra={"group": group}, **kwargs)


def _caps_field(group: str, description: str) -> Any:
    return Field(
        default_factory=dict,
        validate_default=True,
        description=description,
        json_schema_extra={"group": group},
    )
