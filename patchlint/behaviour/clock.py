"""The clock of the time budgets: CPU time of this process (z3 runs in it), so a
function's budget measures work, not how loaded the machine is."""

from __future__ import annotations

import time


def now() -> float:
    return time.process_time()


# z3's timeouts are wall-clock: give a query this many times the CPU time left, so a
# loaded machine does not turn a decidable query into a timeout; the CPU budget itself
# is enforced between queries.
WALL_PER_CPU = 4


def solver_ms(deadline: float, floor_ms: int = 1) -> int:
    """The wall-clock timeout of a query that may use the CPU time left until ``deadline``."""
    return max(floor_ms, int((deadline - now()) * 1000 * WALL_PER_CPU))
