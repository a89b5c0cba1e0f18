"""`portcon whatif` / `portcon sweep` write their tables, JSON, figures and one HTML file."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from portcon.cli.main import main
from portcon.cli.whatif import parse_values

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHROMIUM = Path("/usr/bin/chromium")


def test_values_grid() -> None:
    assert parse_values("0.05:0.08:0.01") == [0.05, 0.06, 0.07, 0.08]
    assert parse_values("0.1,0.2") == [0.1, 0.2]
    with pytest.raises(Exception, match="START:STOP:STEP"):
        parse_values("0.1:0.05:0.01")


@pytest.fixture(scope="module")
def whatif_output(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whatif") / "out"
    code = main(
        [
            "whatif",
            str(EXAMPLES / "scores.csv"),
            str(EXAMPLES / "scenarios.toml"),
            "--limits",
            str(EXAMPLES / "limits.toml"),
            "--covariance",
            str(EXAMPLES / "covariance.csv"),
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    return out


def test_whatif_writes_every_table_and_a_self_contained_html(whatif_output: Path) -> None:
    names = {p.name for p in whatif_output.iterdir()}
    assert {"weights.csv", "metrics.csv", "reasons.csv", "report.json", "report.html"} <= names
    weights = pd.read_csv(whatif_output / "weights.csv", index_col="asset")
    assert list(weights.columns)[:2] == ["base", "tech cap 8%"]
    assert json.loads((whatif_output / "report.json").read_text())["failures"] == []
    page = (whatif_output / "report.html").read_text()
    assert "src='http" not in page and "<script" not in page  # nothing fetched
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) >= 2
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_command(tmp_path: Path) -> None:
    code = main(
        [
            "sweep",
            str(EXAMPLES / "scores.csv"),
            "--limits",
            str(EXAMPLES / "limits.toml"),
            "--parameter",
            "max_single_position",
            "--values",
            "0.03:0.05:0.01",
            "-o",
            str(tmp_path),
            "-q",
        ]
    )
    assert code == 0
    weights = pd.read_csv(tmp_path / "weights.csv", index_col="asset")
    assert list(weights.columns) == [
        "base",
        "max_single_position=0.03",
        "max_single_position=0.04",
        "max_single_position=0.05",
    ]
    assert (tmp_path / "sweep.png").exists()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_html_renders_in_headless_chromium(whatif_output: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            (whatif_output / "report.html").as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_progress_bar_draws_on_stderr_for_long_runs(capsys) -> None:
    from portcon.cli.whatif import PROGRESS_FROM, _ProgressBar

    total = PROGRESS_FROM + 5
    with _ProgressBar(shown=True) as bar:
        for done in range(1, total + 1):
            bar.update(done, total)
    captured = capsys.readouterr()
    assert f"{total}/{total}" in captured.err
    assert captured.out == ""


def test_progress_bar_hidden_when_quiet_short_or_not_a_terminal(capsys, monkeypatch) -> None:
    import argparse

    from portcon.cli.whatif import PROGRESS_FROM, _ProgressBar, _show_progress

    with _ProgressBar(shown=True) as bar:  # a short run
        bar.update(1, PROGRESS_FROM - 1)
    with _ProgressBar(shown=False) as bar:
        bar.update(1, PROGRESS_FROM + 1)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert not _show_progress(argparse.Namespace(quiet=True))
    assert _show_progress(argparse.Namespace(quiet=False))
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert not _show_progress(argparse.Namespace(quiet=False))
