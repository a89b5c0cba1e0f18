"""Typed names of what a constraint row belongs to: a Limits field, or one group's entry of it.

A per-group limit such as ``bucket_caps`` is keyed by ``LimitKey("bucket_caps", "Tech [US]")``
and only *printed* as ``bucket_caps[Tech [US]]``; nothing parses that text back, so any group
name (brackets, commas, quotes, newlines) is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portcon.limits import Limits


class GroupKind(StrEnum):
    """The asset groupings a limit can cap: the ``bucket`` and ``sector`` columns.

    Examples
    --------
    >>> import portcon
    >>> [kind.value for kind in portcon.GroupKind]
    ['bucket', 'sector']
    """

    BUCKET = "bucket"
    SECTOR = "sector"


@dataclass(frozen=True)
class GroupFields:
    """The two Limits fields that cap one kind of group: one cap for all, and caps by name."""

    kind: GroupKind
    every: str
    named: str


GROUP_FIELDS: tuple[GroupFields, ...] = (
    GroupFields(GroupKind.BUCKET, "max_bucket_allocation", "bucket_caps"),
    GroupFields(GroupKind.SECTOR, "max_sector_allocation", "sector_caps"),
)
"""The one table of group-cap fields (the rules, the report and the diagnosis all read it)."""


def group_caps(limits: Limits, kind: GroupKind) -> tuple[float | None, dict[str, float]]:
    """The cap for every group of ``kind`` (None: off) and the caps by group name."""
    if kind is GroupKind.BUCKET:
        return limits.max_bucket_allocation, dict(limits.bucket_caps)
    return limits.max_sector_allocation, dict(limits.sector_caps)


def group_fields(kind: GroupKind) -> GroupFields:
    """The Limits fields that cap groups of ``kind``."""
    return next(fields for fields in GROUP_FIELDS if fields.kind is kind)


def group_kind(field: str) -> GroupKind | None:
    """The kind of group a Limits field caps, or None when it is not a group cap."""
    for fields in GROUP_FIELDS:
        if field in (fields.every, fields.named):
            return fields.kind
    return None


@dataclass(frozen=True, order=True)
class LimitKey:
    """A Limits field, or the entry of a per-name field (``bucket_caps``) for one name.

    Attributes
    ----------
    field
        The Limits field (or a structural rule name such as ``long_only``).
    name
        The group or asset the entry is for; None for a field with one value.

    Examples
    --------
    >>> import portcon
    >>> key = portcon.LimitKey("bucket_caps", "Tech")
    >>> str(key), key.field, key.name
    ('bucket_caps[Tech]', 'bucket_caps', 'Tech')
    """

    field: str
    name: str | None = None

    def __str__(self) -> str:
        return self.field if self.name is None else f"{self.field}[{self.name}]"

    def value(self, limits: Limits) -> float | None:
        """The field's current value in ``limits`` (None when the limit is off)."""
        value = getattr(limits, self.field, None)
        if self.name is not None:
            value = value.get(self.name) if value is not None else None
        return None if value is None else float(value)

    def moved_to(self, limits: Limits, value: float) -> dict[str, object]:
        """The ``Limits.replace`` arguments that set this key to ``value``."""
        if self.name is None:
            return {self.field: value}
        return {self.field: {**dict(getattr(limits, self.field)), self.name: value}}
