"""Group names are data, never parsed: any text works as a bucket or sector name."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import portcon
from portcon.constraints.keys import LimitKey

AWKWARD = ["Tech [US]", "a,b", 'say "hi"', "it's", "Ünïcødé ✓", "001", "1.0", "x]y["]


def _frame(names: list[str]) -> pd.DataFrame:
    assets = [f"A{k}" for k in range(2 * len(names))]
    return pd.DataFrame(
        {
            "score": [0.9 - 0.01 * k for k in range(len(assets))],
            "bucket": [names[k // 2] for k in range(len(assets))],
        },
        index=assets,
    )


@pytest.mark.parametrize("name", AWKWARD)
def test_a_bracketed_bucket_name_is_priced_and_diagnosed(name: str) -> None:
    frame = _frame([name, "Other"])
    portfolio = portcon.construct(frame, {"bucket_caps": {name: 0.2}, "max_single_position": 0.5})
    sensitivity = portfolio.sensitivity()
    row = sensitivity.loc[f"bucket_caps[{name}]"]
    assert (row["field"], row["group"]) == ("bucket_caps", name)
    assert row["value"] == pytest.approx(0.2)
    assert row["shadow_price"] > 0
    strict = {
        "bucket_caps": {name: 0.2},
        "max_bucket_allocation": 0.3,
        "allow_cash_rollover": False,
        "max_single_position": 0.5,
    }
    with pytest.raises(portcon.InfeasibleError) as caught:
        portcon.construct(frame, strict)
    assert f"bucket_caps[{name}]" in caught.value.conflicts
    repaired = [r for r in caught.value.repairs if "bucket_caps" in r]
    assert repaired, str(caught.value)
    portcon.construct(frame, portcon.Limits(**strict).replace(**repaired[0]))


def test_limit_key_prints_and_reads_its_value() -> None:
    limits = portcon.Limits(bucket_caps={"Tech [US]": 0.25}, max_single_position=0.1)
    key = LimitKey("bucket_caps", "Tech [US]")
    assert str(key) == "bucket_caps[Tech [US]]"
    assert key.value(limits) == 0.25
    assert LimitKey("max_single_position").value(limits) == 0.1
    assert key.moved_to(limits, 0.3) == {"bucket_caps": {"Tech [US]": 0.3}}


group_names = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s)


@settings(max_examples=40, deadline=None)
@given(st.lists(group_names, min_size=2, max_size=4, unique=True), st.floats(0.15, 0.45))
def test_any_group_names_give_a_priced_portfolio(names: list[str], cap: float) -> None:
    frame = _frame(names)
    caps = {names[0]: cap}
    portfolio = portcon.construct(frame, {"bucket_caps": caps, "max_single_position": 0.4})
    sensitivity = portfolio.sensitivity()
    entries = sensitivity[sensitivity["field"] == "bucket_caps"]
    assert list(entries["group"]) == [names[0]]
    exposure = portfolio.weights[frame["bucket"] == names[0]].sum()
    assert exposure <= cap + 1e-9
    assert len(portfolio.explanations) == len(frame)
