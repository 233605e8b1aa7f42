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
