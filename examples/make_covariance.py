"""Write examples/covariance.csv: an illustrative annual covariance for examples/scores.csv.

Volatilities are the scores' ``volatility`` column; correlations are 0.2 between any two
assets, +0.3 within a bucket and +0.3 within a sector (a sum of PSD block matrices plus a
positive diagonal, so the covariance is positive definite). Illustrative, not estimated.

Run: ``.venv/bin/python examples/make_covariance.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def main() -> None:
    frame = pd.read_csv(HERE / "scores.csv", index_col="asset")
    bucket = frame["bucket"].to_numpy()
    sector = frame["sector"].to_numpy()
    correlation = (
        0.2 + 0.3 * (bucket[:, None] == bucket) + 0.3 * (sector[:, None] == sector)
    ).astype(float)
    np.fill_diagonal(correlation, 1.0)
    volatility = frame["volatility"].to_numpy(dtype=float)
    covariance = correlation * np.outer(volatility, volatility)
    table = pd.DataFrame(covariance, index=frame.index, columns=frame.index)
    table.to_csv(HERE / "covariance.csv", float_format="%.10g")


if __name__ == "__main__":
    main()
