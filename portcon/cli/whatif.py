"""`portcon whatif` and `portcon sweep`: scenarios side by side, written to an output folder.

Parsing and rendering only; the work is :func:`portcon.whatif` / :func:`portcon.sweep`.
Heavy libraries are imported inside the functions (the entry point loads none at start-up).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portcon.cli.files import refuse_inputs, write_atomically
from portcon.errors import InputError

if TYPE_CHECKING:
    from portcon.limits import Limits
    from portcon.scenarios import ScenarioReport

COMMANDS = ("whatif", "sweep")
PROGRESS_FROM = 20  # scenarios; shorter runs print no progress


def add_whatif_commands(
    commands: Any, add_limit_sources: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add the ``whatif`` and ``sweep`` sub-commands to the ``portcon`` parser."""
    whatif = commands.add_parser(
        "whatif",
        help="run what-if scenarios from a TOML file against the base portfolio",
        description="Construct the base portfolio and one per [[scenario]] of SCENARIOS.toml; "
        "write tables (CSV), JSON, figures and an HTML report to OUTDIR.",
    )
    whatif.add_argument("scores", type=Path, help="scores CSV file")
    whatif.add_argument("scenarios", type=Path, help="scenarios TOML file ([[scenario]] tables)")
    sweep = commands.add_parser(
        "sweep",
        help="sweep one limit (or shock size) over a grid of values",
        description="Construct the portfolio at every value of one Limits field (or of a shock "
        "of --scenario) and write the path to OUTDIR.",
    )
    sweep.add_argument("scores", type=Path, help="scores CSV file")
    sweep.add_argument("--parameter", required=True, help="e.g. max_single_position")
    sweep.add_argument(
        "--values", required=True, help="START:STOP:STEP (inclusive) or a comma-separated list"
    )
    sweep.add_argument("--scenario", type=Path, help="TOML whose first scenario is the template")
    for parser in (whatif, sweep):
        add_limit_sources(parser)
        market = parser.add_argument_group("market data")
        market.add_argument("--returns", type=Path, metavar="FILE.csv")
        market.add_argument("--covariance", type=Path, metavar="FILE.csv")
        market.add_argument("--expected-returns", type=Path, metavar="FILE.csv")
        market.add_argument("--repair-covariance", action="store_true")
        parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
        parser.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
        parser.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler address")
        parser.add_argument("--no-figures", action="store_true", help="skip figures and HTML")
        parser.add_argument("-q", "--quiet", action="store_true", help="print no table")


def parse_values(text: str) -> list[float]:
    """``0.05:0.25:0.01`` (stop included when on the grid) or ``0.05,0.1,0.2``."""
    try:
        if ":" in text:
            start, stop, step = (float(part) for part in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = round((stop - start) / step) + 1
            values = [start + k * step for k in range(count)]
            return [round(v, 12) for v in values if v <= stop + 1e-12]
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(
            f"--values {text!r}: give START:STOP:STEP with STEP > 0 and STOP ≥ START, or a "
            "comma-separated list of numbers"
        ) from None


def run_whatif_command(arguments: argparse.Namespace, limits: Limits) -> int:
    """Run ``whatif`` or ``sweep``; write OUTDIR; print the side-by-side summary."""
    from portcon.csv_files import (
        read_covariance_csv,
        read_expected_returns_csv,
        read_returns_csv,
        read_scores_csv,
    )
    from portcon.scenarios import load_scenarios, sweep, whatif

    given = [arguments.scores, arguments.limits, arguments.returns, arguments.covariance]
    given += [arguments.expected_returns, getattr(arguments, "scenarios", None)]
    inputs = [path for path in given if path is not None]
    outdir: Path = arguments.output
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"-o {outdir}: exists and is not a folder")
    outdir.mkdir(parents=True, exist_ok=True)
    refuse_inputs([outdir / "weights.csv"], inputs)
    market = {
        "returns": None if arguments.returns is None else read_returns_csv(arguments.returns),
        "covariance": None
        if arguments.covariance is None
        else read_covariance_csv(arguments.covariance),
        "expected_returns": None
        if arguments.expected_returns is None
        else read_expected_returns_csv(arguments.expected_returns),
        "repair_covariance": arguments.repair_covariance,
    }
    scores = read_scores_csv(arguments.scores)
    with _Executor(arguments) as executor, _ProgressBar(shown=_show_progress(arguments)) as bar:
        common = {"executor": executor, "workers": arguments.workers, "progress": bar.update}
        if arguments.command == "whatif":
            report = whatif(scores, limits, arguments.scenarios, **common, **market)
        else:
            template = None if arguments.scenario is None else load_scenarios(arguments.scenario)[0]
            values = parse_values(arguments.values)
            report = sweep(
                scores, limits, arguments.parameter, values, scenario=template, **common, **market
            )
    _write(report, outdir, figures=not arguments.no_figures)
    if not arguments.quiet:
        print(_render(report))
    return 0


class _Executor:
    """The executor the flags ask for, as a context (a Dask client is closed after)."""

    def __init__(self, arguments: argparse.Namespace) -> None:
        self.arguments = arguments
        self.client: Any = None

    def __enter__(self) -> Any:
        if self.arguments.scheduler:
            from dask.distributed import Client

            self.client = Client(self.arguments.scheduler)
            return self.client
        return "processes" if self.arguments.workers > 1 else None

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()


def _show_progress(arguments: argparse.Namespace) -> bool:
    """A bar only for a person watching: not with --quiet, not when stdout is a file or pipe."""
    return not arguments.quiet and sys.stdout.isatty()


class _ProgressBar:
    """A rich progress bar on stderr for runs of at least PROGRESS_FROM scenarios.

    ``update(done, total)`` is the ``progress=`` callback of :func:`portcon.whatif`; the bar
    starts on the first call with a long enough total and is closed on exit, so an error
    leaves the terminal clean.
    """

    def __init__(self, shown: bool) -> None:
        self.shown = shown
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _ProgressBar:
        return self

    def update(self, done: int, total: int) -> None:
        """Advance the bar to ``done`` of ``total`` scenarios (the base included)."""
        if not self.shown or total < PROGRESS_FROM:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress(
                "scenarios",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.bar.start()
            self.task = self.bar.add_task("scenarios", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _write(report: ScenarioReport, outdir: Path, figures: bool) -> None:
    import json

    outdir.mkdir(parents=True, exist_ok=True)
    contents: dict[Path, str] = {}
    for name, frame in report.to_frames().items():
        index = name in ("weights", "changes", "metrics")
        contents[outdir / f"{name}.csv"] = frame.to_csv(index=index)
    contents[outdir / "report.json"] = json.dumps(report.to_dict(), indent=1) + "\n"
    write_atomically(contents)
    if figures:
        _write_figures(report, outdir)


def _write_figures(report: ScenarioReport, outdir: Path) -> None:
    try:
        from portcon.scenarios.html import write_html
    except ImportError:  # matplotlib is the optional `plots` extra
        print("portcon: matplotlib not installed; no figures or HTML", file=sys.stderr)
        return
    write_html(report, outdir / "report.html", figures_folder=outdir)


def _render(report: ScenarioReport) -> str:
    import pandas as pd

    summary = report.summary()
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        text = summary.to_string(float_format=lambda v: f"{v:.4f}")
    failures = report.failures
    lines = [text]
    for row in failures.itertuples():
        lines.append(f"{row.scenario}: {row.error}: {row.message}")
    return "\n".join(lines)
