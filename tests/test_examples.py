"""The shipped examples run, and `make demo`'s command works on them."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pandas as pd
import pytest

from portcon.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_scores_are_realistic() -> None:
    scores = pd.read_csv(EXAMPLES / "scores.csv", index_col="asset")
    assert len(scores) >= 40
    assert scores["bucket"].nunique() >= 5 and scores["sector"].nunique() >= 6


def test_python_example_runs(capsys) -> None:
    runpy.run_path(str(EXAMPLES / "example.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "capped at 4.0% by max_single_position" in printed


def test_demo_command_runs_on_the_examples(tmp_path: Path, capsys) -> None:
    out = tmp_path / "targets.csv"
    code = main(
        [
            "construct",
            str(EXAMPLES / "scores.csv"),
            "--limits",
            str(EXAMPLES / "limits.toml"),
            "-o",
            str(out),
            "--json",
            str(tmp_path / "targets.json"),
        ]
    )
    assert code == 0
    assert "Binding limits" in capsys.readouterr().out
    targets = pd.read_csv(out, index_col=0)
    assert targets.loc["LLY", "weight"] == pytest.approx(0.04, abs=1e-12)


def test_readme_python_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 12
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("output"))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "targets.csv").is_file()
    assert "shadow_price" in capsys.readouterr().out


def test_readme_cli_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    command = readme.split(".venv/bin/portcon construct ", 1)[1].split("\n.venv", 1)[0]
    arguments = command.replace("\\\n", " ").split()
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("output"))
    monkeypatch.chdir(tmp_path)
    assert main(["construct", *arguments]) == 0
    assert (tmp_path / "targets.csv").is_file() and (tmp_path / "targets.json").is_file()


def test_risk_example_runs(capsys) -> None:
    runpy.run_path(str(EXAMPLES / "risk_example.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "risk_parity: invested 95.0%" in printed and "KellyResult" in printed
