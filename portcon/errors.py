"""The portcon error tree.

Every error portcon raises on purpose is a :class:`PortconError`. Each class says whether
retrying the same call can help (``retryable``) and which exit code the command line uses.

::

    PortconError
    ├── InputError        bad data: which row, which column, why          (exit 2)
    ├── LimitsError       inconsistent or unknown limits                  (exit 2)
    ├── InfeasibleError   no portfolio satisfies the limits               (exit 3)
    ├── SolverError       the solver failed or returned a wrong answer    (exit 4)
    │   └── TimeLimitError  the call's time_limit ran out                 (exit 4)
    └── InternalError     a defect in portcon itself: please report it    (exit 5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class PortconError(Exception):
    """Root of every error portcon raises on purpose.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> try:
    ...     portcon.construct(pd.Series({"A": 0.9}), {"max_single_positon": 0.1})
    ... except portcon.PortconError as error:
    ...     print(type(error).__name__, error.exit_code, error.retryable)
    LimitsError 2 False
    """

    retryable: ClassVar[bool] = False
    exit_code: ClassVar[int] = 1


class InputError(PortconError, ValueError):
    """The input data are malformed: the message names the row, column or asset and the fix.

    Retrying with the same data cannot help.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> try:
    ...     portcon.construct(pd.Series({"A": float("nan")}))
    ... except portcon.InputError as error:
    ...     print(error)
    column 'score': missing, NaN or infinite value for asset(s) A; give a finite number or ...
    """

    exit_code: ClassVar[int] = 2


class LimitsError(PortconError, ValueError):
    """The limits are unknown, out of range or inconsistent with each other or the universe.

    Retrying with the same limits cannot help.

    Examples
    --------
    >>> import portcon
    >>> try:
    ...     portcon.Limits(max_single_positon=0.1)
    ... except portcon.LimitsError as error:
    ...     print(error)
    unknown limit 'max_single_positon' (did you mean 'max_single_position'?)
    """

    exit_code: ClassVar[int] = 2


class InfeasibleError(PortconError):
    """No portfolio satisfies every limit at once.

    Parameters
    ----------
    message
        A plain explanation of the conflict.
    conflicts
        The Limits fields involved.
    repairs
        Alternatives, each a mapping {Limits field: new value} that on its own makes the
        problem feasible.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> limits = {"max_single_position": 0.2, "allow_cash_rollover": False}
    >>> limits["target_allocation"] = 1.0
    >>> try:
    ...     portcon.construct(pd.Series({"A": 0.9, "B": 0.8, "C": 0.7}), limits)
    ... except portcon.InfeasibleError as error:
    ...     print(error.conflicts)
    ...     print(round(error.repairs[0]["target_allocation"], 3))
    ('max_single_position', 'target_allocation')
    0.6
    """

    exit_code: ClassVar[int] = 3

    def __init__(
        self,
        message: str,
        conflicts: Sequence[str] = (),
        repairs: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.conflicts = tuple(conflicts)
        self.repairs = tuple(dict(repair) for repair in repairs)


class SolverError(PortconError):
    """The solver failed, or its answer did not pass the independent limit check.

    Retrying may help when the failure is numerical (``retryable`` is True).

    Parameters
    ----------
    message
        What happened.
    status
        The last solver status seen.
    solver
        The last solver tried.
    tried
        Every solver tried, in order.

    Examples
    --------
    >>> import portcon
    >>> portcon.SolverError.retryable, portcon.SolverError.exit_code
    (True, 4)
    >>> error = portcon.SolverError("no answer", status="numerical", solver="CLARABEL")
    >>> error.status, error.solver
    ('numerical', 'CLARABEL')
    """

    retryable: ClassVar[bool] = True
    exit_code: ClassVar[int] = 4

    def __init__(
        self, message: str, status: str = "", solver: str = "", tried: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.solver = solver
        self.tried = tuple(tried)


class TimeLimitError(SolverError):
    """The call's ``time_limit`` ran out before its answer was ready; nothing was returned.

    Every solve of the call had the time left as its own limit and stopped there. Retrying
    may help on a less busy machine or with a larger ``time_limit``.

    Examples
    --------
    >>> import pandas as pd
    >>> import portcon
    >>> scores = pd.Series({"A": 0.9, "B": 0.8})
    >>> try:
    ...     portcon.construct(scores, time_limit=1e-9)
    ... except portcon.TimeLimitError as error:
    ...     print(error.status, isinstance(error, portcon.SolverError))
    time limit True
    """


class InternalError(PortconError):
    """Something failed inside portcon that its checks did not foresee: a defect to report.

    The original exception is chained (``__cause__``). Retrying the same call cannot help.

    Examples
    --------
    >>> import portcon
    >>> portcon.InternalError.exit_code, portcon.InternalError.retryable
    (5, False)
    """

    exit_code: ClassVar[int] = 5
