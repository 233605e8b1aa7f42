"""Sleeps inherited from callers: reported in the function a patch changed, only when
every caller holds an atomic lock and none of them is itself being reported."""

from __future__ import annotations

from patchlint.analysis.reporting import sleep_findings
from patchlint.source import parse_c
from patchlint.units import AnalysisUnit

CODE = """
struct dev { spinlock_t lock; void *buf; };

static void refill(struct dev *d)
{
	d->buf = kmalloc(64, GFP_KERNEL);
}

static void refill_atomic(struct dev *d)
{
	d->buf = kmalloc(64, GFP_ATOMIC);
}

static void refill_nowhere(struct dev *d)
{
	d->buf = kmalloc(64, GFP_KERNEL);
}

void writer(struct dev *d)
{
	spin_lock(&d->lock);
	refill(d);
	refill_atomic(d);
	spin_unlock(&d->lock);
}

static void refill_sometimes(struct dev *d)
{
	d->buf = kmalloc(64, GFP_KERNEL);
}

void locked_user(struct dev *d)
{
	spin_lock(&d->lock);
	refill_sometimes(d);
	spin_unlock(&d->lock);
}

void unlocked_user(struct dev *d)
{
	refill_sometimes(d);
}
"""


def findings(functions: set[str] | None) -> list[tuple[str | None, str]]:
    unit = AnalysisUnit(source=parse_c(CODE, "t.c"), path="t.c", functions=functions)
    return [(f.function, f.key) for f in sleep_findings(unit, "sleep-in-atomic")]


def test_changed_callee_of_locked_callers_is_reported() -> None:
    assert findings({"refill"}) == [("refill", "kmalloc()@callers")]


def test_callers_report_it_when_they_are_checked_too() -> None:
    assert [f for f, _k in findings({"refill", "writer"})] == ["writer"]
    assert [f for f, _k in findings(None)] == ["writer", "locked_user"]


def test_no_inherited_sleep_without_every_caller_locked() -> None:
    assert findings({"refill_sometimes"}) == []
    assert findings({"refill_nowhere"}) == []
    assert findings({"refill_atomic"}) == []
