"""Group rules: bucket and sector allocation caps."""

from __future__ import annotations

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
        groups = list(dict.fromkeys(self.labels))
        plain = [g for g in groups if g not in self.overrides] if self.global_cap else []
        named = [g for g in groups if g in self.overrides]
        return [(self.global_field, plain), (self.override_field, named)]

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
        blocks = []
        for field, groups in self._capped():
            if not groups:
                continue
            membership = np.array([self.labels == g for g in groups], dtype=float)
            if self.exempt:
                membership[:, sorted(self.exempt)] = 0.0
            if field == self.global_field:
                derivatives = {LimitKey(field): np.ones(len(groups))}
            else:
                derivatives = {
                    LimitKey(field, g): np.eye(len(groups))[k] for k, g in enumerate(groups)
                }
            blocks.append(
                RowBlock(
                    rule=field,
                    subjects=tuple(groups),
                    sense=Sense.LE,
                    coefficients=sp.csr_array(membership),
                    parameter=self._parameter(field),
                    bound_derivatives=derivatives,
                )
            )
        return blocks
