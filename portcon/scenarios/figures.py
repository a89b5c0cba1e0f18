"""Matplotlib figures of a :class:`ScenarioReport` (the ``plots`` extra).

Figures are built on :class:`matplotlib.figure.Figure` directly (the Agg canvas), so nothing
here touches pyplot's global state or needs a display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from portcon.scenarios.report import ScenarioReport

TOP = 12  # assets shown per figure


def changes_figure(report: ScenarioReport) -> Figure:
    """Base against scenario weights: the largest moves of each scenario, one panel each."""
    names = [n for n in report.changes.columns if report.changes[n].notna().any()]
    figure = Figure(figsize=(11, 2.6 * max(1, len(names))), layout="constrained")
    axes = figure.subplots(max(1, len(names)), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=False):
        change = report.changes[name]
        largest = list(change.abs().sort_values(ascending=False).index[:TOP])
        top = [a for a in largest if abs(change[a]) > 1e-9] or largest[:1]
        x = np.arange(len(top))
        ax.bar(x - 0.2, 100 * report.weights.loc[top, "base"], 0.4, label="base", color="#8a9bb0")
        ax.bar(x + 0.2, 100 * report.weights.loc[top, name], 0.4, label=name, color="#d9822b")
        ax.set_xticks(x, [str(a) for a in top], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("weight, %")
        ax.set_title(f"{name}: largest changes against the base", fontsize=10, loc="left")
        ax.legend(fontsize=8, frameon=False)
    return figure


def sweep_figure(report: ScenarioReport) -> Figure:
    """Weights of the largest positions and the binding limits' shadow prices along a sweep."""
    if report.sweep is None:
        raise ValueError("not a sweep")
    parameter, values = report.sweep
    weights = report.weights.drop(columns="base")
    top = weights.max(axis=1).sort_values(ascending=False).index[:TOP]
    figure = Figure(figsize=(11, 7), layout="constrained")
    upper, lower = figure.subplots(2, 1, sharex=True)
    for asset in top:
        upper.plot(values, 100 * weights.loc[asset].to_numpy(), marker=".", label=str(asset))
    upper.set_ylabel("weight, %")
    upper.set_title(f"weights along {parameter}", fontsize=10, loc="left")
    upper.legend(fontsize=7, ncol=4, frameon=False)
    prices = report.shadow_prices.drop(columns="base", errors="ignore")
    binding = prices[(prices.abs() > 1e-9).any(axis=1)]
    for limit, row in binding.iterrows():
        lower.plot(values, row.to_numpy(dtype=float), marker=".", label=str(limit))
    lower.set_xlabel(parameter)
    lower.set_ylabel("shadow price")
    lower.set_title("binding limits (shadow price; 0 = slack)", fontsize=10, loc="left")
    lower.legend(fontsize=7, ncol=3, frameon=False)
    return figure


def exposure_figure(report: ScenarioReport, kind: str) -> Figure | None:
    """Exposure per group (bucket or sector) against its cap, one bar per scenario."""
    table = report.exposures
    table = table[table["kind"] == kind]
    if table.empty:
        return None
    pivot = table.pivot(index="group", columns="scenario", values="exposure")
    pivot = pivot[[n for n in report.names if n in pivot.columns]]
    caps = table.drop_duplicates("group").set_index("group")["cap"].reindex(pivot.index)
    figure = Figure(figsize=(11, 4), layout="constrained")
    ax = figure.subplots()
    width = 0.8 / len(pivot.columns)
    x = np.arange(len(pivot.index))
    for k, name in enumerate(pivot.columns):
        ax.bar(x + k * width - 0.4 + width / 2, 100 * pivot[name], width, label=str(name))
    base_caps = 100 * caps.to_numpy(dtype=float)
    ax.scatter(x, base_caps, marker="_", s=900, color="black", label="base cap", zorder=3)
    ax.set_xticks(x, [str(g) for g in pivot.index], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("exposure, %")
    ax.set_title(f"{kind} exposure per scenario against the base cap", fontsize=10, loc="left")
    ax.legend(fontsize=7, ncol=4, frameon=False)
    return figure


def all_figures(report: ScenarioReport) -> dict[str, Figure]:
    """Every figure that applies to the report, by file stem."""
    figures: dict[str, Figure] = {}
    if report.sweep is not None:
        figures["sweep"] = sweep_figure(report)
    elif len(report.names) > 1:
        figures["changes"] = changes_figure(report)
    for kind in ("bucket", "sector"):
        figure = exposure_figure(report, kind)
        if figure is not None:
            figures[f"{kind}_exposure"] = figure
    return figures
