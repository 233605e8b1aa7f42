"""sleep-in-atomic: a call that may sleep while a spinlock, rwlock or raw spinlock is
held, or while preemption, interrupts or bottom halves are disabled.

Why is this bad: a task that sleeps in atomic context may never be woken (the CPU
cannot schedule), deadlocks against the lock it holds, or corrupts the preemption
count; with CONFIG_DEBUG_ATOMIC_SLEEP the kernel prints "BUG: sleeping function
called from invalid context".

Example:
    spin_lock(&dev->lock);
    buf = kmalloc(len, GFP_KERNEL);   /* may sleep: use GFP_ATOMIC, or allocate first */
    spin_unlock(&dev->lock);
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.analysis.prefilter import sleep_tokens
from patchlint.analysis.reporting import sleep_findings
from patchlint.findings import Finding
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "lock-state", "calls", "sleeping")
RULE = "sleep-in-atomic"


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    yield from sleep_findings(unit, RULE)


def prefilter_tokens() -> tuple[str, ...]:
    """Literal tokens a file needs for this rule to apply (the scan's prefilter)."""
    return sleep_tokens(rcu=False)
