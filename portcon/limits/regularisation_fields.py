"""The Limits fields of regularisation: L2 and L1 penalties added to the sizing objective.

``l2_regularization`` λ₂ adds λ₂ Σ (w_i − t_i)² with t from ``l2_target`` (equal weight or the
current book); ``l1_regularization`` λ₁ adds λ₁ Σ |w_i|. Both are in the units of the sizing
objective they are added to (``Portfolio.objective_meaning``). Declared apart from
:class:`~portcon.limits.Limits` (which inherits them) to keep its module short.
"""

from __future__ import annotations

from enum import StrEnum

from portcon.limits.fields import GROUP_REGULARISATION, _field
from portcon.limits.validated import CheckedModel


class L2Target(StrEnum):
    """What the L2 penalty shrinks the weights towards."""

    EQUAL = "equal"
    CURRENT = "current"


class RegularisationFields(CheckedModel):
    """The regularisation fields of :class:`~portcon.limits.Limits` (not used alone)."""

    l2_regularization: float = _field(
        0.0,
        GROUP_REGULARISATION,
        "λ₂ ≥ 0: adds λ₂ Σ (w_i − t_i)² to the sizing objective (in its units), shrinking the "
        "weights towards l2_target. With a fixed budget, shrinking towards equal weight is "
        "PyPortfolioOpt's L2_reg γ‖w‖² with λ₂ = γ for mean_variance and λ₂ = γ/2 for "
        "min_variance (portcon minimises ½wᵀΣw).",
        ge=0,
    )
    l2_target: L2Target = _field(
        L2Target.EQUAL,
        GROUP_REGULARISATION,
        "What l2_regularization shrinks towards: equal (target_allocation / n for each of the "
        "n eligible assets) or current (the current book; needs current weights).",
    )
    l1_regularization: float = _field(
        0.0,
        GROUP_REGULARISATION,
        "λ₁ ≥ 0: adds λ₁ Σ |w_i| to the sizing objective (in its units). With a fixed long-only "
        "budget Σ|w| is constant and the term changes nothing; it shrinks long-short books "
        "(a price on gross exposure) and objectives that may keep cash (kelly).",
        ge=0,
    )
