"""Group rules: bucket and sector allocation caps."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense
from portcon.constraints.keys import GroupKind, LimitKey


@dataclass(frozen=True, eq=False)
class GroupCap(Rule):
    """Σ_{i∈g} w_i ≤ cap_g for every capped group g of one kind (bucket or sector).

    Groups capped by the global field (``max_bucket_allocation``) and by a per-name override
    (``bucket_caps``) are separate blocks, so each reports against the field a user would
    change.

    Dual: objective decrease per unit (1.00 = 100%) of extra room in group g.
    """

    kind: GroupKind
    labels: np.ndarray
    global_field: str
    global_cap: float | None
    override_field: str
    overrides: dict[str, float]
    exempt: frozenset[int] = frozenset()  # members outside the cap (bucket overrides)

    def _capped(self) -> list[tuple[str, list[str]]]:
        return _capped(
            list(dict.fromkeys(self.labels)),
            self.global_field,
            self.global_cap,
            self.override_field,
            self.overrides,
        )

    def _bounds(self, field: str, groups: list[str]) -> np.ndarray:
        if field == self.global_field:
            return np.full(len(groups), float(self.global_cap or 0.0))
        return np.array([self.overrides[g] for g in groups], dtype=float)

    def _parameter(self, field: str) -> str:
        return f"{field}:{self.kind}"

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {
            self._parameter(field): self._bounds(field, groups)
            for field, groups in self._capped()
            if groups
        }

    def blocks(self) -> list[RowBlock]:
        """The rows of every capped group, one block per field (built once per layout and
        kept: between what-if scenarios the groups rarely change, only their caps)."""
        return list(
            _blocks(
                self.kind,
                tuple(self.labels.tolist()),
                self.global_field,
                bool(self.global_cap),
                self.override_field,
                frozenset(self.overrides),
                self.exempt,
            )
        )


def _capped(
    groups: list[str],
    global_field: str,
    global_cap: object,
    override_field: str,
    overrides: Collection[str],
) -> list[tuple[str, list[str]]]:
    """The groups each field caps, groups in order of first appearance."""
    plain = [g for g in groups if g not in overrides] if global_cap else []
    named = [g for g in groups if g in overrides]
    return [(global_field, plain), (override_field, named)]


@functools.lru_cache(maxsize=64)
def _blocks(
    kind: GroupKind,
    labels: tuple[str, ...],
    global_field: str,
    capped_globally: bool,
    override_field: str,
    overridden: frozenset[str],
    exempt: frozenset[int],
) -> tuple[RowBlock, ...]:
    blocks = []
    members = np.empty(len(labels), dtype=object)
    members[:] = labels
    groups = list(dict.fromkeys(labels))
    for field, capped in _capped(groups, global_field, capped_globally, override_field, overridden):
        if not capped:
            continue
        membership = np.array([members == g for g in capped], dtype=float)
        if exempt:
            membership[:, sorted(exempt)] = 0.0
        if field == global_field:
            derivatives = {LimitKey(field): np.ones(len(capped))}
        else:
            derivatives = {LimitKey(field, g): np.eye(len(capped))[k] for k, g in enumerate(capped)}
        blocks.append(
            RowBlock(
                rule=field,
                subjects=tuple(capped),
                sense=Sense.LE,
                coefficients=sp.csr_array(membership),
                parameter=f"{field}:{kind}",
                bound_derivatives=derivatives,
            )
        )
    return tuple(blocks)
