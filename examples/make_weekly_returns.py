"""Regenerate examples/returns_weekly.csv from the shared reference prices (not run by tests).

Source: ../shared/data/prices/sp500_prices.csv.gz (daily adjusted closes of 20 US stocks, from
the skfolio 1.12.2 wheel, BSD-3-Clause; for testing and examples only, not investment use).
Weekly (Friday) simple returns, 2018-01-05 to 2022-12-23.
"""

from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
SOURCE = HERE.parent.parent / "shared" / "data" / "prices" / "sp500_prices.csv.gz"

prices = pd.read_csv(SOURCE, parse_dates=["Date"], index_col="Date").loc["2017-12-25":"2022-12-23"]
weekly = prices.resample("W-FRI").last().pct_change().dropna()
weekly.index = weekly.index.strftime("%Y-%m-%d")
weekly.index.name = "date"
weekly.round(6).to_csv(HERE / "returns_weekly.csv")
