"""The command line with a held book: --current FILE.csv, --trades OUT.csv, the trades table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import portcon
from portcon.cli.main import main

SCORES = "asset,score,bucket\nA,0.9,X\nB,0.8,X\nC,0.7,Y\nD,0.4,Y\nE,0.75,Y\n"
CURRENT = "asset,current_weight,days_held\nA,0.3,10\nB,0.3,2\nD,0.2,40\n"
FLAGS = ["--max-single-position", "0.35", "--min-holding-days", "3"]
FLAGS += ["--transaction-cost-bps", "10", "--max-turnover", "0.3"]


def _in_python(scores: Path, current: Path) -> portcon.Portfolio:
    """The Python API on the same files and the limits FLAGS states."""
    limits = {
        "max_single_position": 0.35,
        "min_holding_days": 3,
        "transaction_cost_bps": 10,
        "max_turnover": 0.3,
    }
    book = pd.read_csv(current, index_col="asset")
    return portcon.construct(pd.read_csv(scores, index_col="asset"), limits, current=book)


def _files(folder: Path) -> tuple[Path, Path]:
    scores, current = folder / "scores.csv", folder / "current.csv"
    scores.write_text(SCORES, encoding="utf-8")
    current.write_text(CURRENT, encoding="utf-8")
    return scores, current


def test_current_and_trades_files_match_the_python_api(tmp_path: Path, capsys) -> None:
    scores, current = _files(tmp_path)
    trades = tmp_path / "trades.csv"
    argv = ["construct", str(scores), "--current", str(current), "--trades", str(trades)]
    assert main([*argv, *FLAGS]) == 0
    printed = capsys.readouterr().out
    assert "Trades (4 to place, 1 held; one-way turnover 30.00%" in printed
    assert "close" in printed and "min_holding_days" in printed
    written = pd.read_csv(trades, index_col="asset")
    expected = _in_python(scores, current).trades
    pd.testing.assert_series_equal(written["target"], expected["target"], atol=1e-12)
    assert list(written["action"]) == list(expected["action"])
    assert written.loc["D", "action"] == "close" and written.loc["B", "action"] == "hold"
    assert 0.5 * written["change"].abs().sum() == pytest.approx(0.3, abs=1e-7)


def test_trades_without_a_current_book_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    scores, _ = _files(tmp_path)
    trades, targets = tmp_path / "trades.csv", tmp_path / "targets.csv"
    argv = ["construct", str(scores), "--trades", str(trades), "-o", str(targets), "-q"]
    assert main(argv) == 2
    assert not trades.exists() and not targets.exists()


def test_a_held_asset_missing_from_the_scores_is_named(tmp_path: Path, capsys) -> None:
    scores, current = _files(tmp_path)
    current.write_text(CURRENT + "ZZZ,0.1,5\n", encoding="utf-8")
    assert main(["construct", str(scores), "--current", str(current), "-q"]) == 2
    assert "ZZZ" in capsys.readouterr().err


def test_a_bad_cell_in_the_current_file_names_its_line(tmp_path: Path, capsys) -> None:
    scores, current = _files(tmp_path)
    current.write_text("asset,current_weight\nA,lots\n", encoding="utf-8")
    assert main(["construct", str(scores), "--current", str(current), "-q"]) == 2
    error = capsys.readouterr().err
    assert "line 2" in error and "current_weight" in error


def test_long_reasons_wrap_instead_of_being_cut(tmp_path: Path, capsys) -> None:
    scores, current = _files(tmp_path)
    argv = ["construct", str(scores), "--current", str(current), *FLAGS]
    assert main(argv) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "…" not in printed
    portfolio = _in_python(scores, current)
    reasons = portfolio.explanations["reason"]
    assert reasons.str.len().max() > 100  # the case has something to wrap
    for reason in reasons:
        assert " ".join(reason.split()) in printed


def test_printed_ranges_say_where_the_binding_limits_change(tmp_path: Path, capsys) -> None:
    """The CLI prints, per priced limit, how far it may move with the same limits binding; a
    re-solve inside that range keeps the binding set, one beyond it does not."""
    scores = tmp_path / "scores.csv"
    scores.write_text(SCORES, encoding="utf-8")
    assert main(["construct", str(scores), "--max-single-position", "0.25"]) == 0
    printed = capsys.readouterr().out
    line = next(row for row in printed.splitlines() if row.startswith("target_allocation"))
    up = float(line.split(" to +")[1].split(":")[0].split(" ")[0])
    assert 0 < up < 0.05
    frame = pd.read_csv(scores, index_col="asset")

    def binding(target: float) -> set[str]:
        limits = {"max_single_position": 0.25, "target_allocation": target}
        table = portcon.construct(frame, limits).constraints
        held = table[table["binding"]]
        return set(held["rule"] + ":" + held["subject"])

    assert binding(0.95 + 0.5 * up) == binding(0.95)
    assert binding(0.95 + 1.5 * up) != binding(0.95)
