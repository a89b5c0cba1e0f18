"""The command line: outputs, exit codes, and bad inputs that must leave no output file."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from portcon.cli.main import main
from portcon.limits import Limits

GOOD = "asset,score,bucket\nA,0.9,X\nB,0.8,X\nC,0.7,Y\nD,0.65,Y\nE,0.5,Y\n"


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse usage errors
        return int(exit_.code)


def test_construct_writes_csv_and_json(tmp_path: Path, capsys) -> None:
    scores = _write(tmp_path, "scores.csv", GOOD)
    out, js = tmp_path / "targets.csv", tmp_path / "targets.json"
    code = _run(
        [
            "construct",
            str(scores),
            "--max-single-position",
            "0.3",
            "-o",
            str(out),
            "--json",
            str(js),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Targets (4 held, 1 not held)" in printed and "Binding limits" in printed
    table = pd.read_csv(out, index_col=0)
    assert list(table.index) == ["A", "B", "C", "D", "E", "CASH"]
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-9)
    payload = json.loads(js.read_text())
    assert payload["limits"]["max_single_position"] == 0.3
    assert set(payload["weights"]) == {"A", "B", "C", "D", "E"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_flags_override_file_which_overrides_preset(tmp_path: Path, capsys) -> None:
    limits = _write(tmp_path, "limits.toml", 'preset = "aggressive"\nmax_single_position = 0.2\n')
    code = _run(
        ["limits", "--limits", str(limits), "--target-allocation", "0.9", "--bucket-caps", "X=0.4"]
    )
    assert code == 0
    effective = Limits(**tomllib.loads(capsys.readouterr().out))
    assert effective.sizing_mode == "score_weighted"  # from the preset
    assert effective.max_single_position == 0.2  # from the file
    assert effective.target_allocation == 0.9  # from the flag
    assert dict(effective.bucket_caps) == {"X": 0.4}


def test_limits_output_round_trips_through_toml(capsys) -> None:
    assert _run(["limits", "--preset", "crisis", "--max-sector-allocation", "off"]) == 0
    assert Limits(**tomllib.loads(capsys.readouterr().out)) == Limits.preset("crisis")


def test_presets_lists_every_preset(capsys) -> None:
    assert _run(["presets"]) == 0
    printed = capsys.readouterr().out
    for name in ("conservative", "balanced", "aggressive", "momentum", "crisis"):
        assert name in printed


BAD_INPUTS = [
    ("missing column", "asset,scor\nA,0.9\n", [], "missing column 'score'"),
    ("misspelled column", "asset,score,buckt\nA,0.9,X\n", [], "did you mean 'bucket'"),
    ("NaN score", "asset,score\nA,0.9\nB,nan\n", [], "B"),
    ("empty score", "asset,score\nA,0.9\nB,\n", [], "missing, NaN or infinite"),
    ("text score", "asset,score\nA,0.9\nB,high\n", [], "B='high'"),
    ("duplicate asset", "asset,score\nA,0.9\nA,0.8\n", [], "duplicate asset(s) A"),
    ("empty file", "", [], "empty"),
    ("no data rows", "asset,score\n", [], "universe is empty"),
    ("negative current weight", "asset,score,current_weight\nA,0.9,-0.1\n", [], "negative"),
    ("current weights over 1", "asset,score,current_weight\nA,0.9,0.7\nB,0.8,0.6\n", [], "sum to"),
    ("zero volatility", "asset,score,volatility\nA,0.9,0\n", [], "volatility must be > 0"),
    ("not UTF-8", "asset,score\nCAF\xc9,0.9\n".encode("latin-1"), [], "not UTF-8"),
    ("unknown preset", GOOD, ["--preset", "balancd"], "invalid choice"),
    (
        "typo in a limit flag",
        GOOD,
        ["--max-singl-position", "0.1"],
        "did you mean '--max-single-position'",
    ),
    ("limit out of range", GOOD, ["--max-single-position", "1.5"], "max_single_position"),
    ("bucket cap for absent bucket", GOOD, ["--bucket-caps", "Z=0.3"], "no asset has"),
    ("sector cap without column", GOOD, ["--max-sector-allocation", "0.3"], "no 'sector' column"),
    ("volatility mode without column", GOOD, ["--sizing-mode", "inverse_volatility"], "volatility"),
    ("bad tiers", GOOD, ["--score-tiers", "0.5:1,0.8:1"], "strictly decreasing"),
]


@pytest.mark.parametrize(
    ("name", "content", "flags", "fragment"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
    tmp_path: Path, capsys, name, content, flags, fragment
) -> None:
    scores = _write(tmp_path, "scores.csv", content)
    out, js = tmp_path / "out.csv", tmp_path / "out.json"
    code = _run(["construct", str(scores), *flags, "-o", str(out), "--json", str(js)])
    assert code == 2
    assert fragment in capsys.readouterr().err
    assert not out.exists() and not js.exists()
    assert scores.read_bytes() == (content if isinstance(content, bytes) else content.encode())


def test_typo_in_limits_file_names_the_field(tmp_path: Path, capsys) -> None:
    scores = _write(tmp_path, "scores.csv", GOOD)
    limits = _write(tmp_path, "limits.toml", "max_bucket_alocation = 0.3\n")
    assert _run(["construct", str(scores), "--limits", str(limits)]) == 2
    assert "did you mean 'max_bucket_allocation'" in capsys.readouterr().err


def test_refuses_to_overwrite_an_input(tmp_path: Path, capsys) -> None:
    scores = _write(tmp_path, "scores.csv", GOOD)
    assert _run(["construct", str(scores), "-o", str(scores)]) == 2
    assert "input file" in capsys.readouterr().err
    assert scores.read_text() == GOOD


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    scores = _write(tmp_path, "scores.csv", GOOD)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "portcon",
            "construct",
            str(scores),
            "-q",
            "--json",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "optimal"


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_construct_with_returns_sizes_by_risk(tmp_path: Path, capsys) -> None:
    out = tmp_path / "rp.csv"
    code = _run(
        [
            "construct",
            str(EXAMPLES / "stocks.csv"),
            "--returns",
            str(EXAMPLES / "returns_weekly.csv"),
            "--periods-per-year",
            "52",
            "--sizing-mode",
            "risk_parity",
            "--max-portfolio-volatility",
            "0.25",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert "by risk parity" in capsys.readouterr().out
    assert pd.read_csv(out, index_col=0)["weight"].sum() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    ("flag", "content", "fragment"),
    [
        ("--returns", "date,A,B\n2020-01-03,0.01,x\n2020-01-10,0.02,0.01\n", "is not a number"),
        ("--returns", "date,A,B\n2020-01-03,0.01,0.02\n2020-01-10,,0.01\n", "A (1 rows)"),
        ("--returns", "date,A\n2020-01-03,0.01\n2020-01-10,0.02\n", "no data for asset(s) B"),
        ("--covariance", "asset,A,B\nA,0.04,0.05\nB,0.01,0.09\n", "not symmetric"),
        ("--expected-returns", "asset,mu,other\nA,0.1,1\nB,0.2,2\n", "exactly one value column"),
    ],
)
def test_bad_market_files_exit_2(tmp_path: Path, capsys, flag: str, content: str, fragment: str):
    scores = _write(tmp_path, "scores.csv", "asset,score\nA,0.9\nB,0.8\n")
    market = _write(tmp_path, "market.csv", content)
    out = tmp_path / "out.csv"
    mode = ["--sizing-mode", "mean_variance"] if flag == "--expected-returns" else []
    code = _run(["construct", str(scores), flag, str(market), *mode, "-o", str(out)])
    assert code == 2
    assert fragment in capsys.readouterr().err
    assert not out.exists()
