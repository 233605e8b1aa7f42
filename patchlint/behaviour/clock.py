"""The clock of the time budgets: CPU time of this process (z3 runs in it), so a
function's budget measures work, not how loaded the machine is."""

from __future__ import annotations

import time


def now() -> float:
    return time.process_time()


# z3's timeouts are wall-clock: a query gets the CPU time left as its wall-clock limit, so
# the budget holds even within one query (on a loaded machine a query may time out
# early: the verdict is then unknown, never wrong).
WALL_PER_CPU = 1


def solver_ms(deadline: float, floor_ms: int = 1) -> int:
    """The wall-clock timeout of a query that may use the CPU time left until ``deadline``."""
    return max(floor_ms, int((deadline - now()) * 1000 * WALL_PER_CPU))
