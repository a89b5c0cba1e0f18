"""Position-count limits as data over a program's members: bounds, classes, pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from portcon.constraints.base import RowBlock, Sense
from portcon.counts.shorts import long_bounds, short_bounds
from portcon.errors import LimitsError
from portcon.limits import Limits
from portcon.optimizer.program import Program

REPRESENTED = 1e-4  # smallest weight that makes a bucket "represented" without min_position_size
COUNT_FIELDS = (
    "max_total_positions",
    "max_new_positions",
    "min_position_size",
    "max_positions_per_bucket",
    "bucket_position_limits",
    "min_buckets_represented",
    "correlation_limit",
    "bucket_override_threshold",
)


def uses_counts(limits: Limits, program: Program) -> bool:
    """True when a count-type limit (or a min_weight column) is in force."""
    if any(
        getattr(limits, field) not in (None, {})
        for field in COUNT_FIELDS
        if field != "bucket_position_limits"
    ):
        return True
    if limits.bucket_position_limits:
        return True
    lower = program.universe.min_weight
    return lower is not None and bool(np.any(np.nan_to_num(lower[program.members]) > 0))


@dataclass(frozen=True, eq=False)
class Counts:
    """The count rules over the members of a program.

    Attributes
    ----------
    lower
        Smallest weight of a held member (min_position_size, min_weight, and the
        representation floor when min_buckets_represented is set), 0 if none.
    upper
        Largest weight a member can take under the linear limits: the big-M of "held".
    new, existing
        Members not held now / held now.
    buckets
        Bucket label per member, or None.
    bucket_limits
        Bucket → most positions (after overflow: most new positions).
    represented
        Smallest weight that counts for min_buckets_represented.
    pairs
        Member pairs that may not both be held (correlation above the limit), with their
        correlation.
    short
        The most each member may be short, the big-M of a held short (None: a long-only
        book; see :mod:`portcon.counts.shorts`).
    overridable
        Members scoring at or above bucket_override_threshold (None when it is off). A bucket
        may hold up to max_bucket_overrides names (over all buckets) past its position count
        when every name it holds is overridable: the seed fills slots by score, so the names
        past the count are its lowest. Overridden names still count towards the bucket, and
        the bucket's allocation cap still holds.
    """

    lower: np.ndarray
    upper: np.ndarray
    new: np.ndarray
    existing: np.ndarray
    buckets: np.ndarray | None
    bucket_limits: dict[str, int]
    represented: float
    pairs: list[tuple[int, int, float]]
    limits: Limits
    overridable: np.ndarray | None = None
    scores: np.ndarray | None = None
    priority: np.ndarray | None = None
    keep: int = 0
    short: np.ndarray | None = None

    @property
    def overrides_possible(self) -> bool:
        """True when some member may break its bucket's limits."""
        return (
            self.overridable is not None
            and bool(self.overridable.any())
            and self.limits.max_bucket_overrides > 0
        )


