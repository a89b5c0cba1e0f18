"""Idempotency and the storing of answers: a decision is answered only after its commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from portcon.service.failures import RequestRefusedError
from portcon.service.storage import DecisionRecord, DuplicateDecisionError, Store


def request_hash(body: BaseModel) -> str:
    """SHA-256 of the request's canonical JSON, fields left at their defaults omitted: a field
    added in a later version (with a default) leaves the hash of an older request unchanged,
    and a field sent with its default value is the same request as one that leaves it out."""
    payload = body.model_dump(mode="json", exclude_defaults=True)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_answers(store: Store, ids: Sequence[str], digest: str) -> list[dict[str, Any]] | None:
    """The stored answers when every id is stored for this same request, else None.

    Raises
    ------
    RequestRefusedError
        409 when an id is stored for a different request, or only some ids are stored.
    """
    found = store.find_many(ids)
    if not found:
        return None
    different = [i for i, (stored, _) in found.items() if stored != digest]
    if different:
        raise RequestRefusedError(
            409,
            "IdempotencyConflict",
            f"decision_id {different[0]!r} was already used for a different request",
        )
    if len(found) < len(set(ids)):
        missing = [i for i in ids if i not in found]
        raise RequestRefusedError(
            409,
            "IdempotencyConflict",
            f"some decision_ids of this batch are stored and {missing[0]!r} is not; "
            "resend the decisions that are not stored in a new batch",
        )
    return [found[i][1] for i in ids]


def commit_or_replay(
    store: Store,
    records: Sequence[DecisionRecord],
    digest: str,
    answers: Callable[[], list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], bool]:
    """Store ``records``; if another request stored them first, its answers (and True)."""
    try:
        store.save(*records)
    except DuplicateDecisionError:
        replay = stored_answers(store, [r.decision_id for r in records], digest)
        if replay is None:  # pragma: no cover - the duplicate was seen, so it is stored
            raise
        return replay, True
    return answers(), False
