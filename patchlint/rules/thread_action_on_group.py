"""thread-action-on-group: a single-thread action after a group-wide state change.

Why is this bad: the state change concerns every thread of the process, the action
reaches one of them; the others stay behind (frozen, asleep).

Example::

    tsk->signal->oom_mm = mm;
    __thaw_task(tsk);            /* expect: thread-action-on-group */
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.thread_group import check_thread_action_on_group
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "task-state", "callers")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_thread_action_on_group(unit)
