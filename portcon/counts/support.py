"""A chosen support as rows of the convex program, and why each excluded asset is out."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from portcon.constraints.base import RowBlock, Rule, Sense
from portcon.counts.rules import Counts
from portcon.optimizer.program import Program


@dataclass(frozen=True, eq=False)
class SupportRule(Rule):
    """The support chosen for the count rules, as constraint rows.

    Members not held: w_i ≤ 0, named by the count rule that excluded them; their shadow price
    is what one more unit of them would save. Those that may go short (``shortable``) also get
    w_i ≥ 0, priced as one more unit of short. Members held with a floor: w_i ≥ ℓ_i.
    """

    size: int
    excluded: dict[str, list[int]]
    floors: dict[str, list[int]]
    lower: np.ndarray
    assets: tuple[str, ...]
    shortable: np.ndarray | None = None

    def _excluded_shorts(self) -> dict[str, list[int]]:
        if self.shortable is None:
            return {}
        chosen = {
            rule: [m for m in found if self.shortable[m]] for rule, found in self.excluded.items()
        }
        return {rule: found for rule, found in chosen.items() if found}

    def parameters(self) -> dict[str, float | np.ndarray]:
        values: dict[str, float | np.ndarray] = {}
        for rule, members in self.excluded.items():
            values[f"support.excluded:{rule}"] = np.zeros(len(members))
        for rule, members in self._excluded_shorts().items():
            values[f"support.excluded_short:{rule}"] = np.zeros(len(members))
        for rule, members in self.floors.items():
            values[f"support.floor:{rule}"] = self.lower[members]
        return values

    def blocks(self) -> list[RowBlock]:
        blocks = []
        for prefix, groups, sense in (
            ("support.excluded", self.excluded, Sense.LE),
            ("support.excluded_short", self._excluded_shorts(), Sense.GE),
            ("support.floor", self.floors, Sense.GE),
        ):
            for rule, members in groups.items():
                rows = len(members)
                selection = np.zeros((rows, self.size))
                selection[np.arange(rows), members] = 1.0
                blocks.append(
                    RowBlock(
                        rule=rule,
                        subjects=tuple(self.assets[m] for m in members),
                        sense=sense,
                        coefficients=sp.csr_array(selection),
                        parameter=f"{prefix}:{rule}",
                    )
                )
        return blocks


def with_support(
    program: Program,
    held: np.ndarray,
    reasons: dict[int, tuple[str, str]],
    counts: Counts,
    overridden: np.ndarray | None = None,
) -> Program:
    """``program`` restricted to the support ``held`` (with floors on held members).

    ``reasons`` maps an excluded member to (rule, sentence); members without one are
    grouped under ``mixed_integer``.
    """
    counts_lower = _floors(program, counts)
    excluded: dict[str, list[int]] = {}
    for member in np.flatnonzero(~held):
        rule = reasons.get(int(member), ("mixed_integer", ""))[0]
        excluded.setdefault(rule, []).append(int(member))
    floors: dict[str, list[int]] = {}
    for member in np.flatnonzero(held & (counts_lower[0] > 0)):
        floors.setdefault(counts_lower[1][member], []).append(int(member))
    support = SupportRule(
        size=len(program.members),
        excluded=excluded,
        floors=floors,
        lower=counts_lower[0],
        assets=program.assets,
        shortable=None if counts.short is None else counts.short > 0,
    )
    sentences = {program.assets[m]: sentence for m, (_, sentence) in reasons.items()}
    notes = dict(program.count_notes)
    if overridden is not None:
        threshold = program.limits.bucket_override_threshold or 0.0
        scores = program.universe.score[program.members]
        for position in np.flatnonzero(overridden):
            asset = program.assets[position]
            note = f"bucket override: score {scores[position]:.2f} ≥ {threshold:.2f}"
            notes[asset] = f"{note}; {notes[asset]}" if asset in notes else note
    return dataclasses.replace(
        program,
        rules=[*program.rules, support],
        count_reasons={**program.count_reasons, **sentences},
        count_notes=notes,
    )


def _floors(program: Program, counts: Counts) -> tuple[np.ndarray, list[str]]:
    """Each member's floor when held (counts.lower) and the rule that sets it."""
    size = len(program.members)
    setting = program.limits.min_position_size or 0.0
    column = program.universe.min_weight
    own = np.zeros(size) if column is None else np.nan_to_num(column[program.members])
    names = []
    for k in range(size):
        if own[k] >= counts.lower[k] and own[k] > setting:
            names.append("min_weight")
        elif setting >= counts.lower[k]:
            names.append("min_position_size")
        else:
            names.append("min_buckets_represented")
    return counts.lower, names


