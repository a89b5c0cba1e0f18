"""`portcon replay HISTORY.csv -o OUTDIR`: the rebalance run over a dated score history.

Parsing and writing only; the work is :func:`portcon.replay`. Heavy libraries are imported
inside the functions (the entry point loads none at start-up). Nothing is written until the
whole replay has run; then weights.csv, trades.csv and summary.csv are written atomically
together and replay.png (staged beside them first) is renamed into place last.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portcon.cli.files import refuse_inputs, write_atomically
from portcon.errors import InputError

if TYPE_CHECKING:
    from portcon.limits import Limits
    from portcon.rebalance.replay_result import ReplayResult

COMMAND = "replay"
TABLES = ("weights.csv", "trades.csv", "summary.csv")
FIGURE = "replay.png"


def add_replay_command(
    commands: Any, add_limit_sources: Callable[[argparse.ArgumentParser], None]
) -> None:
    """Add the ``replay`` sub-command to the ``portcon`` parser."""
    parser = commands.add_parser(
        COMMAND,
        help="rebalance at every date of a score history, carrying the book",
        description="Rebalance at every date of HISTORY.csv (one row per date and asset: "
        "date, asset, score, optional bucket, sector, trending_confidence, cost_bps), carrying "
        "weights, days held and days below threshold; write weights.csv, trades.csv, "
        "summary.csv and replay.png to OUTDIR.",
    )
    parser.add_argument("history", type=Path, help="score history CSV (long format)")
    add_limit_sources(parser)
    market = parser.add_argument_group("market data")
    drift = market.add_mutually_exclusive_group()
    drift.add_argument("--returns", type=Path, metavar="FILE.csv", help="returns, dates × assets")
    drift.add_argument("--prices", type=Path, metavar="FILE.csv", help="prices, dates × assets")
    market.add_argument("--covariance", type=Path, metavar="FILE.csv")
    market.add_argument("--expected-returns", type=Path, metavar="FILE.csv")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    parser.add_argument("--no-plot", action="store_true", help="skip replay.png")
    parser.add_argument("-q", "--quiet", action="store_true", help="print no totals")


def run_replay_command(arguments: argparse.Namespace, limits: Limits) -> int:
    """Read, replay, then write OUTDIR; print whole-history totals."""
    from portcon.csv_files import read_covariance_csv, read_expected_returns_csv, read_returns_csv
    from portcon.rebalance.history import read_history_csv
    from portcon.rebalance.replay import replay

    outdir: Path = arguments.output
    if outdir.exists() and not outdir.is_dir():
        raise InputError(f"-o {outdir}: exists and is not a folder")
    history = read_history_csv(arguments.history)
    given: dict[str, tuple[Path | None, Callable[[Path], Any]]] = {
        "returns": (arguments.returns, read_returns_csv),
        "prices": (arguments.prices, read_returns_csv),
        "covariance": (arguments.covariance, read_covariance_csv),
        "expected_returns": (arguments.expected_returns, read_expected_returns_csv),
    }
    market: dict[str, Any] = {
        name: read(path) for name, (path, read) in given.items() if path is not None
    }
    result = replay(history, limits, **market)
    inputs = [arguments.history, arguments.limits, *(path for path, _ in given.values())]
    write_outputs(result, outdir, [p for p in inputs if p is not None], not arguments.no_plot)
    if not arguments.quiet:
        print(render_totals(result))
    return 0


def write_outputs(result: ReplayResult, outdir: Path, inputs: list[Path], plot: bool) -> None:
    """The three tables and (when matplotlib is there and ``plot``) the PNG, all or none."""
    contents = {
        outdir / "weights.csv": result.weights.to_csv(date_format="%Y-%m-%d"),
        outdir / "trades.csv": result.trades.to_csv(index=False, date_format="%Y-%m-%d"),
        outdir / "summary.csv": result.summary().to_csv(date_format="%Y-%m-%d"),
    }
    png = _png(result) if plot else None
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [*contents, *([outdir / FIGURE] if png is not None else [])]
    refuse_inputs(paths, inputs)
    staged = None if png is None else _stage(outdir / FIGURE, png)
    try:
        write_atomically(contents)
        if staged is not None:
            os.replace(staged, outdir / FIGURE)
            staged = None
    finally:
        if staged is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)


def _png(result: ReplayResult) -> bytes | None:
    try:
        from portcon.rebalance.replay_plot import png_bytes

        return png_bytes(result)
    except ImportError:  # matplotlib is the optional `plots` extra
        print("portcon: matplotlib not installed; no replay.png", file=sys.stderr)
        return None


def _stage(path: Path, data: bytes) -> str:
    """``data`` in a temporary file beside ``path`` (mode 0666 & ~umask), not yet renamed."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise InputError(f"cannot write {path}: {error.strerror}") from error
        raise
    return temporary


def render_totals(result: ReplayResult) -> str:
    """Whole-history totals, one per line."""
    totals = result.totals()
    steps = len(result.weights)
    lines = [f"{steps} rebalances, {result.weights.index[0]:%Y-%m-%d} to "]
    lines[0] += f"{result.weights.index[-1]:%Y-%m-%d}"
    for name, value in totals.items():
        shown = f"{value:.4f}" if name in ("turnover", "costs", "mean_positions") else f"{value:g}"
        lines.append(f"  {name:<20} {shown}")
    return "\n".join(lines)
