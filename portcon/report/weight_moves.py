"""`WeightSensitivity`: how every weight and cash move per unit of each limit, in frames
and in words.

The numbers come from :mod:`portcon.report.weight_sensitivity` (implicit differentiation of
the KKT system at the answer's active set); this module only holds and phrases them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portcon._text import FRACTION_FIELDS

TINY = 1e-6  # moves below this fraction of the step are not mentioned
AT_ONCE = 1e-9  # a range this short ends at once (a kink)


@dataclass(frozen=True, eq=False)
class WeightSensitivity:
    """How every weight and cash move per unit increase of each limit, and for how long.

    Attributes
    ----------
    weights
        Rows: every asset, then the cash row (``Portfolio.cash_label``); columns: limit labels
        as in :meth:`Portfolio.sensitivity` (``bucket_caps[Tech]``). Entry: d weight / d limit
        (1.00 = one unit of the limit; fractions per fraction). NaN where not derived.
    ranges
        One row per limit label: ``field``, ``group``, ``value``, ``binding`` (the limit moves
        a row of the active set), ``up`` and ``down`` (how far the limit may rise or fall, in
        its own units, before the active set changes; 0 at a kink, inf when nothing ends it),
        ``ends_up`` and ``ends_down`` (the row that ends the range).
    note
        How far the answer is to be trusted (the chosen support, an unsupported objective).
    """

    weights: pd.DataFrame
    ranges: pd.DataFrame
    note: str = ""

    @classmethod
    def empty(cls, rows: pd.Index, note: str) -> WeightSensitivity:
        """No limit, no derivative (nothing was solved)."""
        columns = ["field", "group", "value", "binding", "up", "down", "ends_up", "ends_down"]
        ranges = pd.DataFrame(columns=columns).rename_axis("limit")
        return cls(pd.DataFrame(index=rows), ranges, note)

    def sentence(self, label: str, largest: int = 4) -> str:
        """What raising one limit does, in words ("raising bucket_caps[Intl] by 1pp would add
        0.50pp to EEM and 0.50pp to INDA, taken from cash (…)")."""
        row = self.ranges.loc[label]
        field = str(row["field"])
        fraction = field in FRACTION_FIELDS or field.endswith("_caps")
        step, by = (0.01, "1pp") if fraction else (1.0, "1")
        moves = self.weights[label]
        if moves.isna().any():
            return f"raising {label}: the weights' derivative is not available ({self.note})"
        cash = float(moves.iloc[-1]) * step
        assets = moves.iloc[:-1] * step
        assets = assets[assets.abs() > TINY * step]
        text = f"raising {label} by {by} would " + _moves(assets, largest)
        if abs(cash) > TINY * step:
            text += ", taken from cash" if cash < 0 else f", {_pp(cash)} into cash"
        reach = float(self.ranges["up"].to_numpy(dtype=float)[self.ranges.index.get_loc(label)])
        if reach <= AT_ONCE:
            text += f" — at the margin only: {row['ends_up'] or 'the active set'} changes at once"
        elif np.isfinite(reach):
            text += f" (until {_amount(reach, fraction)} higher: {row['ends_up']})"
        return f"{text}; {self.note}" if self.note else text

    def sentences(self) -> pd.Series:
        """:meth:`sentence` for every binding limit, indexed by its label."""
        labels = [label for label in self.ranges.index if self.ranges.loc[label, "binding"]]
        return pd.Series([self.sentence(label) for label in labels], index=labels, dtype=object)


def _largest(moves: pd.Series, count: int) -> list[tuple[object, float]]:
    order = moves.abs().sort_values(ascending=False, kind="stable").index[:count]
    return [(asset, float(moves[asset])) for asset in order]


def _pp(change: float) -> str:
    return f"{100 * abs(change):.2f}pp"


def _amount(value: float, fraction: bool) -> str:
    return f"{100 * value:.2f}pp" if fraction else f"{value:.3g}"


def _moves(assets: pd.Series, largest: int) -> str:
    """ "add 0.50pp to EEM and 0.50pp to INDA and take 1.00pp from SPY" (the largest first)."""
    if assets.empty:
        return "change no weight"
    shown = _largest(assets, largest)
    adds = [f"{_pp(change)} to {asset}" for asset, change in shown if change > 0]
    takes = [f"{_pp(change)} from {asset}" for asset, change in shown if change < 0]
    phrases = [f"add {_join(adds)}"] if adds else []
    phrases += [f"take {_join(takes)}"] if takes else []
    text = " and ".join(phrases)
    hidden = len(assets) - len(shown)
    return f"{text} (and move {hidden} more)" if hidden else text


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
