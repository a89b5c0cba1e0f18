"""The rebalancer's input rules applied to the scores before validation, each with a note.

- an asset with no bucket goes to the ``Unknown`` bucket (the seed's graceful degradation);
- ``score_decay_factor``: a held position's score × factor^days_held (ageing names).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.limits import Limits

UNKNOWN_BUCKET = "Unknown"


def fill_unknown_buckets(
    scores: pd.Series | pd.DataFrame,
) -> tuple[pd.Series | pd.DataFrame, tuple[str, ...]]:
    """Missing or blank buckets become ``Unknown``, with a note naming the assets."""
    if not isinstance(scores, pd.DataFrame) or "bucket" not in scores.columns:
        return scores, ()
    column = scores["bucket"]
    if isinstance(column, pd.DataFrame):  # duplicated column: the universe says so
        return scores, ()
    blank = column.isna() | column.map(lambda v: isinstance(v, str) and not v.strip())
    if not blank.any():
        return scores, ()
    filled = scores.copy()
    filled["bucket"] = column.astype(object).where(~blank, UNKNOWN_BUCKET)
    assets = listing(str(a) for a in scores.index[blank.to_numpy()])
    return filled, (f"no bucket for {assets}: put in the '{UNKNOWN_BUCKET}' bucket",)


def age_scores(
    scores: pd.Series | pd.DataFrame, limits: Limits
) -> tuple[pd.Series | pd.DataFrame, tuple[str, ...]]:
    """Scores × score_decay_factor^days_held where days_held > 0, with a note."""
    factor = limits.score_decay_factor
    if factor is None or factor == 1:
        return scores, ()
    if not isinstance(scores, pd.DataFrame) or "days_held" not in scores.columns:
        return scores, (
            f"score_decay_factor {factor:g}: no days_held column, so no score was aged",
        )
    days = pd.to_numeric(scores["days_held"], errors="coerce")
    score = pd.to_numeric(scores["score"], errors="coerce")
    ageing = (days > 0) & days.notna() & score.notna() & np.isfinite(days)
    if not ageing.any():
        return scores, ()
    aged = scores.copy()
    aged["score"] = score.where(~ageing, score * factor ** days.where(ageing, 0.0))
    return aged, (
        f"score_decay_factor {factor:g}: {int(ageing.sum())} held score(s) aged by "
        f"{factor:g}^days_held",
    )
