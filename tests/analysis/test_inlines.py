"""Header inlines shown to take no lock, asked only when a finding waits on them
(analysis/inlines.py, lock-unbalanced's "not held" releases)."""

from __future__ import annotations

from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.source import CallSite, FunctionDef, SourceFile, parse_c

HEADER = """
static inline unsigned long zone_pages(struct zone *zone)
{
	return atomic_long_read(&zone->managed);
}

static inline unsigned long zone_locked_pages(struct zone *zone)
{
	unsigned long n;

	spin_lock(&zone->lock);
	n = zone->managed_raw;
	spin_unlock(&zone->lock);
	return n;
}

static inline unsigned long zone_ops_pages(struct zone *zone)
{
	return zone->ops->pages(zone);
}
"""

CALLER = """
static void zone_reserve(struct zone *zone)
{
	unsigned long limit, flags;

	limit = %s(zone) / 100;
	if (zone->reserved >= limit)
		goto out_unlock;

	spin_lock_irqsave(&zone->lock, flags);
	zone->reserved++;
out_unlock:
	spin_unlock_irqrestore(&zone->lock, flags);
}
"""


class HeaderIndex:
    def __init__(self) -> None:
        self.header = parse_c(HEADER, "include/linux/zone.h")
        self.asked: list[str] = []

    def source(self, path: str) -> SourceFile | None:
        return self.header if path == self.header.path else None

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]:
        self.asked.append(name)
        return [(self.header.path, fn) for fn in self.header.functions if fn.name == name]

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]:
        return []


def _findings(callee: str, index: HeaderIndex | None) -> list[str]:
    source = parse_c(CALLER % callee, "mm/zone.c")
    unit = AnalysisUnit(source=source, path=source.path, index=index)
    return [f.rule for f in run_rules(unit, select_rules(enabled=["lock-unbalanced"]))]


def test_a_header_inline_that_takes_no_lock_does_not_hide_the_release() -> None:
    index = HeaderIndex()
    assert _findings("zone_pages", index) == ["lock-unbalanced"]
    assert index.asked == ["zone_pages"]


def test_an_inline_that_locks_or_calls_through_a_pointer_stays_unknown() -> None:
    assert _findings("zone_locked_pages", HeaderIndex()) == []
    assert _findings("zone_ops_pages", HeaderIndex()) == []


def test_without_an_index_the_call_stays_unknown() -> None:
    assert _findings("zone_pages", None) == []
