"""Tree-wide name lookups are kept between runs, and a new commit or release is searched again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from patchlint.source.functions import FunctionIndex


def _tree(root: Path) -> Path:
    (root / "kernel").mkdir(parents=True)
    (root / "Makefile").write_text("VERSION = 6\n")
    (root / "kernel" / "a.c").write_text("void helper(void)\n{\n}\n")
    (root / "kernel" / "b.c").write_text("void user(void)\n{\n\thelper();\n}\n")
    return root


def test_second_run_reads_the_cache_and_a_new_commit_searches_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("PATCHLINT_NO_CACHE", raising=False)
    root = _tree(tmp_path / "linux")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)

    assert [path for path, _fn, _site in FunctionIndex(root).callers("helper")] == ["kernel/b.c"]
    assert list((tmp_path / "cache" / "mentions").glob("*.json"))

    # Same commit: the cached answer is used, even for a file added behind its back.
    (root / "kernel" / "c.c").write_text("void other(void)\n{\n\thelper();\n}\n")
    assert FunctionIndex(root).candidates("helper") == ["kernel/a.c", "kernel/b.c"]

    # A commit moves HEAD's branch: the tree is searched again.
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "more"], check=True)
    callers = [path for path, _fn, _site in FunctionIndex(root).callers("helper")]
    assert callers == ["kernel/b.c", "kernel/c.c"]


def test_a_file_that_names_but_never_calls_is_not_a_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_NO_CACHE", "1")
    root = _tree(tmp_path / "linux")
    (root / "kernel" / "d.c").write_text("/* helper is documented here */\nint helper_count;\n")
    index = FunctionIndex(root)
    assert "kernel/d.c" in index.candidates("helper")
    assert [path for path, _fn, _site in index.callers("helper")] == ["kernel/b.c"]
