"""Whole-tree scan: prefilter, parallel workers, tree-wide callers, result cache."""

from __future__ import annotations

from pathlib import Path

from patchlint.scan import candidate_tokens, scan_tree

BAD = """
int count(void)
{
	struct task_struct *p;
	int n = 0;

	for_each_process(p)
		n++;
	return n;
}
"""
HELPER = """
int walk(void)
{
	struct task_struct *p;
	int n = 0;

	for_each_process(p)
		n++;
	return n;
}
"""
CALLER = """
int user(void)
{
	int n;

	rcu_read_lock();
	n = walk();
	rcu_read_unlock();
	return n;
}
"""


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "kernel").mkdir(parents=True)
    (tmp_path / "kernel" / "bad.c").write_text(BAD)
    (tmp_path / "kernel" / "helper.c").write_text(HELPER)
    (tmp_path / "kernel" / "caller.c").write_text(CALLER)
    (tmp_path / "kernel" / "unrelated.c").write_text("int x(void) { return 1; }\n")
    return tmp_path


def test_candidate_tokens_come_from_knowledge() -> None:
    tokens = candidate_tokens(["task-iter-unlocked", "rcu-sleep"])
    assert "for_each_process" in tokens["task-iter-unlocked"]
    assert "rcu_read_lock" in tokens["rcu-sleep"]


def test_scan_finds_only_the_unprotected_walk(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = scan_tree(root, ["task-iter-unlocked"], jobs=1)
    assert result.files_candidate == 2  # only files with the tokens; callers come by index
    assert [(f.file, f.line) for f in result.findings] == [("kernel/bad.c", 7)]
    assert not result.errors


def test_scan_parallel_matches_serial(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    for index in range(10):
        (root / "kernel" / f"copy{index}.c").write_text(BAD)
    serial = scan_tree(root, ["task-iter-unlocked"], jobs=1)
    parallel = scan_tree(root, ["task-iter-unlocked"], jobs=2)
    assert [(f.file, f.line) for f in serial.findings] == [
        (f.file, f.line) for f in parallel.findings
    ]
    assert len(parallel.findings) == 11


def test_result_cache_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    root = _tree(tmp_path / "tree")
    first = scan_tree(root, ["task-iter-unlocked"], jobs=1, use_cache=True)
    second = scan_tree(root, ["task-iter-unlocked"], jobs=1, use_cache=True)
    assert [(f.file, f.line, f.key) for f in first.findings] == [
        (f.file, f.line, f.key) for f in second.findings
    ]
