"""One time budget for the whole count step, passed to every loop that can run long."""

from __future__ import annotations

import time


class Deadline:
    """A point in time (``time.perf_counter``) the count step must finish by.

    Parameters
    ----------
    seconds
        The budget from now (``mip_time_limit``).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.started = time.perf_counter()
        self.at = self.started + self.seconds

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.perf_counter())

    def passed(self) -> bool:
        """True once the budget is spent."""
        return time.perf_counter() >= self.at

    def share(self, fraction: float) -> float:
        """An absolute time ``fraction`` of the way from now to the deadline."""
        now = time.perf_counter()
        return now + fraction * max(0.0, self.at - now)

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return time.perf_counter() - self.started