def derive_counts(program: Program, correlation: np.ndarray | None) -> Counts:
    """Count data for the members of ``program``.

    Raises
    ------
    LimitsError
        When a count limit needs data the inputs lack (buckets, a correlation).
    """
    limits, universe, members = program.limits, program.universe, program.members
    size = len(members)
    short = short_bounds(program)
    lower = np.full(size, limits.min_position_size or 0.0)
    if universe.min_weight is not None:
        lower = np.maximum(lower, np.nan_to_num(universe.min_weight[members]))
    represented = limits.min_position_size or REPRESENTED
    if limits.min_buckets_represented is not None:
        # every held position then counts for its bucket: representation is a matter of support
        lower = np.maximum(lower, represented)
    existing = (
        np.zeros(size, dtype=bool)
        if universe.current_weight is None
        else universe.current_weight[members] > 0
    )
    buckets = None if universe.bucket is None else universe.bucket[members]
    wants_buckets = (
        limits.max_positions_per_bucket is not None
        or bool(limits.bucket_position_limits)
        or limits.min_buckets_represented is not None
    )
    if wants_buckets and universe.bucket is None:
        raise LimitsError(
            "bucket position limits need a 'bucket' column in the scores; add it or switch them off"
        )
    unknown = [
        b
        for b in limits.bucket_position_limits
        if universe.bucket is not None and b not in set(universe.bucket)
    ]
    if unknown:
        raise LimitsError(
            f"bucket_position_limits names bucket(s) {', '.join(unknown)} that no asset has"
        )
    bucket_limits: dict[str, int] = {}
    if buckets is not None:
        for bucket in dict.fromkeys(buckets):
            limit = limits.bucket_position_limits.get(bucket, limits.max_positions_per_bucket)
            if limit is None:
                continue
            if limits.allow_bucket_overflow:
                limit = max(0, limit - int(np.sum(existing & (buckets == bucket))))
            bucket_limits[bucket] = int(limit)
    pairs: list[tuple[int, int, float]] = []
    if limits.correlation_limit is not None:
        if correlation is None:
            raise LimitsError(
                "correlation_limit needs correlations: pass returns=, covariance=, factor_model= "
                "or correlation="
            )
        block = correlation[np.ix_(members, members)]
        for i, j in zip(*np.triu_indices(size, k=1), strict=True):
            if block[i, j] > limits.correlation_limit:
                pairs.append((int(i), int(j), float(block[i, j])))
    overridable = None
    if limits.bucket_override_threshold is not None:
        if buckets is None:
            raise LimitsError("bucket_override_threshold needs a 'bucket' column in the scores")
        overridable = universe.score[members] >= limits.bucket_override_threshold
    priority, keep = _held_first(program, buckets, bucket_limits, pairs)
    return Counts(
        priority=priority,
        keep=keep,
        overridable=overridable,
        scores=universe.score[members],
        lower=lower,
        upper=_upper_bounds(program) if short is None else long_bounds(program),
        short=short,
        new=~existing,
        existing=existing,
        buckets=buckets,
        bucket_limits=bucket_limits,
        represented=represented,
        pairs=pairs,
        limits=limits,
    )


def _held_first(
    program: Program, buckets: np.ndarray | None, limits_by_bucket: dict[str, int], pairs: list
) -> tuple[np.ndarray | None, int]:
    """Members held now that still qualify, and how many of them must keep their slots
    (``prefer_held``): as many as the per-bucket counts, correlation pairs among them and
    max_total_positions allow."""
    priority = program.held_priority
    if not program.limits.prefer_held or priority is None or not priority.any():
        return None, 0
    keep = int(priority.sum())
    if buckets is not None and not program.limits.allow_bucket_overflow:
        for bucket, limit in limits_by_bucket.items():
            inside = int(np.sum(priority & (buckets == bucket)))
            keep -= max(0, inside - limit)
    used: set[int] = set()
    for i, j, _ in pairs:  # each correlated pair of held names can keep one of the two
        if priority[i] and priority[j] and i not in used and j not in used:
            used.update((i, j))
            keep -= 1
    slots = program.limits.max_total_positions
    return priority, max(0, keep if slots is None else min(keep, slots))


def _upper_bounds(program: Program) -> np.ndarray:
    """The largest weight each member can take under any single linear row (the big-M)."""
    size = len(program.members)
    upper = np.full(size, min(1.0, program.limits.target_allocation))
    values = program.parameters()
    for block in program.blocks:
        if not isinstance(block, RowBlock) or block.sense != Sense.LE:
            continue
        bound = block.bound_values(values)
        matrix = block.coefficients
        for row in range(block.rows):
            members = block.row_members(row)
            coefficients = matrix.data[matrix.indptr[row] : matrix.indptr[row + 1]]
            if np.all(coefficients > 0):
                scale = coefficients if len(coefficients) == len(members) else 1.0
                upper[members] = np.minimum(upper[members], bound[row] / scale)
    return np.maximum(upper, 0.0)


