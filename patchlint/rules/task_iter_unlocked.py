"""task-iter-unlocked: a task-list walk where neither RCU, tasklist_lock nor the siglock is held.

Why is this bad: the task list is RCU-protected; without RCU or tasklist_lock the walk
can follow a task_struct that release_task() is freeing.

Example::

    for_each_process(p)          /* expect: task-iter-unlocked */
        count++;
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.task_iter import check_task_iter_unlocked
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "iterators", "callers")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_task_iter_unlocked(unit)
