"""No data lost, no crash on malformed files, the same answer for the same input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import portcon.cli.main as cli
from portcon.cli import files

GOOD = "asset,score,bucket\nA,0.9,X\nB,0.8,X\nC,0.7,Y\nD,0.65,Y\n"
CSV_PIECES = st.sampled_from(
    [
        "asset",
        "score",
        "bucket",
        "sector",
        "volatility",
        "current_weight",
        ",",
        "\n",
        "\r\n",
        '"',
        "0.9",
        "-1",
        "nan",
        "inf",
        "1e308",
        "A",
        "A",
        "B",
        "é",
        " ",
        "\t",
        ";",
        "x",
        "",
        "0",
    ]
)
MALFORMED = st.one_of(
    st.lists(CSV_PIECES, max_size=40).map("".join).map(str.encode),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=MALFORMED)
def test_malformed_scores_files_never_crash(tmp_path_factory, content: bytes) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    scores = folder / "scores.csv"
    scores.write_bytes(content)
    out = folder / "out.csv"
    try:
        code = cli.main(["construct", str(scores), "-q", "-o", str(out)])
    except SystemExit as exit_:
        code = exit_.code
    assert code in (0, 2)
    assert out.exists() == (code == 0)
    assert scores.read_bytes() == content
    assert not [p for p in folder.iterdir() if p.name.startswith(".out")]


def test_interrupt_during_a_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(GOOD)
    out = tmp_path / "targets.csv"

    def interrupted(source: str, target: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    code = cli.main(["construct", str(scores), "-q", "-o", str(out)])
    assert code == cli.EXIT_INTERRUPTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


def test_interrupt_before_writing_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(GOOD)
    out = tmp_path / "targets.csv"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "construct", interrupted)
    assert cli.main(["construct", str(scores), "-q", "-o", str(out)]) == cli.EXIT_INTERRUPTED
    assert not out.exists()


def test_an_existing_output_survives_a_failed_run(tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("asset,score\nA,nan\n")
    out = tmp_path / "targets.csv"
    out.write_text("yesterday's targets\n")
    assert cli.main(["construct", str(scores), "-q", "-o", str(out)]) == 2
    assert out.read_text() == "yesterday's targets\n"


def test_same_input_same_output(tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(GOOD)
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.csv"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "portcon",
                "construct",
                str(scores),
                "-q",
                "-o",
                str(out),
                "--sizing-mode",
                "score_weighted",
                "--max-bucket-allocation",
                "0.5",
            ],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(run)},
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("flag", ["-o", "--json"])
def test_output_into_a_missing_folder_is_refused(tmp_path: Path, capsys, flag: str) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text(GOOD)
    assert cli.main(["construct", str(scores), "-q", flag, str(tmp_path / "no" / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_result_that_fails_the_independent_check_is_never_returned(monkeypatch) -> None:
    import pandas as pd

    import portcon
    import portcon.construction as construction

    monkeypatch.setattr(construction, "violations", lambda *args, **kwargs: ["cap broken"])
    with pytest.raises(portcon.SolverError, match="break limits: cap broken"):
        portcon.construct(pd.Series({"a": 0.9, "b": 0.8}))


def test_the_chain_moves_on_when_a_solver_fails(monkeypatch) -> None:
    import pandas as pd

    import portcon
    from portcon.optimizer import solve

    missing = solve.Attempt("NOT_A_SOLVER", {})
    monkeypatch.setattr(solve, "SOLVER_CHAIN", (missing, *solve.SOLVER_CHAIN))
    portfolio = portcon.construct(
        pd.Series({"a": 0.9, "b": 0.8, "c": 0.7}), dict(max_single_position=0.5)
    )
    assert portfolio.status == "optimal"
    assert portfolio.solver != "NOT_A_SOLVER"