def violated(weights: np.ndarray, counts: Counts) -> list[str]:
    """The count rules ``weights`` (over members) break; empty when all hold."""
    limits, held = counts.limits, np.abs(weights) > 1e-10  # a short is a position too
    found = []
    if limits.max_total_positions is not None and held.sum() > limits.max_total_positions:
        found.append("max_total_positions")
    if (
        limits.max_new_positions is not None
        and (held & counts.new).sum() > limits.max_new_positions
    ):
        found.append("max_new_positions")
    if np.any(held & (weights < counts.lower - 1e-9)):
        found.append("min_position_size")
    if counts.buckets is not None:
        counted = held & counts.new if limits.allow_bucket_overflow else held
        needed = 0
        for bucket, limit in counts.bucket_limits.items():
            inside = counted & (counts.buckets == bucket)
            excess = int(inside.sum()) - limit
            if excess <= 0:
                continue
            # the seed fills a bucket's slots by score first: names past the count are its
            # lowest, so every name held in an overflowing bucket must be able to override
            if counts.overridable is None or np.any(inside & ~counts.overridable):
                needed = limits.max_bucket_overrides + 1
                break
            needed += excess
        if needed > (limits.max_bucket_overrides if counts.overridable is not None else 0):
            found.append("max_positions_per_bucket")
        if limits.min_buckets_represented is not None:
            represented = set(counts.buckets[weights >= counts.represented - 1e-9])
            if len(represented) < limits.min_buckets_represented:
                found.append("min_buckets_represented")
    if any(held[i] and held[j] for i, j, _ in counts.pairs):
        found.append("correlation_limit")
    if counts.priority is not None and int(np.sum(held & counts.priority)) < counts.keep:
        found.append("prefer_held")
    return found


def bucket_overrides(held: np.ndarray, counts: Counts) -> np.ndarray | None:
    """The members of support ``held`` that are held by bucket override (None: none).

    An override is used only where the support breaks a bucket's position count: a bucket
    holding e names past its count needs e overrides, given to its e lowest-scoring held
    members (those the seed's score-ordered fill reaches after the count is full; in an
    admissible support every name held in such a bucket scores at or above the threshold).
    The overridden names still count towards the bucket, and its allocation cap still holds.
    """
    if counts.overridable is None or counts.buckets is None:
        return None
    scores = counts.scores if counts.scores is not None else np.zeros(len(held))
    counted = held & (counts.new if counts.limits.allow_bucket_overflow else True)
    overridden = np.zeros(len(held), dtype=bool)
    for bucket, limit in counts.bucket_limits.items():
        inside = counted & (counts.buckets == bucket)
        excess = int(inside.sum()) - limit
        if excess <= 0:
            continue
        candidates = np.flatnonzero(inside & counts.overridable)
        chosen = candidates[np.argsort(scores[candidates], kind="stable")][:excess]
        overridden[chosen] = True
    return overridden if overridden.any() else None


def count_fields(counts: Counts) -> list[str]:
    limits = counts.limits
    fields = [
        field
        for field in (
            "max_total_positions",
            "max_new_positions",
            "min_position_size",
            "max_positions_per_bucket",
            "min_buckets_represented",
            "correlation_limit",
        )
        if getattr(limits, field) is not None
    ]
    return fields + (["bucket_position_limits"] if limits.bucket_position_limits else [])


def count_conflict(program: Program, counts: Counts) -> str:
    limits, words = counts.limits, []
    if limits.min_buckets_represented is not None and counts.buckets is not None:
        available = len(set(counts.buckets[counts.upper >= counts.represented]))
        if available < limits.min_buckets_represented:
            words.append(
                f"min_buckets_represented={limits.min_buckets_represented} but only {available} "
                f"bucket{'s' if available != 1 else ''} have an eligible asset"
            )
    detail = f": {'; '.join(words)}" if words else ""
    return (
        f"no portfolio meets the position-count limits ({', '.join(count_fields(counts))}) "
        f"together with the other limits{detail}"
    )
