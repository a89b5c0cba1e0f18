"""The Limits fields of hard floors and group relations.

A *floor* holds whatever happens: ``asset_floors`` (and the scores' ``floor_weight`` column)
put w_i ≥ l_i on an asset, which is then always held; ``min_bucket_allocation`` /
``bucket_floors`` (and the sector pair) put Σ_{i∈g} w_i ≥ l_g on a group. They differ from
``min_position_size`` and the ``min_weight_if_held`` column, which say "0 or at least"
(a position-count rule). ``group_relations`` are linear relations between group totals
(:mod:`portcon.limits.relations`). Declared apart from :class:`~portcon.limits.Limits`
(which inherits them) to keep its module short.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, field_serializer, model_validator

from portcon.limits.checks import FrozenMap, check_names
from portcon.limits.fields import GROUP_FLOORS, _caps_field, _field
from portcon.limits.relations import Relations, check_relations, split_relations
from portcon.limits.validated import CheckedModel

FLOOR_FIELDS = (
    "asset_floors",
    "min_bucket_allocation",
    "bucket_floors",
    "min_sector_allocation",
    "sector_floors",
)
"""The Limits fields that are hard floors (lowered to loosen them)."""


def _check_floors(floors: Mapping[str, float]) -> FrozenMap[str, float]:
    check_names(floors)
    for name, floor in floors.items():
        if not 0 <= floor <= 1:
            raise ValueError(f"floor for '{name}' must be in [0, 1], got {floor}")
    return FrozenMap(floors)


Floors = Annotated[Mapping[str, float], AfterValidator(_check_floors)]
RelationTexts = Annotated[
    tuple[str, ...], BeforeValidator(split_relations), AfterValidator(check_relations)
]


class FloorFields(CheckedModel):
    """The floor and relation fields of :class:`~portcon.limits.Limits` (not used alone)."""

    asset_floors: Floors = _caps_field(
        GROUP_FLOORS,
        "Hard floors by asset, e.g. {'AAPL': 0.02}: the asset is always held with at least "
        "this weight (unlike min_position_size, '0 or at least'). The scores' floor_weight "
        "column does the same per row; the larger floor applies.",
    )
    min_bucket_allocation: float | None = _field(
        None,
        GROUP_FLOORS,
        "Smallest total weight of every bucket in the scores (hard), in [0, 1].",
        ge=0,
        le=1,
    )
    bucket_floors: Floors = _caps_field(
        GROUP_FLOORS,
        "Per-bucket floors overriding min_bucket_allocation, e.g. {'Tech': 0.10} (hard).",
    )
    min_sector_allocation: float | None = _field(
        None,
        GROUP_FLOORS,
        "Smallest total weight of every sector in the scores (hard), in [0, 1].",
        ge=0,
        le=1,
    )
    sector_floors: Floors = _caps_field(
        GROUP_FLOORS,
        "Per-sector floors overriding min_sector_allocation, e.g. {'Energy': 0.05} (hard).",
    )
    group_relations: RelationTexts = _field(
        Relations(),
        GROUP_FLOORS,
        "Linear relations between bucket or sector totals, e.g. ['Tech <= 2 * Healthcare', "
        "'Energy + Materials >= 0.10', 'bucket:Value == sector:Energy']; on the command line "
        "separated by ';'. Quote names holding + - * < > = (bucket:'Tech [US]').",
    )

    @field_serializer("asset_floors", "bucket_floors", "sector_floors")
    def _serialize_floors(self, floors: Mapping[str, float]) -> dict[str, float]:
        return dict(floors)

    @field_serializer("group_relations")
    def _serialize_relations(self, relations: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(relations)

    @model_validator(mode="after")
    def _floors_below_caps(self) -> Any:
        check_floors_below_caps(self)
        return self


def check_floors_below_caps(limits: Any) -> None:
    """Each floor at most its cap, and the floors of one kind at most target_allocation.

    Raises ValueError (a LimitsError from Limits) naming the floor, the cap and the fix.
    """
    # with shorts, the longs floors require can be funded by shorts: no sum reaches a bound
    target = float("inf") if limits.allow_short else limits.target_allocation
    asset_cap = limits.max_single_position
    for name, floor in limits.asset_floors.items():
        if asset_cap is not None and floor > asset_cap:
            raise ValueError(
                f"asset_floors[{name}] = {floor:g} is above max_single_position {asset_cap:g}; "
                "lower the floor or raise the cap"
            )
    _sum_within_target("asset_floors", sum(limits.asset_floors.values()), target)
    for kind, every, named, cap_every, caps in (
        (
            "bucket",
            "min_bucket_allocation",
            "bucket_floors",
            "max_bucket_allocation",
            "bucket_caps",
        ),
        (
            "sector",
            "min_sector_allocation",
            "sector_floors",
            "max_sector_allocation",
            "sector_caps",
        ),
    ):
        floor_all, floors = getattr(limits, every), getattr(limits, named)
        cap_all, cap_named = getattr(limits, cap_every), getattr(limits, caps)
        if floor_all is not None and cap_all is not None and floor_all > cap_all:
            raise ValueError(
                f"{every} {floor_all:g} is above {cap_every} {cap_all:g}; no {kind} could "
                "meet both: lower the floor or raise the cap"
            )
        for name, floor in floors.items():
            cap = cap_named.get(name, cap_all)
            if cap is not None and floor > cap:
                source = f"{caps}[{name}]" if name in cap_named else cap_every
                raise ValueError(
                    f"{named}[{name}] = {floor:g} is above its cap {source} = {cap:g}; lower "
                    "the floor or raise the cap"
                )
        _sum_within_target(named, sum(floors.values()), target)


def _sum_within_target(field: str, total: float, target: float) -> None:
    if total > target + 1e-12:
        raise ValueError(
            f"the {field} sum to {total:g}, above target_allocation {target:g}: no portfolio "
            "can hold them all; lower some floors or raise target_allocation"
        )
