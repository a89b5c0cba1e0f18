"""Risk-based sizing of 20 US stocks from their weekly returns (2018-2022).

Run from the project root: ``python examples/risk_example.py``.
"""

from pathlib import Path

import pandas as pd

import portcon
from portcon.estimators import LedoitWolfCovariance, volatility

HERE = Path(__file__).parent

scores = pd.read_csv(HERE / "stocks.csv", index_col="asset")
returns = pd.read_csv(HERE / "returns_weekly.csv", index_col="date")

risk = LedoitWolfCovariance(periods_per_year=52).fit(returns)
print(
    "annualised volatility:",
    volatility(pd.DataFrame(risk.covariance_, returns.columns, returns.columns)).round(3).to_dict(),
)

for mode in ("risk_parity", "min_variance", "kelly", "max_sharpe"):
    portfolio = portcon.construct(
        scores,
        dict(
            sizing_mode=mode,
            max_single_position=0.12,
            max_bucket_allocation=0.35,
            max_portfolio_volatility=0.25,
            periods_per_year=52,
        ),
        returns=returns,
    )
    top = portfolio.weights.sort_values(ascending=False).head(3).round(3).to_dict()
    print(f"{mode:>13}: invested {1 - portfolio.cash:.1%}, top {top}")

print(portcon.kelly(returns=returns["MSFT"], fraction=0.5))
