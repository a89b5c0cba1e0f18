"""The current book given apart from the scores: ``construct(scores, limits, current=...)``."""

from __future__ import annotations

import pandas as pd

from portcon._text import listing
from portcon.errors import InputError

STATE = ("current_weight", "days_held", "days_below_threshold")


def merge_current(
    scores: pd.Series | pd.DataFrame, current: pd.Series | pd.DataFrame
) -> pd.DataFrame:
    """Scores with the current book's columns joined on asset.

    ``current`` is a Series asset → current weight, or a DataFrame indexed by asset with a
    ``current_weight`` column and optional ``days_held`` and ``days_below_threshold``. Assets
    not in ``current`` are not held (weight 0, 0 days).

    Raises
    ------
    InputError
        When a held asset is missing from the scores (it would be closed silently otherwise),
        or the scores already carry the columns.
    """
    frame = scores.rename("score").to_frame() if isinstance(scores, pd.Series) else scores.copy()
    if isinstance(current, pd.Series):
        current = current.rename("current_weight").to_frame()
    if not isinstance(current, pd.DataFrame) or "current_weight" not in current.columns:
        raise InputError(
            "current must be a Series asset → weight, or a DataFrame indexed by asset with a "
            "'current_weight' column"
        )
    unknown = [c for c in current.columns if c not in STATE]
    if unknown:
        raise InputError(
            f"current: unknown column(s) {listing(unknown)}; expected {listing(STATE)}"
        )
    clash = [c for c in current.columns if c in frame.columns]
    if clash:
        raise InputError(
            f"current and the scores both give {listing(clash)}; give each column once"
        )
    weights = pd.to_numeric(current["current_weight"], errors="coerce").fillna(0)
    held = current.index[weights != 0]  # long or short
    missing = held.difference(frame.index)
    if len(missing):
        raise InputError(
            f"held asset(s) {listing(missing)} have no score; score them (a held position is "
            "re-scored, never closed silently) or sell them outside portcon"
        )
    joined = frame.join(current, how="left")
    return joined.fillna({column: 0 for column in current.columns})
