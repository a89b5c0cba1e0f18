"""The CLI's targets table lists held shorts as held positions, not under "Not held"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import portcon
from portcon.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCORES = EXAMPLES / "scores.csv"
COVARIANCE = EXAMPLES / "covariance.csv"
LIMITS = EXAMPLES / "long_short_130_30.toml"


def _rows(lines: list[str], title_start: str, end_start: str) -> dict[str, str]:
    """Asset label → printed weight of the table rows between a title and the next section."""
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(end_start))
    rows = [line for line in lines[start + 1 : end] if line and not line.startswith(" ")]
    return {row.split()[0]: row.split()[1] for row in rows[2:]}  # past the header and its rule


def test_shorts_are_listed_as_held_in_the_targets_table(capsys) -> None:
    argv = ["construct", str(SCORES), "--limits", str(LIMITS), "--covariance", str(COVARIANCE)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    held = _rows(lines, "Targets (", "Not held")
    not_held = _rows(lines, "Not held", "Cash")

    scores = pd.read_csv(SCORES, index_col="asset")
    covariance = pd.read_csv(COVARIANCE, index_col="asset")
    portfolio = portcon.construct(scores, portcon.Limits.from_toml(LIMITS), covariance=covariance)
    weights = portfolio.weights.reindex(scores.index).fillna(0.0)
    shorts, longs = set(weights.index[weights < 0]), set(weights.index[weights > 0])
    assert len(shorts) >= 5  # the example is a 130/30 book
    assert set(held) == shorts | longs
    assert not shorts & set(not_held)
    assert set(not_held) == set(weights.index[weights == 0])
    header = next(line for line in lines if line.startswith("Targets ("))
    assert header == (
        f"Targets ({len(shorts | longs)} held, {len(shorts)} of them short, "
        f"{len(not_held)} not held)"
    )
    for asset in shorts:
        assert held[asset] == f"{100 * weights[asset]:.2f}%", asset  # printed with its sign


def test_round_off_is_never_printed_as_a_negative_zero(capsys) -> None:
    """A fully invested 130/30 book's cash is round-off (±1e-12): "Cash 0.00%", never "-0.00%"."""
    argv = ["construct", str(SCORES), "--limits", str(LIMITS), "--covariance", str(COVARIANCE)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "-0.00%" not in out and "risk -0%" not in out
    assert any(line.startswith("Cash 0.00%") for line in out.splitlines())
