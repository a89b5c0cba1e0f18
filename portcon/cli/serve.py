"""``portcon serve`` and ``portcon keys create``: the position-sizing service's commands.

Importing this module loads nothing heavy: FastAPI, uvicorn and SQLAlchemy are imported when
a command runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from portcon.errors import InputError

COMMANDS = frozenset({"serve", "keys"})
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def add_service_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and ``keys`` on the CLI's sub-command table."""
    serve = commands.add_parser(
        "serve",
        help="run the position-sizing HTTP service",
        description="Run the HTTP service (FastAPI on uvicorn). API keys are required whenever "
        "--host is not a loopback address.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    _database_flag(serve)
    keys = commands.add_parser("keys", help="manage API keys", description="Manage API keys.")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", default="default", help="a label for the key")
    _database_flag(create)


def _database_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PORTCON_DATABASE_URL", "sqlite:///portcon.db"),
        help="SQLAlchemy URL (default $PORTCON_DATABASE_URL or sqlite:///portcon.db)",
    )


def run_service_command(arguments: argparse.Namespace) -> int:
    """Carry out ``serve`` or ``keys create``; returns the exit code."""
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise InputError(
            f"the service needs the 'service' extra: pip install 'portcon[service]' ({error.name} "
            "is missing)"
        ) from None
    if arguments.command == "keys":
        return _create_key(arguments)
    return _serve(arguments)


def _create_key(arguments: argparse.Namespace) -> int:
    from portcon.service.keys import create_key
    from portcon.service.migrations import upgrade
    from portcon.service.storage import Store, make_engine

    engine = make_engine(arguments.database_url)
    upgrade(engine)
    print(create_key(Store(engine), arguments.name))
    print("portcon: store this key now; it is not shown again", file=sys.stderr)
    return 0


def _serve(arguments: argparse.Namespace) -> int:
    import uvicorn

    from portcon.service import workers
    from portcon.service.migrations import upgrade
    from portcon.service.settings import normalise_database_url
    from portcon.service.storage import make_engine

    if not 0 < arguments.port < 65536:
        raise InputError(f"--port must be in 1..65535, got {arguments.port}")
    if arguments.workers < 1:
        raise InputError(f"--workers must be at least 1, got {arguments.workers}")
    url = normalise_database_url(arguments.database_url)
    engine = make_engine(url)
    upgrade(engine)  # once, before any worker starts
    engine.dispose()
    os.environ["PORTCON_DATABASE_URL"] = url
    os.environ["PORTCON_MIGRATE"] = "0"
    if arguments.host not in LOOPBACK:
        os.environ["PORTCON_REQUIRE_API_KEY"] = "1"
    made = _metrics_folder(arguments.workers)
    try:
        if arguments.workers > 1 and workers.available():
            # one socket per process: uvicorn's shared socket left all of a client's
            # keep-alive connections on one worker (service/workers.py)
            workers.serve(arguments.host, arguments.port, arguments.workers)
        else:
            uvicorn.run(
                workers.APP,
                factory=True,
                host=arguments.host,
                port=arguments.port,
                workers=arguments.workers,
                log_level="warning",
            )
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def _metrics_folder(workers: int) -> str | None:
    """With several workers, a folder for prometheus_client's multiprocess mode.

    A ``PROMETHEUS_MULTIPROC_DIR`` already set is used, its ``*.db`` files (an earlier run's
    values) removed; otherwise a temporary folder is made (and returned, to be removed after).
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    if workers <= 1:
        return None
    made = tempfile.mkdtemp(prefix="portcon-metrics-")
    os.environ[MULTIPROC_ENV] = made
    return made
