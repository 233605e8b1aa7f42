"""The result cache of a whole-tree scan: a warm scan reports exactly what a scan
without the cache reports, on the tree as it is now, after every kind of change."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from patchlint import scan_cache, scan_workers
from patchlint.result import ScanResult
from patchlint.scan import scan_tree
from tests.test_scan import CALLER as LOCKED_CALLER
from tests.test_scan import HELPER as WALK

RULES = ["task-iter-unlocked", "sleep-in-atomic"]

SPIN_CALLER = """
#include "demo.h"

struct demo { spinlock_t lock; };

void poke(struct demo *d)
{
	spin_lock(&d->lock);
	demo_settle(d);
	spin_unlock(&d->lock);
}
"""
SLEEPING_HEADER = """
static inline void demo_settle(struct demo *d)
{
	msleep(10);
}
"""
QUIET_HEADER = """
static inline void demo_settle(struct demo *d)
{
	d->ready = 1;
}
"""
HOST_CODE = """
static DEFINE_SPINLOCK(host_lock);

void host_poll(void)
{
	spin_lock(&host_lock);
	msleep(1);
	spin_unlock(&host_lock);
}
"""
HOST_MAKEFILE = "USER_OBJS := host.o\n\ninclude $(srctree)/arch/um/scripts/Makefile.rules\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    # Files written just before a scan are "racy" (re-read whatever their stat says);
    # the tests write and scan within milliseconds, so the window is closed here and
    # tested on its own below.
    monkeypatch.setattr(scan_cache, "RACY_NS", 0)
    root = tmp_path / "tree"
    _write(root / "kernel" / "helper.c", WALK)
    _write(root / "kernel" / "caller.c", LOCKED_CALLER)
    _write(root / "drivers" / "demo.h", SLEEPING_HEADER)
    _write(root / "drivers" / "poke.c", SPIN_CALLER)
    _write(root / "drivers" / "plain.c", "int x(void) { return 1; }\n")
    _write(root / "arch" / "um" / "os" / "host.c", HOST_CODE)
    _write(root / "arch" / "um" / "os" / "Makefile", HOST_MAKEFILE)
    return root


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files each scan analyses (scans run in-process with jobs=1)."""
    seen: list[str] = []
    original: Callable[[str], scan_workers.Outcome] = scan_workers.scan_file

    def spy(relative: str) -> scan_workers.Outcome:
        seen.append(relative)
        return original(relative)

    monkeypatch.setattr(scan_workers, "scan_file", spy)
    return seen


def _seen(result: ScanResult) -> list[tuple[object, ...]]:
    return [(f.file, f.line, f.rule, f.key, f.message) for f in result.findings] + [
        ("error", *error) for error in result.errors
    ]


def _warm_equals_cold(root: Path) -> ScanResult:
    warm = scan_tree(root, RULES, jobs=1, use_cache=True)
    cold = scan_tree(root, RULES, jobs=1, use_cache=False)
    assert _seen(warm) == _seen(cold)
    assert (warm.files_candidate, warm.files_scanned) == (cold.files_candidate, cold.files_scanned)
    return warm


def _bump(path: Path) -> None:
    """A new modification time, the content unchanged (`touch`)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 5_000_000_000))


def test_unchanged_tree_is_not_analysed_again(tree: Path, analysed: list[str]) -> None:
    first = _warm_equals_cold(tree)
    assert {(f.file, f.rule) for f in first.findings} == {("drivers/poke.c", "sleep-in-atomic")}
    analysed.clear()
    again = scan_tree(tree, RULES, jobs=1, use_cache=True)
    assert analysed == []
    assert _seen(again) == _seen(first)


def test_a_touched_file_is_analysed_again(tree: Path, analysed: list[str]) -> None:
    _warm_equals_cold(tree)
    _bump(tree / "drivers" / "plain.c")
    _bump(tree / "drivers" / "poke.c")
    analysed.clear()
    scan_tree(tree, RULES, jobs=1, use_cache=True)
    assert "drivers/poke.c" in analysed
    assert "drivers/plain.c" not in analysed  # read again, but it has no rule's token
    assert "arch/um/os/host.c" not in analysed  # unchanged, asked nothing of the tree


def test_a_changed_file_changes_its_findings(tree: Path) -> None:
    _warm_equals_cold(tree)
    _write(tree / "drivers" / "poke.c", SPIN_CALLER.replace("spin_lock(&d->lock);", ""))
    _write(tree / "drivers" / "plain.c", WALK.replace("walk", "count"))
    result = _warm_equals_cold(tree)
    assert {(f.file, f.rule) for f in result.findings} == {
        ("drivers/plain.c", "task-iter-unlocked")
    }


def test_a_header_change_reaches_the_files_using_it(tree: Path) -> None:
    _warm_equals_cold(tree)
    _write(tree / "drivers" / "demo.h", QUIET_HEADER)
    assert _warm_equals_cold(tree).findings == []
    _write(tree / "drivers" / "demo.h", SLEEPING_HEADER + "\n")
    assert len(_warm_equals_cold(tree).findings) == 1


def test_a_change_of_the_callers_reaches_the_callee(tree: Path) -> None:
    """helper.c's finding depends on caller.c, which alone changes."""
    _warm_equals_cold(tree)
    _write(tree / "kernel" / "caller.c", LOCKED_CALLER.replace("rcu_read_", "local_irq_"))
    result = _warm_equals_cold(tree)
    assert ("kernel/helper.c", "task-iter-unlocked") in {(f.file, f.rule) for f in result.findings}
    (tree / "kernel" / "caller.c").unlink()
    _warm_equals_cold(tree)


def test_a_makefile_change_reaches_its_directory(tree: Path) -> None:
    assert "arch/um/os/host.c" not in {f.file for f in _warm_equals_cold(tree).findings}
    _write(tree / "arch" / "um" / "os" / "Makefile", HOST_MAKEFILE.replace("host.o", "other.o"))
    assert "arch/um/os/host.c" in {f.file for f in _warm_equals_cold(tree).findings}
    (tree / "arch" / "um" / "os" / "Makefile").unlink()
    _warm_equals_cold(tree)


def test_new_and_removed_files(tree: Path) -> None:
    _warm_equals_cold(tree)
    _write(tree / "mm" / "new.c", WALK.replace("walk", "other_walk"))
    assert "mm/new.c" in {f.file for f in _warm_equals_cold(tree).findings}
    (tree / "drivers" / "poke.c").unlink()
    assert "drivers/poke.c" not in {f.file for f in _warm_equals_cold(tree).findings}


def test_a_file_written_within_the_clock_window_is_read_again(
    tree: Path, analysed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_cache, "RACY_NS", 2_000_000_000)
    scan_tree(tree, RULES, jobs=1, use_cache=True)
    analysed.clear()
    scan_tree(tree, RULES, jobs=1, use_cache=True)  # every file is seconds old
    assert "drivers/poke.c" in analysed


def test_a_lost_results_file_means_a_full_scan(tree: Path, analysed: list[str]) -> None:
    first = _warm_equals_cold(tree)
    (tree / "drivers" / "plain.c").write_text("int y(void) { return 2; }\n")
    for results in (tree.parent / "cache" / "scan").rglob(scan_cache.RESULTS):
        results.unlink()
    analysed.clear()
    again = scan_tree(tree, RULES, jobs=1, use_cache=True)
    assert "drivers/poke.c" in analysed
    assert _seen(again) == _seen(first)
