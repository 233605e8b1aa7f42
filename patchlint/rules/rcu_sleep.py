"""rcu-sleep: a call that may sleep inside an RCU read-side critical section.

Why is this bad: sleeping under rcu_read_lock() is "scheduling while atomic" without
preemptible RCU and blocks grace periods with it.

Example::

    rcu_read_lock();
    buf = kmalloc(len, GFP_KERNEL);   /* expect: rcu-sleep */
    rcu_read_unlock();
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.rcu import check_rcu_sleep
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls", "sleeping")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_rcu_sleep(unit)
