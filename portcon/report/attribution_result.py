"""`Attribution`: the optimal portfolio as a reference portfolio plus one portfolio per binding
constraint, with the same split of expected return, risk and the objective.

The numbers come from :mod:`portcon.report.attribution`; this module holds them, groups them
by constraint category and exports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from portcon.constraints.keys import group_kind

REFERENCE = "reference"
CONSTRAINT = "constraint"
OBJECTIVE_TERM = "objective term"
RESIDUAL = "residual"
RESIDUAL_LABEL = "residual (KKT round-off)"

CATEGORIES = {
    "target_allocation": "budget",
    "long_only": "long only",
    "max_single_position": "position caps",
    "max_weight": "position caps",
    "max_residual_per_asset": "position caps",
    "max_residual_multiple": "position caps",
    "max_portfolio_volatility": "risk limits",
    "min_expected_return": "risk limits",
    "max_turnover": "trading rules",
    "min_holding_days": "trading rules",
    "grace_decay_rate": "trading rules",
    "min_trade_size": "trading rules",
    "fixed_weight": "pins",
    "bucket_balance_tolerance": "bucket balance",
    "floor_weight": "floors",
    "asset_floors": "floors",
    "min_bucket_allocation": "floors",
    "bucket_floors": "floors",
    "min_sector_allocation": "floors",
    "sector_floors": "floors",
    "group_relations": "group relations",
    "max_short_position": "position caps",
    "max_short_weight": "position caps",
    "leverage_limit": "exposure limits",
    "min_net_exposure": "exposure limits",
}
"""Constraint category of each rule (group caps and count rows are found by kind instead)."""

TABLE_COLUMNS = [
    "kind",
    "category",
    "rule",
    "subject",
    "price",
    "added",
    "removed",
    "expected_return",
    "variance",
    "volatility",
    "objective",
]
NUMBERS = ["added", "removed", "expected_return", "variance", "volatility", "objective"]


def category(rule: str, parameter: str = "") -> str:
    """The category a constraint row belongs to (``position caps``, ``bucket caps``, …)."""
    if parameter.startswith("support."):
        return "counts"  # rows of a chosen support: what a position-count rule left out or floored
    kind = group_kind(rule)
    if kind is not None:
        return f"{kind} caps"
    return CATEGORIES.get(rule, "other")


@dataclass(frozen=True, eq=False)
class Attribution:
    """The optimal weights split exactly into a reference portfolio and one portfolio per
    binding constraint (Stubbs & Vandenbussche's constraint attribution, Axioma 2008).

    Attributes
    ----------
    holdings
        Rows: every asset of the universe, in input order; columns: the pieces, reference
        first, then each binding constraint (or each limit, at ``level="limit"``), any
        objective term treated as a constraint (trading costs), and last the residual. Each
        row sums to the asset's weight.
    table
        One row per piece (same labels): ``kind`` (reference, constraint, objective term,
        residual), ``category``, ``rule`` (the Limits field), ``subject``, ``price`` (the
        row's multiplier, or the limit's shadow price; NaN where none), ``added`` and
        ``removed`` (the sum of the piece's positive and negative holdings), and the piece's
        share of ``expected_return`` (μᵀp), ``variance`` (pᵀΣw, Euler), ``volatility``
        (pᵀΣw/σ) and ``objective`` (in the objective's unit: the reference's row is the
        objective of the reference portfolio, a constraint's row what it added to the
        minimised objective). Each numeric column sums to the portfolio's figure; the market
        columns are NaN without market data.
    implied_alpha
        Rows: assets; columns: the pieces. H·p for each piece p (H the objective's curvature):
        the marginal objective ("alpha") each piece stands for. With the unconstrained
        reference a constraint's column is minus its part of the KKT identity (its column in
        ``Portfolio.explanations``).
    reference
        ``"unconstrained"`` or ``"budget"``: what the first piece is.
    reference_meaning
        The first piece in words.
    objective_meaning
        What the ``objective`` column measures.
    note
        How far the numbers are to be trusted (a quadratic model of a non-quadratic
        objective, the chosen support of a mixed-integer answer, why nothing was derived).

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.Series({"A": 0.9, "B": 0.8, "C": 0.7})
    >>> limits = {"sizing_mode": "score_weighted", "max_single_position": 0.34}
    >>> portfolio = portcon.construct(scores, {**limits, "min_score_threshold": None})
    >>> attribution = portfolio.attribution(level="limit")
    >>> list(attribution.holdings.columns)
    ['budget only', 'max_single_position', 'residual (KKT round-off)']
    >>> attribution.holdings["budget only"].round(4).tolist()  # score shares × 95%
    [0.3562, 0.3167, 0.2771]
    >>> attribution.holdings["max_single_position"].round(4).tolist()  # A capped at 34%
    [-0.0162, 0.0087, 0.0076]
    >>> bool((attribution.holdings.sum(axis=1) - portfolio.weights).abs().max() < 1e-12)
    True
    """

    holdings: pd.DataFrame
    table: pd.DataFrame
    implied_alpha: pd.DataFrame
    reference: str
    reference_meaning: str
    objective_meaning: str
    note: str = ""
    level: str = "row"
    _empty: bool = field(default=False, repr=False)

    @classmethod
    def empty(cls, assets: pd.Index, reference: str, level: str, note: str) -> Attribution:
        """No piece (nothing was solved, or the decomposition is not defined)."""
        table = pd.DataFrame(columns=TABLE_COLUMNS).rename_axis("piece")
        frame = pd.DataFrame(index=assets)
        return cls(frame, table, frame.copy(), reference, "", "", note, level, _empty=True)

    def copy(self) -> Attribution:
        """A copy whose tables are copies too."""
        return replace(
            self,
            holdings=self.holdings.copy(),
            table=self.table.copy(),
            implied_alpha=self.implied_alpha.copy(),
        )

    @property
    def available(self) -> bool:
        """False when nothing was derived (``note`` says why)."""
        return not self._empty

    @property
    def constraints(self) -> pd.DataFrame:
        """The rows of :attr:`table` that are constraints or objective terms, largest
        objective cost first."""
        pieces = self.table[self.table["kind"].isin([CONSTRAINT, OBJECTIVE_TERM])]
        return pieces.sort_values("objective", ascending=False, kind="stable")

    def by_category(self) -> pd.DataFrame:
        """:attr:`table`'s numbers summed per category (the reference and residual are their
        own categories), in order of first appearance."""
        grouped = self.table.groupby("category", sort=False)[NUMBERS].sum(min_count=1)
        return grouped.rename_axis("category")

    def holdings_by_category(self) -> pd.DataFrame:
        """:attr:`holdings` summed per category: rows assets, columns categories."""
        categories = self.table["category"].reindex(self.holdings.columns)
        return self.holdings.T.groupby(categories.to_numpy(), sort=False).sum().T

    def to_dict(self, tolerance: float = 1e-12) -> dict[str, Any]:
        """JSON-safe: the table, by category, and each piece's holdings above ``tolerance``."""
        holdings = {
            str(piece): {
                str(asset): float(value)
                for asset, value in column.items()
                if abs(float(value)) > tolerance
            }
            for piece, column in self.holdings.items()
        }
        return {
            "reference": self.reference,
            "reference_meaning": self.reference_meaning,
            "objective_meaning": self.objective_meaning,
            "level": self.level,
            "note": self.note,
            "table": [_plain_row("piece", label, row) for label, row in self.table.iterrows()],
            "by_category": [
                _plain_row("category", label, row) for label, row in self.by_category().iterrows()
            ],
            "holdings": holdings,
        }


def _plain_row(name: str, label: object, row: pd.Series) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(label)}
    for key, value in row.items():
        if isinstance(value, float) and not math.isfinite(value):
            values[str(key)] = None
        elif hasattr(value, "item"):
            values[str(key)] = value.item()
        else:
            values[str(key)] = value
    return values
