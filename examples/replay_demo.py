"""What the entry/keep band and grace do to turnover and round trips, on examples/history.csv.

Replays the shipped history (52 weeks, 40 assets around the 0.6 threshold, weekly returns)
under the same limits three ways, prints one line each and writes a PNG per run:

- ``plain``: one threshold (0.6) to open and to keep, no grace: every crossing trades;
- ``band``: open at ``min_score_new_position = 0.65``, keep at 0.6;
- ``band + grace``: and a held name below 0.6 may stay ``grace_period_days = 21`` days,
  decaying by ``grace_decay_rate = 0.8`` per rebalance, before it is closed.

    .venv/bin/python examples/replay_demo.py        # or: make replay-demo
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

import portcon

HERE = Path(__file__).parent
BASE = {"max_single_position": 0.08, "max_total_positions": 20, "max_positions_per_bucket": 6}
RUNS = {
    "plain": {},
    "band": {"min_score_new_position": 0.65},
    "band + grace": {
        "min_score_new_position": 0.65,
        "grace_period_days": 21,
        "grace_decay_rate": 0.8,
    },
}


def main() -> None:
    history = pd.read_csv(HERE / "history.csv")
    returns = pd.read_csv(HERE / "history_returns.csv", index_col="date")
    out = HERE / "output" / "replay"
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'run':<14}{'turnover':>10}{'costs bp':>10}{'opens':>7}{'closes':>7}{'trips':>7}")
    for name, extra in RUNS.items():
        result = portcon.replay(history, {**BASE, **extra}, returns=returns)
        totals = result.totals()
        print(
            f"{name:<14}{totals['turnover']:>10.2f}{1e4 * totals['costs']:>10.1f}"
            f"{totals['opens']:>7.0f}{totals['closes']:>7.0f}{len(result.round_trips):>7}"
        )
        with contextlib.suppress(ImportError):  # matplotlib is the optional `plots` extra
            result.plot(out / f"{name.replace(' + ', '_')}.png")


if __name__ == "__main__":
    main()
