"""rcu-task-escape: a task pointer found under RCU (find_task_by_vpid(), a task-list
walk) is used after rcu_read_unlock() without taking a reference.

Why is this bad: once the read-side section ends, the task may exit and its
task_struct be freed after a grace period: the later use touches freed memory.
get_task_struct() inside the section (or a lock that pins the task, such as
tasklist_lock) keeps it alive.

Example:
    rcu_read_lock();
    p = find_task_by_vpid(nr);
    rcu_read_unlock();
    return p->prio;                 /* p may be freed by now */
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from patchlint.analysis.facts import file_facts
from patchlint.analysis.reporting import analysed_functions
from patchlint.findings import Evidence, Finding
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls")
RULE = "rcu-task-escape"


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    ff = file_facts(unit)
    for fn, facts in analysed_functions(unit):
        seen: set[tuple[str, int]] = set()
        occurrences: Counter[str] = Counter()
        for _node_id, var, found, unlocked, line, how in sorted(
            facts.events.escapes, key=lambda item: (item[4], item[1])
        ):
            if (var, line) in seen:
                continue
            seen.add((var, line))
            key = f"{var}:{how}#{occurrences[var]}"
            occurrences[var] += 1
            evidence = [
                Evidence(
                    "lock", f"{var} obtained inside the RCU section at line {found}", ff.path, found
                ),
                Evidence(
                    "unlock",
                    f"RCU read lock released at line {unlocked} without a reference to {var}",
                    ff.path,
                    unlocked,
                ),
                Evidence("call", f"{var} used after the section ({how})", ff.path, line),
            ]
            yield Finding(
                rule=RULE,
                severity="warning",
                message=f"task pointer {var} found under RCU is used after rcu_read_unlock() "
                "without a reference",
                file=ff.path,
                line=line,
                function=fn.name,
                key=key,
                evidence=evidence,
                confidence="medium",
            )
