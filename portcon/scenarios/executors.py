"""Where scenarios run: serially, in a local process pool, on Dask, or on any Executor.

The base inputs travel once per worker, not once per scenario: a process pool receives them
in its initializer, a Dask cluster by ``client.scatter(..., broadcast=True)``. Each worker
process keeps its own pool of compiled models (portcon/optimizer/model.py), so after a
worker's first scenario of a structure it only re-binds Parameters. Every model is solved
through its DPP compilation, so an answer does not depend on the worker that computed it.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from portcon.scenarios.inputs import Inputs
from portcon.scenarios.model import Scenario

if TYPE_CHECKING:
    from portcon.scenarios.run import Outcome

Progress = Callable[[int, int], None] | None
_installed: Inputs | None = None  # a worker process's copy of the base inputs


def run_all(
    inputs: Inputs,
    scenarios: Sequence[Scenario | None],
    executor: Any = None,
    *,
    workers: int | None = None,
    progress: Progress = None,
) -> list[Outcome]:
    """One :class:`Outcome` per scenario (None is the base), in the order given."""
    from portcon.scenarios.run import run_one

    if executor is None or executor == "serial":
        outcomes = []
        for done, scenario in enumerate(scenarios, start=1):
            outcomes.append(run_one(inputs, scenario))
            _tick(progress, done, len(scenarios))
        return outcomes
    if executor == "processes":
        return _processes(inputs, scenarios, workers, progress)
    if hasattr(executor, "scatter") and hasattr(executor, "gather"):
        return _dask(executor, inputs, scenarios, progress)
    if isinstance(executor, Executor) or hasattr(executor, "submit"):
        futures = [executor.submit(run_one, inputs, scenario) for scenario in scenarios]
        return _collect(futures, progress)
    raise TypeError(
        "executor must be None, 'serial', 'processes', a dask.distributed.Client or a "
        f"concurrent.futures.Executor; got {executor!r}"
    )


def _tick(progress: Progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _collect(futures: list[Future[Outcome]], progress: Progress) -> list[Outcome]:
    for done, _ in enumerate(as_completed(futures), start=1):
        _tick(progress, done, len(futures))
    return [future.result() for future in futures]


def _install(inputs: Inputs) -> None:
    """Process-pool initializer: keep the base inputs in the worker."""
    global _installed
    _installed = inputs


def _run_installed(scenario: Scenario | None) -> Outcome:
    from portcon.scenarios.run import run_one

    if _installed is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker has no inputs installed")
    return run_one(_installed, scenario)


def _processes(
    inputs: Inputs, scenarios: Sequence[Scenario | None], workers: int | None, progress: Progress
) -> list[Outcome]:
    # forkserver: workers fork from a clean server that has imported portcon and cvxpy once,
    # not from this process (whose threads and locks a plain fork would copy mid-use).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["portcon.scenarios.run", "cvxpy"])
    count = max(1, min(workers or os.cpu_count() or 1, len(scenarios)))
    with ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=_install, initargs=(inputs,)
    ) as pool:
        futures = [pool.submit(_run_installed, scenario) for scenario in scenarios]
        return _collect(futures, progress)


def _dask(
    client: Any, inputs: Inputs, scenarios: Sequence[Scenario | None], progress: Progress
) -> list[Outcome]:
    from portcon.scenarios.run import run_one

    shared = client.scatter(inputs, broadcast=True, hash=False)
    run = uuid.uuid4().hex
    futures = [
        client.submit(run_one, shared, scenario, pure=False, key=f"portcon-scenario-{run}-{n}")
        for n, scenario in enumerate(scenarios)
    ]
    if progress is not None:
        from dask.distributed import as_completed as dask_completed

        for done, _ in enumerate(dask_completed(futures), start=1):
            progress(done, len(futures))
    return list(client.gather(futures))
