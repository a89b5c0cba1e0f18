"""Build targets for the example scores in Python and print why each position has its size.

Run from the project root: ``python examples/example.py``.
"""

from pathlib import Path

import pandas as pd

import portcon

HERE = Path(__file__).parent

scores = pd.read_csv(HERE / "scores.csv", index_col="asset")
limits = portcon.Limits.from_toml(HERE / "limits.toml")
portfolio = portcon.construct(scores, limits)

print(portfolio)
held = portfolio.explanations.query("weight > 0").sort_values("weight", ascending=False)
print(held[["weight", "score", "bucket", "reason"]].to_string())
print(portfolio.sensitivity())
print(f"KKT residual, largest: {portfolio.explanations['residual'].abs().max():.2e}")
