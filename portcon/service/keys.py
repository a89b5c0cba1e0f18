"""API keys: ``pc_<key id>_<secret>``; only the SHA-256 of the secret is stored.

The secret is 256 random bits, so a fast hash is enough (no password stretching needed); the
comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from portcon.service.storage import Store

PREFIX = "pc_"


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(store: Store, name: str) -> str:
    """Store a new key under ``name`` and return it (the only time it is shown)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    store.add_key(key_id, name, digest(secret))
    return f"{PREFIX}{key_id}_{secret}"


def split(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    if not key.startswith(PREFIX):
        return None
    key_id, _, secret = key[len(PREFIX) :].partition("_")
    if len(key_id) != 16 or not secret:
        return None
    return key_id, secret


class KeyChecker:
    """Verifies keys against the store, remembering good ones for ``ttl`` seconds."""

    def __init__(self, store: Store, ttl: float = 30.0) -> None:
        self.store = store
        self.ttl = ttl
        self._good: dict[str, float] = {}
        self._lock = threading.Lock()

    def valid(self, key: str) -> bool:
        """Whether ``key`` is a stored, unrevoked key."""
        now = time.monotonic()
        with self._lock:
            if self._good.get(key, 0.0) > now:
                return True
        parts = split(key)
        if parts is None:
            return False
        stored = self.store.key_hash(parts[0])
        if stored is None or not hmac.compare_digest(stored, digest(parts[1])):
            return False
        with self._lock:
            self._good[key] = now + self.ttl
        return True
