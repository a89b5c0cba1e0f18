"""SCIP in a separate process: a solver crash or hang never takes portcon down.

SCIP is native code; it has aborted the whole process (``free(): invalid pointer``, signal 6)
on large count problems. The cvxpy problem is compiled to SCIP's conic data in this process,
and a worker process (``python -m portcon.counts.worker``) builds and solves the SCIP model
and sends back plain numbers: status, primal vector, objective, gap and bounds. A worker that
dies (by a signal or otherwise) or does not answer within its deadline is killed and
replaced; the caller gets an :class:`Outcome` saying so and falls back to the heuristic.

Workers are reused: starting one costs an interpreter and the cvxpy/SCIP imports (about a
second), a call on a warm worker a few milliseconds of pickling. Idle workers are kept in a
pool (one per concurrent caller), so threads never share a worker.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import cvxpy as cp
from cvxpy.lin_ops import lin_utils

from portcon.counts.scip_model import LeanScip
from portcon.counts.worker import READY

# The function the worker runs on each job, "module:function". Tests point it elsewhere (for
# instance at :func:`abort_for_tests`) through this environment variable; it is read on every
# call, in the calling process, and sent with the job.
TARGET_VARIABLE = "PORTCON_SCIP_TARGET"
DEFAULT_TARGET = "portcon.counts.isolate:solve_problem"
GRACE_SECONDS = 5.0  # beyond SCIP's own time limit, before a silent worker is killed


@dataclass
class Outcome:
    """What came back from a worker.

    Attributes
    ----------
    result
        The worker's answer (a dict of plain values), or None when it failed.
    failure
        Why there is no result ("" when there is one).
    seconds
        Wall time of the call, worker start included.
    """

    result: dict[str, Any] | None
    failure: str = ""
    seconds: float = 0.0


@dataclass
class _Worker:
    process: subprocess.Popen
    send: Connection
    receive: Connection
    ready: bool = False  # its imports are done and it listens for jobs

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.send.close()
        self.receive.close()


@dataclass
class _Pool:
    idle: list[_Worker] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> _Worker:
        with self.lock:
            while self.idle:
                worker = self.idle.pop()
                if worker.process.poll() is None:
                    return worker
                worker.close()
        return _start()

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            self.idle.append(worker)

    def close(self) -> None:
        with self.lock:
            workers, self.idle = self.idle, []
        for worker in workers:
            worker.close()


_POOL = _Pool()
atexit.register(_POOL.close)


def _start() -> _Worker:
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    process = subprocess.Popen(
        [sys.executable, "-m", "portcon.counts.worker", str(child_reads), str(child_writes)],
        pass_fds=(child_reads, child_writes),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("PORTCON_WORKER_STDERR") else subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # Ctrl-C in a terminal reaches portcon, not the worker
    )
    os.close(child_reads)
    os.close(child_writes)
    return _Worker(process, Connection(parent_writes, readable=False), Connection(parent_reads))


def run(job: dict[str, Any], timeout: float, target: str | None = None) -> Outcome:
    """Run ``job`` in a worker process and wait at most ``timeout`` seconds for the answer.

    ``target`` ("module:function") defaults to the environment variable
    ``PORTCON_SCIP_TARGET``, else :func:`solve_problem`.
    """
    started = time.perf_counter()
    target = target or os.environ.get(TARGET_VARIABLE) or DEFAULT_TARGET
    try:
        worker = _POOL.take()
    except OSError as error:
        return Outcome(None, f"the SCIP worker process could not start ({error})")
    try:
        if not worker.ready and not _wait_ready(worker, timeout):
            _POOL.give_back(worker)  # it goes on starting, for the next call
            return Outcome(
                None,
                f"the SCIP worker process did not start within {timeout:.1f} s",
                time.perf_counter() - started,
            )
        waited = time.perf_counter() - started  # a worker's first start imports its libraries
        if "seconds" in job:
            job = {**job, "seconds": max(0.05, float(job["seconds"]) - waited)}
        worker.send.send((target, job))
        if not worker.receive.poll(max(timeout - waited, 0.0)):
            worker.close()
            return Outcome(
                None,
                f"SCIP did not answer within {timeout:.1f} s and was stopped",
                time.perf_counter() - started,
            )
        result = worker.receive.recv()
    except (EOFError, OSError):
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout=1.0)
        failure = _death(worker.process)
        worker.close()
        return Outcome(None, failure, time.perf_counter() - started)
    if isinstance(result, BaseException):
        worker.close()  # its state is unknown after an exception inside SCIP
        return Outcome(None, f"SCIP failed: {result!r}", time.perf_counter() - started)
    _POOL.give_back(worker)
    return Outcome(result, "", time.perf_counter() - started)


def _wait_ready(worker: _Worker, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds for a new worker's start-up message."""
    if not worker.receive.poll(max(timeout, 0.0)):
        return False
    if worker.receive.recv() != READY:
        raise OSError("the SCIP worker sent something before its start-up message")
    worker.ready = True
    return True