def exclusion_reasons(
    program: Program, held: np.ndarray, counts: Counts, overridden: np.ndarray | None = None
) -> dict[int, tuple[str, str]]:
    """For each member not held: the count rule that keeps it out, and a sentence."""
    limits, assets = counts.limits, program.assets
    used = 0 if overridden is None else int(overridden.sum())
    spare = limits.max_bucket_overrides - used if counts.overridable is not None else 0
    reasons: dict[int, tuple[str, str]] = {}
    new_held = int(np.sum(held & counts.new))
    held_total = int(held.sum())
    partners = held_partners(held, counts.pairs)
    counted = held & (counts.new if limits.allow_bucket_overflow else True)
    in_buckets = existing_in = Counter[str]()
    if counts.buckets is not None:
        in_buckets = Counter(counts.buckets[counted].tolist())
        existing_in = Counter(counts.buckets[~counts.new].tolist())
    for member in np.flatnonzero(~held):
        partner = partners.get(int(member))
        bucket = None if counts.buckets is None else counts.buckets[member]
        bucket_limit = counts.bucket_limits.get(bucket) if bucket is not None else None
        in_bucket = 0 if bucket is None else in_buckets[bucket]
        if partner is not None:
            other, correlation = partner
            reasons[int(member)] = (
                "correlation_limit",
                f"correlation {correlation:.2f} with {assets[other]} above correlation_limit "
                f"{limits.correlation_limit:.2f}",
            )
        elif (
            bucket_limit is not None
            and in_bucket >= bucket_limit
            and (counts.new[member] or not limits.allow_bucket_overflow)
            and not (spare > 0 and counts.overridable is not None and counts.overridable[member])
        ):
            field = (
                "bucket_position_limits"
                if bucket in limits.bucket_position_limits
                else "max_positions_per_bucket"
            )
            sentence = f"{bucket} already has {in_bucket} positions ({field})"
            if limits.allow_bucket_overflow and bucket is not None:  # say what the count is
                existing = existing_in[bucket]
                named = limits.bucket_position_limits.get(bucket)
                allowed = limits.max_positions_per_bucket if named is None else named
                left = f"{bucket_limit}, all taken" if bucket_limit else "none"
                sentence = (
                    f"{bucket} already has {existing} existing positions, {allowed} allowed "
                    f"({field}); allow_bucket_overflow keeps them, slots left for new ones: {left}"
                )
            if counts.overridable is not None and counts.overridable[member]:
                sentence += f" and all {limits.max_bucket_overrides} bucket overrides are used"
            reasons[int(member)] = (field, sentence)
        elif (
            limits.max_new_positions is not None
            and counts.new[member]
            and new_held >= limits.max_new_positions
        ):
            reasons[int(member)] = (
                "max_new_positions",
                f"max_new_positions={limits.max_new_positions} reached",
            )
        elif limits.max_total_positions is not None and held_total >= limits.max_total_positions:
            reasons[int(member)] = (
                "max_total_positions",
                f"max_total_positions={limits.max_total_positions} reached",
            )
        elif counts.lower[member] > counts.upper[member]:
            reasons[int(member)] = (
                "min_position_size",
                f"its minimum size {100 * counts.lower[member]:.1f}% is above what the limits "
                f"allow it ({100 * counts.upper[member]:.1f}%)",
            )
        elif counts.lower[member] > 0:
            reasons[int(member)] = (
                "min_position_size",
                "the count search chose a support without it (held, it would need at least "
                f"{100 * counts.lower[member]:.1f}%)",
            )
    return reasons


def held_partners(
    held: np.ndarray, pairs: Sequence[tuple[int, int, float]]
) -> dict[int, tuple[int, float]]:
    """Each member's first pair (in ``pairs`` order) whose other member is held:
    member → (that member, their correlation)."""
    partners: dict[int, tuple[int, float]] = {}
    for i, j, correlation in pairs:
        if held[j]:
            partners.setdefault(int(i), (int(j), correlation))
        if held[i]:
            partners.setdefault(int(j), (int(i), correlation))
    return partners
