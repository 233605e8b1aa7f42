"""rcu-task-escape: a task pointer found under RCU used after rcu_read_unlock().

Why is this bad: without get_task_struct() the task may be freed once the read-side
section ends.

Example::

    rcu_read_lock();
    p = find_task_by_vpid(pid);
    rcu_read_unlock();
    send_sig(SIGKILL, p, 0);     /* expect: rcu-task-escape */
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.rcu import check_rcu_task_escape
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_rcu_task_escape(unit)