def _death(process: subprocess.Popen) -> str:
    code = process.returncode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"the SCIP process was killed by signal {-code} ({name})"
    return f"the SCIP process exited unexpectedly (exit code {code})"


def solve_problem(job: dict[str, Any]) -> dict[str, Any]:
    """Compile and solve a pickled cvxpy problem with SCIP; runs in the worker.

    ``job``: ``problem``, ``id_floor`` (the parent's cvxpy id counter: ids made here must
    not collide with the problem's), ``seconds`` (wall time from receipt; SCIP's time limit is
    what is left of it once the model is built), ``params`` (SCIP parameters) and ``wanted``
    (variable names whose values to return), optionally ``emphasis`` (the name of a
    ``SCIP_PARAMEMPHASIS`` setting, applied before the parameters). Returns plain values:
    ``status``, ``value``, ``values``, ``scip_status``, ``gap``, ``primal_bound``,
    ``dual_bound``, ``solutions``.
    """
    from pyscipopt import SCIP_PARAMEMPHASIS, Model

    until = time.monotonic() + float(job["seconds"])
    problem: cp.Problem = job["problem"]
    lin_utils.ID_COUNTER.count = max(lin_utils.ID_COUNTER.count, int(job["id_floor"]))
    data, chain, inverse = problem.get_problem_data(solver="SCIP", ignore_dpp=True)
    interface = LeanScip()
    model = Model()
    model.hideOutput(True)
    if job.get("emphasis"):
        model.setEmphasis(getattr(SCIP_PARAMEMPHASIS, job["emphasis"]))
    matrix, rhs, cost, dims = interface._define_data(data)
    variables = interface._create_variables(model, data, cost)
    constraints = interface._add_constraints(model, variables, matrix, rhs, dims)
    params = dict(job["params"])
    params["limits/time"] = max(0.05, until - time.monotonic())
    interface._set_params(model, False, {"scip_params": params}, data, dims)
    raw = interface._solve(model, variables, constraints, data, dims)
    if model.getNSols() == 0 and str(model.getStatus()) != "infeasible":
        return _no_solution(model, job["wanted"])  # cvxpy would call it a solver failure
    problem.unpack_results(raw, chain, inverse)
    named = {variable.name(): variable for variable in problem.variables()}
    return {
        "status": problem.status,
        "value": None if problem.value is None else float(problem.value),
        "values": {name: _value(named.get(name)) for name in job["wanted"]},
        "scip_status": str(model.getStatus()),
        "gap": float(model.getGap()),
        "primal_bound": float(model.getPrimalbound()),
        "dual_bound": float(model.getDualbound()),
        "solutions": int(model.getNSols()),
        "solve_seconds": float(model.getSolvingTime()),
    }


def _no_solution(model: Any, wanted: tuple[str, ...]) -> dict[str, Any]:
    """The answer when SCIP stopped (at its time limit, say) before finding any solution."""
    return {
        "status": cp.USER_LIMIT,
        "value": None,
        "values": dict.fromkeys(wanted),
        "scip_status": str(model.getStatus()),
        "gap": float("inf"),
        "primal_bound": float("inf"),
        "dual_bound": float(model.getDualbound()),
        "solutions": 0,
        "solve_seconds": float(model.getSolvingTime()),
    }


def _value(variable: cp.Variable | None) -> Any:
    return None if variable is None or variable.value is None else variable.value.copy()


def abort_for_tests(job: dict[str, Any]) -> dict[str, Any]:
    """A test hook: the worker aborts (signal 6), as SCIP has done on large problems."""
    os.abort()


def sleep_for_tests(job: dict[str, Any]) -> dict[str, Any]:
    """A test hook: the worker never answers in time."""
    time.sleep(3600)
    return {}
