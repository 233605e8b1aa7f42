"""iter-double-loop-break: ``break`` inside a macro that expands to two nested loops.

Why is this bad: in for_each_process_thread() a break leaves only the inner thread loop;
the walk goes on with the next process.

Example::

    for_each_process_thread(p, t)
        if (found(t))
            break;               /* expect: iter-double-loop-break */
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.iter_break import check_iter_double_loop_break
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("iterators",)


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from check_iter_double_loop_break(unit)
