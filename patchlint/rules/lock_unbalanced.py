"""lock-unbalanced: a lock left held on some return paths (error paths) while the
function's other paths release it; a release of a lock that is not held; a second
acquisition of a non-recursive lock already held (self-deadlock); interrupts restored
from a different save than the one the lock was taken with.

Why is this bad: a leaked lock deadlocks the next taker; a double release corrupts
the lock; a second acquisition hangs the CPU; `spin_unlock_irq()` after
`spin_lock_irqsave()` enables interrupts the caller had disabled.

Example:
    mutex_lock(&dev->lock);
    if (!dev->ready)
        return -ENODEV;             /* returns with dev->lock held */
    ...
    mutex_unlock(&dev->lock);
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.analysis.prefilter import balance_tokens
from patchlint.analysis.reporting import balance_findings
from patchlint.findings import Finding
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls", "lock-summaries")
RULE = "lock-unbalanced"


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from balance_findings(unit, RULE)


def prefilter_tokens() -> tuple[str, ...]:
    """Literal tokens a file needs for this rule to apply (the scan's prefilter)."""
    return balance_tokens(rcu=False)
