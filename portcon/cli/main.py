"""`portcon` entry point: construct, presets, limits.

Importing this module loads no numerical library: pandas, pydantic and the solvers are
imported inside :func:`main`, so a Ctrl-C while they load exits 130 quietly like any other.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portcon._text import did_you_mean
from portcon.cli.files import refuse_inputs, write_atomically
from portcon.errors import InputError, PortconError

if TYPE_CHECKING:
    import pandas as pd

    from portcon.limits import Limits
    from portcon.portfolio import Portfolio

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """Raised by the SIGTERM handler, so that cleanup (temporary files) runs as for Ctrl-C."""


def _path(text: str) -> Path:
    """A file argument: any non-empty path."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty; give a file path")
    return Path(text)


def construct(*args: Any, **kwargs: Any) -> Portfolio:
    """:func:`portcon.construct`, imported on first use."""
    from portcon.construction import construct as construct_portfolio

    return construct_portfolio(*args, **kwargs)


def read_scores_csv(path: Path) -> pd.DataFrame:
    """:func:`portcon.csv_files.read_scores_csv`, imported on first use."""
    from portcon.csv_files import read_scores_csv as read

    return read(path)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one flag per Limits field."""
    parser = argparse.ArgumentParser(
        prog="portcon",
        description="Target portfolio weights from scores and limits, explained by dual values.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    construct_parser = commands.add_parser(
        "construct",
        help="build target weights from a scores CSV",
        description="Build target weights from a scores CSV (one row per asset: asset, score, "
        "optional bucket, sector, current_weight, volatility).",
    )
    construct_parser.add_argument("scores", type=_path, help="scores CSV file")
    _add_limit_sources(construct_parser)
    market = construct_parser.add_argument_group("market data")
    market.add_argument(
        "--returns", type=_path, metavar="FILE.csv", help="periodic returns: dates × assets"
    )
    market.add_argument(
        "--covariance", type=_path, metavar="FILE.csv", help="covariance: assets × assets"
    )
    market.add_argument(
        "--expected-returns", type=_path, metavar="FILE.csv", help="expected return per asset"
    )
    market.add_argument(
        "--etf-returns",
        type=_path,
        metavar="FILE.csv",
        help="sector ETF returns, dates × sector names (sector_classification behavioural/hybrid)",
    )
    market.add_argument(
        "--repair-covariance",
        action="store_true",
        help="replace a covariance that is not symmetric PSD by the nearest one that is",
    )
    _add_context_flags(construct_parser)
    construct_parser.add_argument(
        "--current",
        type=_path,
        metavar="FILE.csv",
        help="the book held now: asset, current_weight, optional days_held and "
        "days_below_threshold (instead of those columns in the scores)",
    )
    construct_parser.add_argument("-o", "--output", type=_path, help="write targets as CSV")
    construct_parser.add_argument(
        "--trades",
        type=_path,
        metavar="OUT.csv",
        help="write the trades from the current book (action, priority, reason, cost) as CSV",
    )
    construct_parser.add_argument("--json", type=_path, help="write the full result as JSON")
    construct_parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the targets table"
    )
    construct_parser.add_argument(
        "--attribution",
        action="store_true",
        help="also print the constraint attribution: the weights, objective, return and "
        "volatility split into a reference portfolio and one piece per binding limit",
    )
    commands.add_parser("presets", help="list the named presets")
    limits_parser = commands.add_parser(
        "limits", help="print the effective limits as TOML", description="Print effective limits."
    )
    _add_limit_sources(limits_parser)
    from portcon.cli.whatif import add_whatif_commands

    add_whatif_commands(commands, _add_limit_sources)
    from portcon.cli.serve import add_service_commands

    add_service_commands(commands)
    from portcon.cli.replay import add_replay_command

    add_replay_command(commands, _add_limit_sources)
    return parser


def _add_context_flags(parser: argparse.ArgumentParser) -> None:
    context = parser.add_argument_group(
        "market context", "adjusts the limits as the rebalancer's dynamic limits did"
    )
    context.add_argument("--context", type=_path, metavar="FILE.toml", help="context file")
    context.add_argument("--regime-changed", action="store_true", help="the regime changed")
    context.add_argument("--regime", metavar="NAME", help="current regime (Crisis, Goldilocks…)")
    context.add_argument("--volatility-regime", choices=["normal", "high"])
    context.add_argument("--in-drawdown", action="store_true", help="the book is in drawdown")
    context.add_argument(
        "--favoured-buckets", metavar="A,B", help="buckets the regime favours (comma-separated)"
    )


def _context(arguments: argparse.Namespace) -> Any:
    """The MarketContext of the file and flags (flags win), or None when none is given."""
    from portcon.context import MarketContext

    fields: dict[str, Any] = {}
    if arguments.context is not None:
        fields = MarketContext.from_toml(arguments.context).__dict__.copy()
    if arguments.regime_changed:
        fields["regime_changed"] = True
    if arguments.in_drawdown:
        fields["in_drawdown"] = True
    for name in ("regime", "volatility_regime"):
        if getattr(arguments, name) is not None:
            fields[name] = getattr(arguments, name)
    if arguments.favoured_buckets is not None:
        names = (b.strip() for b in arguments.favoured_buckets.split(","))
        fields["favoured_buckets"] = tuple(b for b in names if b)
    return MarketContext.from_mapping(fields) if fields else None


def _add_limit_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limits", type=_path, metavar="FILE.toml", help="limits file (TOML)")
    from portcon.cli.flags import add_limit_flags
    from portcon.limits.presets import PRESETS

    parser.add_argument("--preset", choices=list(PRESETS), help="start from a named preset")
    add_limit_flags(parser)


def effective_limits(arguments: argparse.Namespace) -> Limits:
    """Preset, then the limits file, then flags: later sources override earlier ones."""
    from portcon.cli.flags import given_limits
    from portcon.limits import coerce_limits, read_limits_file

    fields: dict[str, Any] = {}
    if arguments.limits is not None:
        fields = read_limits_file(arguments.limits)
    if arguments.preset is not None:
        fields["preset"] = arguments.preset
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        limits = coerce_limits({**fields, **given_limits(arguments)})
    for warning in caught:
        print(f"portcon: note: {warning.message}", file=sys.stderr)
    return limits


def run(arguments: argparse.Namespace) -> int:
    """Carry out one parsed command; returns the exit code."""
    from portcon.cli.render import render
    from portcon.cli.serve import COMMANDS, run_service_command
    from portcon.csv_files import (
        read_covariance_csv,
        read_current_csv,
        read_expected_returns_csv,
        read_returns_csv,
    )
    from portcon.limits.presets import DESCRIPTIONS, PRESETS

    if arguments.command in COMMANDS:
        return run_service_command(arguments)
    if arguments.command in ("whatif", "sweep"):
        from portcon.cli.whatif import run_whatif_command

        return run_whatif_command(arguments, effective_limits(arguments))
    if arguments.command == "replay":
        from portcon.cli.replay import run_replay_command

        return run_replay_command(arguments, effective_limits(arguments))
    if arguments.command == "presets":
        for name in PRESETS:
            print(f"{name:<13} {DESCRIPTIONS[name]}")
        return EXIT_OK
    limits = effective_limits(arguments)
    if arguments.command == "limits":
        print(limits.to_toml(), end="")
        return EXIT_OK
    outputs = [p for p in (arguments.output, arguments.json, arguments.trades) if p is not None]
    market_files = [arguments.returns, arguments.covariance, arguments.expected_returns]
    market_files.append(arguments.etf_returns)
    inputs = [arguments.scores, arguments.limits, arguments.context, arguments.current]
    inputs += market_files
    refuse_inputs(outputs, [path for path in inputs if path is not None])
    portfolio = construct(
        read_scores_csv(arguments.scores),
        limits,
        returns=_optional(read_returns_csv, arguments.returns),
        covariance=_optional(read_covariance_csv, arguments.covariance),
        expected_returns=_optional(read_expected_returns_csv, arguments.expected_returns),
        repair_covariance=arguments.repair_covariance,
        context=_context(arguments),
        current=_optional(read_current_csv, arguments.current),
        etf_returns=_optional(read_returns_csv, arguments.etf_returns),
    )
    if arguments.trades is not None and portfolio.trades is None:
        raise InputError(
            "--trades needs a current book: give --current FILE.csv or a current_weight column"
        )
    contents = {}
    if arguments.output is not None:
        contents[arguments.output] = portfolio.to_frame().to_csv()  # shortest exact repr
    if arguments.json is not None:
        contents[arguments.json] = json.dumps(portfolio.to_dict(), indent=2) + "\n"
    if arguments.trades is not None and portfolio.trades is not None:
        contents[arguments.trades] = portfolio.trades.to_csv()
    write_atomically(contents)
    if not arguments.quiet:
        print(render(portfolio, attribution=arguments.attribution))
    return EXIT_OK


def _optional(read: Any, path: Path | None) -> Any:
    return None if path is None else read(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, map errors to exit codes (2 input/limits, 3 infeasible, 4 solver).

    Ctrl-C exits 130 and SIGTERM 143, quietly and without leaving temporary files.
    """
    try:
        with _sigterm_raises():
            return run(_parse(argv))
    except PortconError as error:
        print(f"portcon: error: {_terminal_safe(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("portcon: interrupted; no output written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("portcon: terminated; no output written", file=sys.stderr)
        return EXIT_TERMINATED


def _terminal_safe(message: str) -> str:
    """Control characters of labels quoted in a message (an escape code never reaches the tty)."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in message)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    from portcon.cli.aliases import seed_flags, translate_argv

    parser = build_parser()
    argv, notes = translate_argv(sys.argv[1:] if argv is None else argv)
    for note in notes:
        print(f"portcon: note: {note}", file=sys.stderr)
    arguments, unknown = parser.parse_known_args(argv)
    if unknown:
        from portcon.limits import Limits

        options = [f"--{name.replace('_', '-')}" for name in Limits.model_fields]
        options += ["--limits", "--preset", "--output", "--json", "--quiet", "--returns"]
        options += ["--covariance", "--expected-returns", "--repair-covariance", "--context"]
        options += ["--etf-returns"]
        options += seed_flags()
        first = unknown[0].split("=", 1)[0]
        parser.error(f"unknown option {first}{did_you_mean(first, options)}")
    return arguments


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While running, SIGTERM raises :class:`Terminated` (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
