"""Per-asset rules: long-only, the single-position cap, the residual caps of top-slice sizing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense, identity
from portcon.constraints.keys import LimitKey


@dataclass(frozen=True, eq=False)
class _PerAssetRule(Rule):
    """w_i <sense> bound_i for the named assets: all of the program's, or those at
    ``positions`` among ``size`` members."""

    assets: tuple[str, ...]
    bound: np.ndarray
    derivatives: Mapping[LimitKey, np.ndarray]
    positions: np.ndarray | None = None
    size: int | None = None
    limit = ""
    sense = Sense.LE

    def parameters(self) -> dict[str, float | np.ndarray]:
        return {self.limit: np.asarray(self.bound, dtype=float)}

    def _coefficients(self) -> sp.csr_array:
        if self.positions is None:
            return identity(len(self.assets))
        if self.size is None:
            raise ValueError(f"{type(self).__name__}: positions are given without size")
        rows = len(self.positions)
        return sp.csr_array(
            (np.ones(rows), (np.arange(rows), np.asarray(self.positions))), shape=(rows, self.size)
        )

    def blocks(self) -> list[RowBlock]:
        return [
            RowBlock(
                rule=self.limit,
                subjects=self.assets,
                sense=self.sense,
                coefficients=self._coefficients(),
                parameter=self.limit,
                bound_derivatives=self.derivatives,
            )
        ]


class LongOnly(_PerAssetRule):
    """w_i ≥ 0. Structural (not a Limits field).

    Dual: how much the objective would fall per unit of short position allowed.
    """

    limit = "long_only"
    sense = Sense.GE

    @classmethod
    def over(cls, assets: tuple[str, ...]) -> LongOnly:
        """Long-only rows for these assets."""
        return cls(assets=assets, bound=np.zeros(len(assets)), derivatives={})


class SinglePositionCap(_PerAssetRule):
    """w_i ≤ max_single_position.

    Dual: objective decrease per unit (1.00 = 100%) of extra room for asset i.
    """

    limit = "max_single_position"

    @classmethod
    def uniform(cls, assets: tuple[str, ...], cap: float) -> SinglePositionCap:
        """The same cap for every asset."""
        n = len(assets)
        return cls(
            assets=assets, bound=np.full(n, cap), derivatives={LimitKey(cls.limit): np.ones(n)}
        )


class AssetMaximum(_PerAssetRule):
    """w_i ≤ max_weight_i from the scores' ``max_weight`` column (where tighter than the cap).

    Not a Limits field: its rows have no sensitivity, only a shadow price per asset.
    """

    limit = "max_weight"


class ResidualPerAsset(_PerAssetRule):
    """Top-slice: w_i ≤ r_i + max_residual_per_asset, r_i the raw tiered size.

    Dual: objective decrease per unit of extra residual room for asset i.
    """

    limit = "max_residual_per_asset"


class ResidualMultiple(_PerAssetRule):
    """Top-slice: w_i ≤ (1 + max_residual_multiple) · r_i, r_i the raw tiered size.

    Dual: objective decrease per unit of bound; per unit of the multiple it is scaled by r_i.
    """

    limit = "max_residual_multiple"
