"""Service settings, read from ``PORTCON_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
DEFAULT_DATABASE_URL = "sqlite:///portcon.db"


def _env_float(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number") from None
    if not value > 0:
        raise ValueError(f"{name}={text!r} must be positive")
    return value


def _env_flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={text!r} is not a flag (give 1/0, true/false, yes/no or on/off)")


def normalise_database_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use the psycopg 3 driver the extra installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    """What one service process needs to know.

    Attributes
    ----------
    database_url
        SQLAlchemy URL (``PORTCON_DATABASE_URL``); a SQLite file by default.
    require_api_key
        Whether requests need an API key (``PORTCON_REQUIRE_API_KEY``); ``portcon serve``
        turns it on whenever the host is not a loopback address.
    max_body_bytes
        Largest request body accepted (``PORTCON_MAX_BODY_BYTES``), else 413.
    max_assets
        Most assets (or decisions) in one request (``PORTCON_MAX_ASSETS``), else 422.
    max_solve_seconds
        Wall-clock cap on the solving of one request (``PORTCON_MAX_SOLVE_SECONDS``), else
        503 ``SolveTimeout``; a ``mip_time_limit`` above it is refused with a 422.
    max_scenarios
        Most scenarios in one ``/whatif`` request (``PORTCON_MAX_SCENARIOS``), else 422.
    solver_threads
        Threads that solve requests in each process (``PORTCON_SOLVER_THREADS``); more
        requests wait for one in arrival order. A process runs Python on one core at a time,
        so more threads only interleave requests: they let a quick request pass a long one
        at the cost of GIL contention, which lengthened the tail of quick sizings (one
        decision, 16 clients: P99 217-391 ms with 1 against 286-509 ms with 2, five runs
        each, alternately). Raise it where long constructs share a process with quick
        sizings.
    migrate
        Bring the database schema to the newest revision when the app starts
        (``PORTCON_MIGRATE``); ``portcon serve`` migrates once before starting its workers.
    """

    database_url: str = DEFAULT_DATABASE_URL
    require_api_key: bool = False
    max_body_bytes: int = 10_000_000
    max_assets: int = 5_000
    max_solve_seconds: float = 10.0
    max_scenarios: int = 50
    solver_threads: int = 1
    migrate: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the environment, defaults for what is not set."""
        return cls(
            database_url=normalise_database_url(
                os.environ.get("PORTCON_DATABASE_URL", DEFAULT_DATABASE_URL)
            ),
            require_api_key=_env_flag("PORTCON_REQUIRE_API_KEY", False),
            max_body_bytes=int(_env_float("PORTCON_MAX_BODY_BYTES", 10_000_000)),
            max_assets=int(_env_float("PORTCON_MAX_ASSETS", 5_000)),
            max_solve_seconds=_env_float("PORTCON_MAX_SOLVE_SECONDS", 10.0),
            max_scenarios=int(_env_float("PORTCON_MAX_SCENARIOS", 50)),
            solver_threads=int(_env_float("PORTCON_SOLVER_THREADS", 1)),
            migrate=_env_flag("PORTCON_MIGRATE", True),
        )
