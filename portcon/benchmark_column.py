"""The scores' ``benchmark_weight`` column: the weight of each asset in the benchmark.

A blank cell (or an asset without a row in the column) is 0: not in the benchmark. Weights are
fractions of the portfolio in [0, 1]. The column is used as given, never rescaled: a benchmark
summing to less than 1 holds the rest in cash (a riskless position, as the portfolio's own
cash), so a scores file listing part of an index compares the book with that part at its index
weights. A benchmark summing above 1 (beyond rounding) is refused: it is a unit error (percent
instead of fractions) or a list of overlapping indices, and rescaling it silently would change
every active weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portcon._text import listing
from portcon.errors import InputError

BENCHMARK = "benchmark_weight"
SUM_TOLERANCE = 1e-6  # index files round their weights; a sum this far above 1 is rounding


def benchmark_column(values: np.ndarray | None, assets: pd.Index) -> np.ndarray | None:
    """The parsed ``benchmark_weight`` column checked, with blanks read as 0.

    Parameters
    ----------
    values
        The column as floats, NaN where a cell is blank; None without the column.
    assets
        The asset labels, for the messages.

    Returns
    -------
    numpy.ndarray or None
        The benchmark weight per asset (0 where blank), or None without the column.

    Raises
    ------
    InputError
        Naming the assets whose weight is infinite or outside [0, 1], or when the weights sum
        above 1 or to 0.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> benchmark_column(np.array([0.6, np.nan, 0.3]), pd.Index(["A", "B", "C"]))
    array([0.6, 0. , 0.3])
    """
    if values is None:
        return None
    weights = np.where(np.isnan(values), 0.0, values)
    infinite = assets[~np.isfinite(weights)]
    if len(infinite):
        raise InputError(
            f"column '{BENCHMARK}': infinite weight for {listing(infinite)}; give a fraction "
            "in [0, 1] or leave the cell blank (not in the benchmark)"
        )
    wrong = (weights < 0) | (weights > 1)
    if wrong.any():
        shown = listing(f"{a}={w:g}" for a, w in zip(assets[wrong], weights[wrong], strict=True))
        raise InputError(
            f"column '{BENCHMARK}': weights are fractions in [0, 1] (blank: not in the "
            f"benchmark); out of range: {shown}"
        )
    total = float(weights.sum())
    if total > 1 + SUM_TOLERANCE:
        hint = " (percentages? divide by 100)" if total > 1.5 else ""
        raise InputError(
            f"column '{BENCHMARK}': weights sum to {total:.6f} > 1{hint}; a benchmark is a "
            "portfolio, its weights fractions summing to at most 1 (the rest is its cash). "
            "To benchmark against a rescaled index, divide the column by its sum"
        )
    if total <= 0:
        raise InputError(
            f"column '{BENCHMARK}': every weight is 0 or blank; give the benchmark's weights "
            "or drop the column"
        )
    return weights
