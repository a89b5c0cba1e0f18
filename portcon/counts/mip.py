"""Meeting position-count limits: SCIP on a perspective-strengthened mixed-integer program.

The mixed-integer program is stated in :mod:`portcon.counts.formulation`. SCIP runs in a
worker process (:mod:`portcon.counts.isolate`); :func:`select` falls back to the labelled
heuristic of :mod:`portcon.counts.heuristic` when it crashes, hangs or finds nothing.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import time
from typing import cast

import cvxpy as cp
import numpy as np
from cvxpy.lin_ops import lin_utils

from portcon.counts import isolate, local_search, perspective
from portcon.counts.deadline import Deadline
from portcon.counts.formulation import (
    TINY,
    build_model,
)
from portcon.counts.heuristic import heuristic, prefer_scores, support_value
from portcon.counts.rules import Counts, count_conflict, count_fields
from portcon.counts.selection import Selection
from portcon.errors import InfeasibleError, SolverError
from portcon.limits import MipMethod
from portcon.optimizer import time_budget
from portcon.optimizer.program import Program
from portcon.optimizer.solution import Solution, SolutionPath

MIP_LARGEST = 3000  # members; beyond this "auto" tries the perspective proof, then the heuristic
SCIP_SHARE = 0.7  # of the count step's time budget; the rest is for the tie pass or fallback
GRACE_SECONDS = 2.0  # a worker silent this long past its share is killed

EASY_MEMBERS = 100  # up to this many members SCIP runs with its "easy CIP" emphasis
# statuses whose support is within the requested gap: SCIP's, and the relaxation's own proof
PROVEN = ("optimal", "gaplimit", perspective.STATUS)


def select(program: Program, counts: Counts, relaxation: Solution, deadline: Deadline) -> Selection:
    """Choose the held members: the perspective relaxation's proof, SCIP (in a worker process),
    else the labelled heuristic.

    When the relaxed perspective program proves its rounded support within ``mip_gap``
    (:mod:`portcon.counts.perspective`), SCIP is not run.

    The heuristic runs when ``mip_method = "heuristic"``, beyond 3000 members with ``auto``
    (after the perspective relaxation's proof, which is tried there too, SCIP is not),
    when SCIP is missing, crashes, or finds nothing within its share of the time; when SCIP
    stops early it also runs, and the better support is kept. Everything stops by
    ``deadline``. The gap and bound are recomputed on the chosen support (see
    :func:`with_gap`).

    Raises
    ------
    InfeasibleError
        When SCIP proves no portfolio meets the count rules with the other limits.
    SolverError
        When ``mip_method`` is ``exact`` and SCIP does not answer, or the heuristic finds no
        feasible support and infeasibility is not proven.
    """
    method = program.limits.mip_method
    notes: list[str] = []
    answer = searched = None
    if len(program.members) > MIP_LARGEST and method == MipMethod.AUTO:
        answer = perspective.proven_support(program, counts, relaxation)
        if answer is None:
            notes.append(
                f"{len(program.members)} candidates (more than {MIP_LARGEST}) and the "
                "perspective relaxation did not prove a support: the heuristic chose it"
            )
    elif method != MipMethod.HEURISTIC:
        answer = perspective.proven_support(program, counts, relaxation)
        failure = ""
        if answer is None:
            answer, failure, searched = scip_and_search(program, counts, relaxation, deadline)
        if answer is None and method == MipMethod.EXACT:
            time_budget.check("SCIP had chosen the held names")
            _check_budget_cut(program, deadline, failure)
            raise SolverError(
                f"{failure}; raise mip_time_limit or set mip_method = 'auto' to allow the "
                "heuristic",
                solver="SCIP",
            )
        if answer is None:
            notes.append(f"{failure}; the labelled heuristic chose the support instead")
    if answer is None:
        selection = searched or heuristic(program, counts, relaxation, deadline)
    else:
        selection = _improved(program, counts, relaxation, deadline, answer, method, searched)
    selection = prefer_scores(program, counts, selection, deadline)
    selection = dataclasses.replace(selection, notes=(*notes, *selection.notes))
    return with_gap(selection, relaxation)


def _check_budget_cut(program: Program, deadline: Deadline, failure: str) -> None:
    """Raise TimeLimitError when SCIP ran out of a time that the call's ``time_limit`` had
    cut below ``mip_time_limit``: then the budget, not the count limit, stopped it.

    Raises
    ------
    TimeLimitError
        When a budget is set, it shortened the count step, and SCIP stopped on time.
    """
    cut = deadline.seconds < program.limits.mip_time_limit
    if time_budget.remaining() is not None and cut and "timelimit" in failure:
        raise time_budget.limit_error(
            f"SCIP had chosen the held names (it had {deadline.seconds:.2g} s of its "
            f"{program.limits.mip_time_limit:g} s mip_time_limit)"
        )


def _improved(
    program: Program,
    counts: Counts,
    relaxation: Solution,
    deadline: Deadline,
    answer: Selection,
    method: MipMethod,
    searched: Selection | None = None,
) -> Selection:
    """SCIP's answer, or the local search's (else the heuristic's) support when SCIP stopped
    early and it is better.

    SCIP stopping at the requested gap (``gaplimit``) has done what was asked: its incumbent
    is within ``mip_gap`` of the optimum, so the heuristic is not run.
    """
    if answer.status in PROVEN or method == MipMethod.EXACT:
        return answer
    value = support_value(program, answer.held, counts)
    answer = dataclasses.replace(answer, objective=value)
    try:
        other = searched or heuristic(program, counts, relaxation, deadline)
    except (SolverError, InfeasibleError):
        return answer
    stopped = f"SCIP stopped ({answer.status}) with gap {answer.gap:.3g}"
    if other.objective is not None and (value is None or other.objective < value):
        return dataclasses.replace(
            other,
            bound=max(answer.bound, other.bound),
            notes=(f"{stopped}; the {_finder(other)} found a better support, which is used",),
        )
    return dataclasses.replace(answer, notes=(f"{stopped}; its incumbent is used",))


def _finder(selection: Selection) -> str:
    return "local search" if selection.status == local_search.STATUS else "heuristic"


def with_gap(selection: Selection, relaxation: Solution) -> Selection:
    """Gap and bound against the objective of the chosen support.

    The bound is the higher of SCIP's dual bound and the convex relaxation's objective (both
    proven lower bounds); gap = (objective − bound) / max(|objective|, 1e-12) ≥ 0.
    """
    objective = selection.objective
    bound = max(selection.bound, relaxation.objective)
    if objective is None:
        return dataclasses.replace(selection, bound=bound, gap=float("inf"))
    bound = min(bound, objective)  # SCIP's bound may overshoot by its tolerance
    gap = (objective - bound) / max(abs(objective), TINY)
    return dataclasses.replace(selection, bound=bound, gap=gap)


def run_scip(
    problem: cp.Problem,
    seconds: float,
    gap: float,
    wanted: tuple[str, ...],
    absolute_gap: float | None = None,
    emphasis: str | None = None,
) -> tuple[dict | None, str]:
    """Solve ``problem`` with SCIP in a worker process within ``seconds``; (result, failure).

    ``emphasis`` names one of SCIP's emphasis settings (``"EASYCIP"``, ...), applied before
    the parameters; it changes how SCIP searches, never what it proves.
    """
    params = {"limits/gap": gap}
    if absolute_gap is not None:
        params["limits/absgap"] = absolute_gap
    job = {
        "problem": problem,
        "id_floor": lin_utils.ID_COUNTER.count,
        "seconds": max(seconds, 0.05),
        "params": params,
        "wanted": wanted,
        "emphasis": emphasis,
    }
    outcome = isolate.run(job, time_budget.cap(seconds + GRACE_SECONDS))
    return outcome.result, outcome.failure


def scip_and_search(
    program: Program, counts: Counts, relaxation: Solution, deadline: Deadline
) -> tuple[Selection | None, str, Selection | None]:
    """SCIP's support (or None and why not), and the local search's, run side by side.

    SCIP runs in its worker process; meanwhile this process runs the local search of
    :mod:`portcon.counts.local_search` (programs of more than ``local_search.SMALLEST``
    members whose objective it can state), which stops when SCIP answers or SCIP's share of
    the time is spent. Its support is re-valued on the program and labelled heuristic.

    Raises
    ------
    InfeasibleError
        When SCIP proves the count rules infeasible with the other limits.
    """
    if not local_search.applies(program, counts):
        return (*solve_scip(program, counts, relaxation, deadline), None)
    box: dict[str, object] = {}
    answered = threading.Event()
    context = contextvars.copy_context()

    def scip() -> None:
        try:
            box["scip"] = context.run(solve_scip, program, counts, relaxation, deadline)
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error
        finally:
            answered.set()

    exact = program.limits.mip_method == MipMethod.EXACT
    until = deadline.share(0.95 if exact else SCIP_SHARE)
    thread = threading.Thread(target=scip, name="portcon-scip", daemon=True)
    thread.start()
    found = local_search.incumbent(program, counts, relaxation, until, stop=answered.is_set)
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    answer, failure = cast(tuple[Selection | None, str], box["scip"])
    return answer, failure, _searched(program, counts, relaxation, found)


def _searched(
    program: Program, counts: Counts, relaxation: Solution, found: local_search.Incumbent | None
) -> Selection | None:
    """The local search's support as a heuristic selection, valued on the program itself."""
    if found is None:
        return None
    value = support_value(program, found.held, counts)
    if value is None:
        return None
    note = (
        f"the local search over supports chose it ({found.solves} supports valued in "
        f"{found.seconds:.1f} s)"
    )
    return Selection(
        held=found.held,
        path=SolutionPath.HEURISTIC,
        gap=float("nan"),
        bound=relaxation.objective,
        status=local_search.STATUS,
        notes=(note,),
        objective=value,
    )


def solve_scip(
    program: Program, counts: Counts, relaxation: Solution, deadline: Deadline
) -> tuple[Selection | None, str]:
    """SCIP's support within its share of ``deadline``, or (None, why not).

    Raises
    ------
    InfeasibleError
        When SCIP proves the count rules infeasible with the other limits.
    """
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        return None, "SCIP (pyscipopt) is not installed"
    model = build_model(program, counts, relaxation)
    exact = program.limits.mip_method == MipMethod.EXACT
    seconds = deadline.share(0.95 if exact else SCIP_SHARE) - time.perf_counter()
    emphasis = "EASYCIP" if len(program.members) <= EASY_MEMBERS else None
    result, failure = run_scip(
        model.problem, seconds, program.limits.mip_gap, ("held", "override"), emphasis=emphasis
    )
    if result is None:
        return None, failure
    if result["status"] in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise InfeasibleError(count_conflict(program, counts), conflicts=count_fields(counts))
    held = result["values"]["held"]
    if held is None:
        return None, f"SCIP found no portfolio within {seconds:.1f} s ({result['scip_status']})"
    override = result["values"]["override"]
    return Selection(
        held=held > 0.5,
        path=SolutionPath.MIXED_INTEGER,
        gap=result["gap"],
        bound=model.scale * dual_bound(result),
        status=result["scip_status"],
        overridden=None if override is None else override > 0.5,
    ), ""


def dual_bound(result: dict) -> float:
    """SCIP's dual bound in the cvxpy objective's units (−inf when SCIP has none)."""
    primal, dual, value = result["primal_bound"], result["dual_bound"], result["value"]
    if value is None or not all(np.isfinite([primal, dual])) or abs(dual) >= 1e19:
        return -np.inf
    return value - (primal - dual)
