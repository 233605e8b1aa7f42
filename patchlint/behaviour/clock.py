"""The clock of the time budgets: CPU time of this process (z3 runs in it), so a
function's budget measures work, not how loaded the machine is."""

from __future__ import annotations

import time


def now() -> float:
    return time.process_time()
