"""May-sleep across files: the scan's table, deferred findings, and patch checks
that look callees up in the table a scan left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.analysis import SummaryTable, load_table, table_path
from patchlint.analysis.external import SleepExport
from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.scan import scan_tree
from patchlint.source import FunctionIndex, parse_c

CALLER = """
struct demo { spinlock_t lock; };

void poke(struct demo *d)
{
	spin_lock(&d->lock);
	demo_settle(d);
	spin_unlock(&d->lock);
}
"""
SLEEPER = """
static void demo_wait(struct demo *d)
{
	msleep(10);
}

void demo_settle(struct demo *d)
{
	demo_wait(d);
}
"""
NOT_A_SLEEPER = """
void demo_settle(struct demo *d)
{
	d->ready = 1;
}
"""


def _tree(root: Path, sleeper: str) -> Path:
    (root / "drivers").mkdir(parents=True)
    (root / "drivers" / "caller.c").write_text(CALLER)
    (root / "drivers" / "helper.c").write_text(sleeper)
    return root


def test_scan_reports_a_callee_in_another_file_with_its_chain(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", SLEEPER)
    result = scan_tree(root, ["sleep-in-atomic"], jobs=1)
    (finding,) = result.findings
    assert (finding.file, finding.line) == ("drivers/caller.c", 7)
    assert "demo_settle -> demo_wait" in finding.message
    assert any("demo_settle() -> demo_wait() -> msleep()" in e.message for e in finding.evidence)


def test_scan_is_silent_when_the_callee_does_not_sleep(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", NOT_A_SLEEPER)
    assert scan_tree(root, ["sleep-in-atomic"], jobs=1).findings == []


def test_every_definition_must_sleep() -> None:
    table = SummaryTable()
    table.add([SleepExport("f", "a.c", ("msleep",)), SleepExport("f", "b.h", None)])
    assert table.sleeps("f") is None
    table = SummaryTable()
    table.add([SleepExport("f", "a.c", None, ("g",)), SleepExport("g", "g.c", ("schedule",))])
    assert table.sleeps("f") == ("g", "schedule")


@pytest.mark.parametrize("sleeper, found", [(SLEEPER, 1), (NOT_A_SLEEPER, 0)])
def test_check_uses_the_table_of_an_earlier_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleeper: str, found: int
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    root = _tree(tmp_path / "tree", sleeper)
    scan_tree(root, ["sleep-in-atomic"], jobs=1, use_cache=True)
    path = table_path(root)
    assert path is not None and load_table(path) is not None
    index = FunctionIndex(root)
    source = parse_c(CALLER, "drivers/caller.c")
    unit = AnalysisUnit(source=source, path="drivers/caller.c", index=index)
    findings = run_rules(unit, select_rules(enabled=["sleep-in-atomic"]))
    assert len(findings) == found


GFP_CALLER = """
static DEFINE_SPINLOCK(demo_lock);

void poke_gfp(struct demo *d)
{
	spin_lock(&demo_lock);
	demo_set_mask(d, GFP_KERNEL);
	demo_alloc(d, GFP_KERNEL);
	demo_unseen(d, GFP_KERNEL);
	demo_prepare(d);
	demo_fill(d);
	spin_unlock(&demo_lock);
}
"""
GFP_HELPERS = """
static inline int demo_index(gfp_t flags)
{
	return flags & 1;
}

void demo_set_mask(struct demo *d, gfp_t mask)
{
	d->mask = mask;
	d->index = demo_index(mask);
}

void demo_alloc(struct demo *d, gfp_t gfp)
{
	d->buf = demo_buffer(gfp);
}

static void *demo_buffer(gfp_t gfp)
{
	return kmalloc(64, gfp);
}
"""
GFP_WRAPPERS = """
void demo_locked(struct demo *d)
{
	spin_lock(&d->lock);
	spin_unlock(&d->lock);
}

void demo_prepare(struct demo *d)
{
	demo_set_mask(d, GFP_KERNEL);
}

void demo_fill(struct demo *d)
{
	demo_alloc(d, GFP_NOFS);
}
"""


def test_blocking_flags_count_for_callees_that_allocate_with_them(tmp_path: Path) -> None:
    """A callee passed GFP_KERNEL sleeps when it is unseen or allocates with the flags,
    not when its definition only stores them (mapping_set_gfp_mask())."""
    root = tmp_path / "tree"
    (root / "drivers").mkdir(parents=True)
    (root / "drivers" / "caller.c").write_text(GFP_CALLER)
    (root / "drivers" / "helpers.c").write_text(GFP_HELPERS)
    (root / "drivers" / "wrappers.c").write_text(GFP_WRAPPERS)
    result = scan_tree(root, ["sleep-in-atomic"], jobs=1)
    assert sorted(f.line for f in result.findings) == [8, 9, 11]


def test_allocates_with_needs_one_allocating_definition() -> None:
    table = SummaryTable()
    table.add([SleepExport("f", "a.c", None, gfp_params=(1,)), SleepExport("f", "b.c", None)])
    assert table.allocates_with("f", (1,))  # a stub for other configurations does not excuse it
    table.add([SleepExport("g", "a.c", None), SleepExport("g", "b.c", None)])
    assert not table.allocates_with("g", (1,))
    assert table.allocates_with("unseen", (0,))
    table = SummaryTable()
    table.add([SleepExport("f", "a.c", None, gfp_params=(1,))])
    assert table.allocates_with("f", (1,)) and not table.allocates_with("f", (0,))


def test_flags_forwarded_to_a_function_defined_elsewhere_too() -> None:
    """A header's wrapper passes its flags to a function the header defines as one
    configuration's stub and lib/ defines for real (zalloc_cpumask_var())."""
    table = SummaryTable()
    table.add(
        [
            SleepExport("wrap", "x.h", None, gfp_forwards=((1, "real", 1),)),
            SleepExport("real", "x.h", None),
            SleepExport("real", "lib/x.c", None, gfp_params=(1,)),
            SleepExport("store", "x.h", None, gfp_forwards=((1, "keep", 1),)),
            SleepExport("keep", "x.h", None),
        ]
    )
    assert table.allocates_with("wrap", (1,))
    assert not table.allocates_with("wrap", (0,))
    assert not table.allocates_with("store", (1,))
