"""Re-running the whole construction of a portfolio with some limits changed.

The reports that price a limit by re-solving (a count limit's next slot, a repair of the cash a
book could not invest) need the same flow :func:`portcon.construct` ran: the same prepared
universe and market data, the effective limits with the change, count search and polish
included. The program a portfolio keeps holds all of them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from portcon.portfolio import Portfolio


def reconstruct(portfolio: Portfolio, **changes: Any) -> Portfolio:
    """The portfolio ``construct`` gives for the same inputs with ``changes`` to its limits.

    Raises what :func:`portcon.construct` raises (an InfeasibleError when the changed limits
    leave no portfolio).
    """
    from portcon.construction import Prepared, construct_prepared

    program = portfolio._report.program
    universe = program.universe
    limits = portfolio.limits.replace(**changes)
    prepared = Prepared(universe, limits, program.universe_market, (), time.perf_counter())
    correlation = portfolio._correlation
    given = (
        None
        if correlation is None
        else pd.DataFrame(correlation, index=universe.assets, columns=universe.assets)
    )
    return construct_prepared(prepared, given)
