"""Rules of a held book: positions held exactly, and grace caps that shrink a position."""

from __future__ import annotations

from portcon.constraints.base import Sense
from portcon.constraints.positions import _PerAssetRule


class FixedWeight(_PerAssetRule):
    """w_i = fixed_weight_i from the scores' ``fixed_weight`` column (a hard pin).

    Not a Limits field: its rows have a shadow price per asset, no sensitivity.
    Dual: what one more unit of the pinned weight would lower the objective by.
    """

    limit = "fixed_weight"
    sense = Sense.EQ


class MinimumHolding(_PerAssetRule):
    """w_i = current_i for positions held fewer than ``min_holding_days`` days.

    Dual: what one more unit of the frozen weight would lower the objective by.
    """

    limit = "min_holding_days"
    sense = Sense.EQ


class GraceCap(_PerAssetRule):
    """w_i ≤ current_i × grace_decay_rate for a held position in its grace period (× 1 on its
    first day below the keep threshold).

    Dual: objective decrease per unit of extra room for the asset; per unit of
    grace_decay_rate it is scaled by the current weight.
    """

    limit = "grace_decay_rate"
