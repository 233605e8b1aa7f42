"""rcu-sleep: a call that may sleep inside an RCU read-side critical section (and no
other atomic context; with a spinlock or irqs off too it is sleep-in-atomic).

Why is this bad: rcu_read_lock() readers must not block; sleeping inside one delays
every grace period (and is a bug lockdep reports as "Illegal context switch in
RCU read-side critical section").

Example:
    rcu_read_lock();
    p = rcu_dereference(head);
    mutex_lock(&p->lock);           /* may sleep */
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.analysis.prefilter import sleep_tokens
from patchlint.analysis.reporting import sleep_findings
from patchlint.findings import Finding
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls", "sleeping")
RULE = "rcu-sleep"


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from sleep_findings(unit, RULE)


def prefilter_tokens() -> tuple[str, ...]:
    """Literal tokens a file needs for this rule to apply (the scan's prefilter)."""
    return sleep_tokens(rcu=True)
