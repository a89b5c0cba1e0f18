"""How a Limits field is declared: its group (for TOML, the CLI help) and its bounds."""

from __future__ import annotations

from typing import Any

from pydantic import Field

MIP_TIME_LIMIT_MAX = 86_400.0  # one day: longer searches are a typo, not a plan
COUNT_MAX = 10**9
GROUP_SIZING = "Sizing"
GROUP_ALLOCATION = "Allocation and positions"
GROUP_GROUPS = "Buckets and sectors"
GROUP_RESIDUAL = "Residual (tiered sizing)"
GROUP_RISK = "Risk and return"
GROUP_COUNTS = "Position counts (mixed-integer)"
GROUP_REBALANCE = "Rebalancing a held book"


def _field(default: Any, group: str, description: str, **kwargs: Any) -> Any:
    return Field(default, description=description, json_schema_extra={"group": group}, **kwargs)


def _caps_field(group: str, description: str) -> Any:
    return Field(
        default_factory=dict,
        validate_default=True,
        description=description,
        json_schema_extra={"group": group},
    )
