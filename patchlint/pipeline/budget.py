"""A wall-clock budget per patch, so one pathological patch cannot stall a run.

Implemented with an interval timer (SIGALRM): available in the main thread on POSIX,
which is where the CLI runs; elsewhere the budget is simply not enforced.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class BudgetExceeded(Exception):
    pass


@contextlib.contextmanager
def patch_budget(seconds: float | None) -> Iterator[None]:
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or seconds <= 0 or not usable:
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise BudgetExceeded(f"more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
