"""User accesses with page faults disabled by every caller, tree-wide: a static
function of a header called through a renaming macro from other files (the whole-tree
scan and a patch check both look the callers up in the tree)."""

from __future__ import annotations

from pathlib import Path

from patchlint.analysis.callers import renaming_macros
from patchlint.analysis.facts import FileFacts
from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.scan import scan_tree
from patchlint.source import FunctionIndex, parse_c

HEADER = """
static inline int demo_op_local(u32 __user *uaddr, u32 *out)
{
	int ret;

	preempt_disable();
	ret = get_user(*out, uaddr);
	preempt_enable();
	return ret;
}

#define demo_op(uaddr, out) \\
	demo_op_local(uaddr, out)
"""
QUIET_CALLER = """
int demo_read(u32 __user *uaddr, u32 *out)
{
	int ret;

	pagefault_disable();
	ret = demo_op(uaddr, out);
	pagefault_enable();
	return ret;
}
"""
LOUD_CALLER = """
int demo_read_faulting(u32 __user *uaddr, u32 *out)
{
	return demo_op(uaddr, out);
}
"""
DRIVER = """
static DEFINE_SPINLOCK(demo_lock);

int demo_write(void __user *ubuf, void *kbuf, size_t len)
{
	int ret = 0;

	spin_lock(&demo_lock);
	if (copy_from_user(kbuf, ubuf, len))
		ret = -EFAULT;
	spin_unlock(&demo_lock);
	return ret;
}
"""


def _tree(root: Path, *callers: str) -> Path:
    (root / "include" / "asm-demo").mkdir(parents=True)
    (root / "include" / "asm-demo" / "futex.h").write_text(HEADER)
    (root / "kernel").mkdir()
    for number, text in enumerate(callers):
        (root / "kernel" / f"caller{number}.c").write_text(text)
    (root / "drivers").mkdir()
    (root / "drivers" / "demo.c").write_text(DRIVER)
    return root


def _sleeps(root: Path) -> list[tuple[str, int]]:
    result = scan_tree(root, ["sleep-in-atomic"], jobs=1)
    return sorted((f.file, f.line) for f in result.findings)


def test_scan_callers_disabling_page_faults_through_a_renaming_macro(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", QUIET_CALLER)
    assert _sleeps(root) == [("drivers/demo.c", 9)]


def test_scan_one_caller_with_page_faults_enabled_keeps_the_finding(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", QUIET_CALLER, LOUD_CALLER)
    assert _sleeps(root) == [("drivers/demo.c", 9), ("include/asm-demo/futex.h", 7)]


def test_patch_check_asks_the_tree_about_the_callers(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree", QUIET_CALLER)
    index = FunctionIndex(root)
    source = parse_c(HEADER, "include/asm-demo/futex.h")
    unit = AnalysisUnit(source=source, path=source.path, index=index)
    assert list(run_rules(unit, select_rules(["sleep-in-atomic"]))) == []
    # Without the tree, nobody visibly calls it: the finding stays.
    alone = AnalysisUnit(source=source, path=source.path)
    findings = run_rules(alone, select_rules(["sleep-in-atomic"]))
    assert [(f.rule, f.line) for f in findings] == [("sleep-in-atomic", 7)]


def test_renaming_macros_only_rename() -> None:
    text = HEADER + "#define demo_twice(u, o) (demo_op_local(u, o) + demo_op_local(u, o))\n"
    source = parse_c(text, "demo.h")
    assert renaming_macros(FileFacts(source, "demo.h", None), "demo_op_local") == ("demo_op",)


CROSS_CALLER = """
static DEFINE_SPINLOCK(demo_lock);

int demo_peek(u32 __user *uaddr, u32 *out)
{
	int ret;

	spin_lock(&demo_lock);
	pagefault_disable();
	ret = demo_fetch(uaddr, out);
	ret |= demo_fetch_and_wait(uaddr, out);
	pagefault_enable();
	spin_unlock(&demo_lock);
	return ret;
}
"""
CROSS_HELPERS = """
int demo_fetch(u32 __user *uaddr, u32 *out)
{
	return get_user(*out, uaddr);
}

int demo_fetch_and_wait(u32 __user *uaddr, u32 *out)
{
	int ret = get_user(*out, uaddr);

	msleep(1);
	return ret;
}
"""


def test_scan_callee_in_another_file_only_faulting_with_page_faults_disabled(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tree"
    (root / "drivers").mkdir(parents=True)
    (root / "drivers" / "caller.c").write_text(CROSS_CALLER)
    (root / "drivers" / "helpers.c").write_text(CROSS_HELPERS)
    result = scan_tree(root, ["sleep-in-atomic"], jobs=1)
    assert [(f.file, f.line, f.message.split(":")[0]) for f in result.findings] == [
        ("drivers/caller.c", 11, "demo_fetch_and_wait() may sleep (via demo_fetch_and_wait)")
    ]
