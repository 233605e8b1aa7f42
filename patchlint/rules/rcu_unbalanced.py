"""rcu-unbalanced: rcu_read_lock()/rcu_read_unlock() do not pair along every path: a
path returns with the RCU read lock still held while other paths release it, or a
path releases it twice.

Why is this bad: a leaked RCU read-side section blocks every grace period (memory
is never freed, synchronize_rcu() hangs) and, on preemptible kernels, leaves the
task's RCU nesting count wrong; a double unlock corrupts it.

Example:
    rcu_read_lock();
    p = rcu_dereference(head);
    if (!p)
        return -ENOENT;             /* returns with the RCU read lock held */
    rcu_read_unlock();
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.analysis.prefilter import balance_tokens
from patchlint.analysis.reporting import balance_findings
from patchlint.findings import Finding
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls", "lock-summaries")
RULE = "rcu-unbalanced"


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from balance_findings(unit, RULE)


def prefilter_tokens() -> tuple[str, ...]:
    """Literal tokens a file needs for this rule to apply (the scan's prefilter)."""
    return balance_tokens(rcu=True)
