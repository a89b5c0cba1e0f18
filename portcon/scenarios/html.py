"""One self-contained HTML file of a :class:`ScenarioReport`: tables and figures (base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from portcon.scenarios.figures import all_figures

if TYPE_CHECKING:
    from portcon.scenarios.report import ScenarioReport

ROWS = 60  # rows shown per long table (the CSVs hold all)
STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px;
       color: #1f2933; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #d5dae1; padding: 3px 7px; text-align: right; }
th { background: #eef1f5; } td:first-child, th:first-child { text-align: left; }
td.text { text-align: left; max-width: 420px; }
img { max-width: 100%; } .note { color: #52606d; font-size: 12px; }
.failed { color: #b42318; }
"""


def write_html(report: ScenarioReport, path: Path, figures_folder: Path | None = None) -> Path:
    """Write the report to ``path`` (and each figure as PNG into ``figures_folder``)."""
    sections = [f"<h1>{_title(report)}</h1>", _scenario_list(report)]
    sections.append("<h2>Summary</h2>" + _table(report.summary(), index=True))
    if not report.failures.empty:
        sections.append("<h2 class='failed'>Failed scenarios</h2>" + _table(report.failures))
    for name, figure in all_figures(report).items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        if figures_folder is not None:
            (figures_folder / f"{name}.png").write_bytes(buffer.getvalue())
        encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
        sections.append(f"<img alt='{name}' src='data:image/png;base64,{encoded}'>")
    sections.append("<h2>Binding limits</h2>" + _table(report.binding))
    sections.append("<h2>What changed and why</h2>" + _table(report.reasons))
    attribution = report.attribution.dropna(axis=1, how="all")
    if not attribution.empty:
        heading = (
            "<h2>What the limits cost: constraint attribution by category</h2><p class='note'>"
            "Each run's weights, objective, expected return and volatility split into the "
            "best portfolio investing the same amount with no other limit ('budget only') "
            "and what each category of limits moved; the columns sum to the run's figures."
            "</p>"
        )
        sections.append(heading + _table(attribution))
    local = report.local[["limit", "sentence"]]
    if not local.empty:
        heading = "<h2>At the base, without re-solving: one step of each binding limit</h2>"
        sections.append(heading + _table(local))
    held = report.weights[(report.weights.fillna(0) > 0).any(axis=1)]
    sections.append("<h2>Weights (held anywhere)</h2>" + _table(held, index=True))
    body = "\n".join(sections)
    document = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{_title(report)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
    path.write_text(document, encoding="utf-8")
    return path


def _title(report: ScenarioReport) -> str:
    if report.sweep is not None:
        return html.escape(f"portcon sweep of {report.sweep[0]}")
    return f"portcon what-if: {len(report.names) - 1} scenarios against the base"


def _scenario_list(report: ScenarioReport) -> str:
    items = [
        f"<li><b>{html.escape(s.name)}</b> {html.escape(s.description)}</li>"
        for s in report.scenarios
        if s.description
    ]
    return f"<ul class='note'>{''.join(items)}</ul>" if items else ""


def _table(frame: pd.DataFrame, index: bool = False) -> str:
    shown = frame.head(ROWS)
    more = len(frame) - len(shown)
    formatted = shown.to_html(
        index=index,
        float_format=lambda v: f"{v:.4f}",
        na_rep="",
        border=0,
        escape=True,
    )
    note = f"<p class='note'>{more} more rows in the CSV files.</p>" if more > 0 else ""
    return formatted + note
