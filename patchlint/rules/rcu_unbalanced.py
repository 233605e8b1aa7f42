"""rcu-unbalanced: a path returning with the RCU read lock held, or unlocking it unheld.

Why is this bad: a leaked read lock blocks grace periods for ever; an extra unlock ends
a caller's section early.

Example::

    rcu_read_lock();
    if (!it)
        return -ENOENT;      /* expect: rcu-unbalanced */
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.rcu import check_rcu_unbalanced
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls", "callers")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_rcu_unbalanced(unit)
