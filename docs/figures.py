"""The guide's figures, drawn by portcon itself from the shipped example data.

``conf.py`` calls :func:`draw_all` before Sphinx reads the pages, so every figure shows what
the current code computes. Run alone: ``python docs/figures.py`` (writes ``docs/_generated``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import portcon

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
KIND_COLOURS = {
    "score share": "#4c72b0",
    "single-position cap": "#dd8452",
    "bucket or sector cap": "#55a868",
    "other limit": "#8172b3",
}


def _kind(binding: str) -> str:
    if not binding:
        return "score share"
    if "max_single_position" in binding or "max_weight" in binding:
        return "single-position cap"
    if "bucket" in binding or "sector" in binding:
        return "bucket or sector cap"
    return "other limit"


def example_weights(path: Path) -> None:
    """The example book's weights, coloured by what sized each one."""
    scores = pd.read_csv(EXAMPLES / "scores.csv", index_col="asset")
    portfolio = portcon.construct(scores, portcon.Limits.from_toml(EXAMPLES / "limits.toml"))
    held = portfolio.explanations.query("weight > 0").sort_values("weight", ascending=False)
    kinds = [_kind(str(binding)) for binding in held["binding"]]
    figure, axes = plt.subplots(figsize=(9, 3.6))
    axes.bar(held.index, held["weight"] * 100, color=[KIND_COLOURS[kind] for kind in kinds])
    axes.axhline(portfolio.limits.max_single_position * 100, color="grey", linestyle="--")
    axes.set_ylabel("weight (%)")
    axes.set_title("examples/scores.csv with examples/limits.toml")
    axes.tick_params(axis="x", labelrotation=90, labelsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour) for colour in KIND_COLOURS.values()]
    axes.set_ylim(0, portfolio.limits.max_single_position * 140)
    axes.legend(handles, list(KIND_COLOURS), fontsize=7, loc="upper right", ncol=4)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def frontier(path: Path) -> None:
    """Mean-variance portfolios of the 20 stocks as risk aversion moves, capped at 15%."""
    returns = pd.read_csv(EXAMPLES / "returns_weekly.csv", index_col="date", parse_dates=True)
    scores = pd.Series(1.0, index=returns.columns)
    points = []
    for aversion in np.geomspace(0.5, 200, 14):
        limits = portcon.Limits(
            sizing_mode="mean_variance",
            risk_aversion=float(aversion),
            max_single_position=0.15,
            periods_per_year=52,
        )
        metrics = portcon.construct(scores, limits, returns=returns).metrics
        points.append((metrics.volatility, metrics.expected_return))
    volatility, expected = np.array(points).T
    figure, axes = plt.subplots(figsize=(5.5, 3.6))
    axes.plot(volatility * 100, expected * 100, marker="o")
    axes.set_xlabel("ex-ante volatility (% a year)")
    axes.set_ylabel("expected return (% a year)")
    axes.set_title("mean_variance, risk_aversion 0.5 … 200, caps 15%")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def cap_price(path: Path) -> None:
    """The objective as the single-position cap moves, with the price's tangent at 4%."""
    scores = pd.read_csv(EXAMPLES / "scores.csv", index_col="asset")
    base = portcon.Limits.from_toml(EXAMPLES / "limits.toml")
    caps = np.linspace(0.03, 0.06, 13)
    objectives = [
        portcon.construct(
            scores, base.model_copy(update={"max_single_position": float(cap)})
        ).objective
        for cap in caps
    ]
    at_four = portcon.construct(scores, base)
    price = float(at_four.sensitivity().loc["max_single_position", "shadow_price"])
    figure, axes = plt.subplots(figsize=(5.5, 3.6))
    axes.plot(caps * 100, objectives, marker="o", label="objective, re-solved")
    tangent = at_four.objective - price * (caps - base.max_single_position)
    axes.plot(caps * 100, tangent, linestyle="--", label="price at 4% (tangent)")
    axes.set_xlabel("max_single_position (%)")
    axes.set_ylabel("objective (lower is better)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_all(folder: Path) -> None:
    """Draw every figure into ``folder`` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    example_weights(folder / "example_weights.png")
    frontier(folder / "frontier.png")
    cap_price(folder / "cap_price.png")


if __name__ == "__main__":
    draw_all(Path(__file__).resolve().parent / "_generated")
