"""Group-cap and budget blocks are built once per layout and kept (constraints/groups.py,
portfolio.py). Each kept block equals, field for field and byte for byte, the block written
out here the way it was built before on every call; a cap's value never enters a block."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Sense
from portcon.constraints.groups import GroupCap
from portcon.constraints.keys import GroupKind, LimitKey
from portcon.constraints.portfolio import TargetAllocation


def _reference_group_blocks(rule: GroupCap) -> list[RowBlock]:
    groups = list(dict.fromkeys(rule.labels))
    plain = [g for g in groups if g not in rule.overrides] if rule.global_cap else []
    named = [g for g in groups if g in rule.overrides]
    blocks = []
    for field, capped in [(rule.global_field, plain), (rule.override_field, named)]:
        if not capped:
            continue
        membership = np.array([rule.labels == g for g in capped], dtype=float)
        if rule.exempt:
            membership[:, sorted(rule.exempt)] = 0.0
        if field == rule.global_field:
            derivatives = {LimitKey(field): np.ones(len(capped))}
        else:
            derivatives = {LimitKey(field, g): np.eye(len(capped))[k] for k, g in enumerate(capped)}
        blocks.append(
            RowBlock(
                rule=field,
                subjects=tuple(capped),
                sense=Sense.LE,
                coefficients=sp.csr_array(membership),
                parameter=f"{field}:{rule.kind}",
                bound_derivatives=derivatives,
            )
        )
    return blocks


def _assert_same_block(got: RowBlock, expected: RowBlock) -> None:
    assert (got.rule, got.subjects, got.sense, got.parameter, got.includes_cash) == (
        expected.rule,
        expected.subjects,
        expected.sense,
        expected.parameter,
        expected.includes_cash,
    )
    mine, theirs = got.coefficients, expected.coefficients
    assert type(mine) is type(theirs) and mine.shape == theirs.shape
    for part in ("data", "indices", "indptr"):
        a, b = getattr(mine, part), getattr(theirs, part)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert got.bound_derivatives.keys() == expected.bound_derivatives.keys()
    for key, value in expected.bound_derivatives.items():
        assert got.bound_derivatives[key].tobytes() == value.tobytes()


@pytest.mark.parametrize("seed", range(10))
def test_kept_group_blocks_equal_blocks_built_afresh(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    names = [f"G{k}" for k in range(int(rng.integers(1, 7)))]
    labels = np.array([names[k] for k in rng.integers(0, len(names), n)], dtype=object)
    present = list(dict.fromkeys(labels))
    overridden = [g for g in present if rng.random() < 0.4]
    for _ in range(2):  # the second time the kept blocks answer
        rule = GroupCap(
            kind=GroupKind.BUCKET,
            labels=labels.copy(),
            global_field="max_bucket_allocation",
            global_cap=[None, 0.0, float(rng.uniform(0.1, 0.5))][seed % 3],
            override_field="bucket_caps",
            overrides={g: float(rng.uniform(0.05, 0.4)) for g in overridden},
            exempt=frozenset(rng.choice(n, size=int(rng.integers(0, 3)), replace=False).tolist()),
        )
        expected = _reference_group_blocks(rule)
        got = rule.blocks()
        assert len(got) == len(expected)
        for mine, theirs in zip(got, expected, strict=True):
            _assert_same_block(mine, theirs)


def test_kept_group_blocks_follow_the_labels_not_the_caps() -> None:
    labels = np.array(["A", "B", "A", "C"], dtype=object)
    fields = dict(kind=GroupKind.SECTOR, global_field="max_sector_allocation")
    fields |= dict(override_field="sector_caps")
    loose = GroupCap(labels=labels, global_cap=0.5, overrides={"B": 0.1}, **fields)
    tight = GroupCap(labels=labels, global_cap=0.2, overrides={"B": 0.3}, **fields)
    assert [b.layout() for b in loose.blocks()] == [b.layout() for b in tight.blocks()]
    assert loose.parameters()["max_sector_allocation:sector"].tolist() == [0.5, 0.5]
    assert tight.parameters()["max_sector_allocation:sector"].tolist() == [0.2, 0.2]
    moved = GroupCap(labels=labels[::-1].copy(), global_cap=0.5, overrides={"B": 0.1}, **fields)
    assert moved.blocks()[0].coefficients.toarray().tolist() != (
        loose.blocks()[0].coefficients.toarray().tolist()
    )


@pytest.mark.parametrize("size", [1, 7, 500])
@pytest.mark.parametrize(("rollover", "invested"), [(True, None), (False, None), (False, 0.8)])
def test_the_kept_budget_row_equals_one_built_afresh(
    size: int, rollover: bool, invested: float | None
) -> None:
    for target in (1.0, 0.9):
        rule = TargetAllocation(size=size, target=target, rollover=rollover, invested=invested)
        expected = RowBlock(
            rule="target_allocation",
            subjects=("portfolio",),
            sense=Sense.EQ,
            coefficients=sp.csr_array(np.ones((1, size))),
            parameter="target_allocation",
            bound_derivatives={} if invested else {LimitKey("target_allocation"): np.ones(1)},
            includes_cash=rollover,
        )
        (got,) = rule.blocks()
        _assert_same_block(got, expected)


def test_the_shared_identity_is_the_identity_and_stays_so_after_solves() -> None:
    """identity(n) is kept per size and shared by the per-asset blocks of every program; a
    construct (which builds, solves, polishes and explains with it) leaves it unchanged."""
    import pandas as pd

    from portcon import construct
    from portcon.constraints.base import identity
    from portcon.limits import Limits

    def same(matrix: object, size: int) -> bool:
        fresh = sp.eye_array(size, format="csr")
        return all(
            getattr(matrix, part).dtype == getattr(fresh, part).dtype
            and getattr(matrix, part).tobytes() == getattr(fresh, part).tobytes()
            for part in ("data", "indices", "indptr")
        ) and (matrix.shape == fresh.shape)

    assert identity(12) is identity(12)
    assert same(identity(12), 12)
    scores = pd.DataFrame({"score": np.linspace(0.5, 1.0, 12)}, index=[f"I{i}" for i in range(12)])
    construct(scores, Limits(max_single_position=0.1, min_score_threshold=None))
    assert same(identity(12), 12)
