"""thread-flag-as-group: per-thread state (TIF_MEMDIE, PF_EXITING) answering a group question.

Why is this bad: the flag is set on one thread only; asking it of another thread of the
same process gives the wrong answer where a group-wide predicate exists.

Example::

    if (test_tsk_thread_flag(p, TIF_MEMDIE))   /* expect: thread-flag-as-group */
        return false;            /* good: tsk_is_oom_victim(p) */
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.thread_group import check_thread_flag_as_group
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "task-state", "callers")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_thread_flag_as_group(unit)
