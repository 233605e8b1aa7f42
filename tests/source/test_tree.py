"""Tree access: directory and git trees, unsafe paths, nothing written."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from patchlint.source.tree import (
    DirectoryTree,
    GitRevisionTree,
    TreeError,
    UnsafePathError,
    find_kernel_tree,
    open_tree,
)


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root (including .git) with its type and content hash."""
    state: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            if full.is_symlink():
                state[rel] = "link:" + os.readlink(full)
            elif full.is_file():
                state[rel] = hashlib.sha256(full.read_bytes()).hexdigest()
            else:
                state[rel] = "dir"
    return state


def git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@e",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@e",
    )
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, env=env, check=True)
    return done.stdout.decode().strip()


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "kernel").mkdir(parents=True)
    (root / "kernel" / "a.c").write_bytes(b"int a;\r\nint b;\n\xff\xfe raw\n")
    (root / "kernel" / "inside").symlink_to("a.c")
    (tmp_path / "secret").write_text("secret\n")
    (root / "out").symlink_to(tmp_path / "secret")
    (root / "outdir").symlink_to(tmp_path)
    os.mkfifo(root / "fifo")
    return root


def test_directory_tree_reads_bytes_faithfully(plain: Path) -> None:
    tree = open_tree(plain)
    assert isinstance(tree, DirectoryTree) and tree.kind == "directory"
    text = tree.read("kernel/a.c")
    assert text is not None
    assert text.encode("utf-8", "surrogateescape") == (plain / "kernel/a.c").read_bytes()
    assert tree.read("kernel/./a.c") == text
    assert tree.read("kernel/inside") == text  # a symlink that stays inside is fine
    assert tree.read("kernel/missing.c") is None
    assert tree.read("nodir/missing.c") is None
    assert tree.exists("kernel/a.c") and not tree.exists("kernel/nope.c")
    assert tree.read_blob("abcdef12") is None
    assert tree.resolve_safe("kernel/../kernel//a.c") == "kernel/a.c"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/passwd", "absolute"),
        ("../secret", "leaves the tree"),
        ("kernel/../../secret", "leaves the tree"),
        ("kernel/a\x00.c", "NUL"),
        ("out", "outside the tree"),
        ("outdir/secret", "outside the tree"),
        ("fifo", "not a regular file"),
        ("kernel", "directory"),
        ("", "empty"),
    ],
)
def test_unsafe_paths_are_refused(plain: Path, path: str, reason: str) -> None:
    tree = open_tree(plain)
    with pytest.raises(UnsafePathError) as info:
        tree.read(path)
    assert reason in str(info.value)
    assert repr(path) in str(info.value)


def test_open_tree_errors(tmp_path: Path) -> None:
    with pytest.raises(TreeError):
        open_tree(tmp_path / "missing")
    with pytest.raises(TreeError):
        open_tree(tmp_path, base_rev="HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "kernel").mkdir()
    (root / "kernel" / "f.c").write_text("v1\n")
    (root / "kernel" / "link").symlink_to("f.c")
    (root / "escape").symlink_to("../outside")
    (root / "abs").symlink_to("/etc")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "one")
    (root / "kernel" / "f.c").write_text("v2\n")
    git(root, "commit", "-qam", "two")
    (root / "kernel" / "f.c").write_text("work tree\n")  # uncommitted
    return root


def test_git_revision_tree_reads_commits_not_the_work_tree(repo: Path) -> None:
    before = snapshot(repo)
    first = git(repo, "rev-parse", "HEAD~1")
    with open_tree(repo, base_rev="HEAD~1") as tree:
        assert isinstance(tree, GitRevisionTree) and tree.kind == "git"
        assert tree.rev == first
        assert tree.read("kernel/f.c") == "v1\n"
        assert tree.read("kernel/link") == "v1\n"
        assert tree.read("kernel/none.c") is None
        assert tree.exists("kernel/f.c") and not tree.exists("kernel/none.c")
        with pytest.raises(UnsafePathError, match="leaves the tree"):
            tree.read("escape/x")
        with pytest.raises(UnsafePathError, match="symlink"):
            tree.read("abs/passwd")
        with pytest.raises(UnsafePathError, match="directory"):
            tree.read("kernel")
    with open_tree(repo, base_rev="HEAD") as tree:
        assert tree.read("kernel/f.c") == "v2\n"
        blob = git(repo, "rev-parse", "HEAD~1:kernel/f.c")
        assert tree.read_blob(blob[:7]) == "v1\n"
        assert tree.read_blob("0000000") is None
        assert tree.read_blob("not-hex") is None
        assert tree.read_blob("ffffffffffff") is None
    assert snapshot(repo) == before


def test_git_work_tree_reads_files_and_blobs(repo: Path) -> None:
    before = snapshot(repo)
    tree = open_tree(repo)
    try:
        assert tree.kind == "git"
        assert tree.read("kernel/f.c") == "work tree\n"
        blob = git(repo, "rev-parse", "HEAD:kernel/f.c")
        assert tree.read_blob(blob[:10]) == "v2\n"
        with pytest.raises(UnsafePathError):
            tree.read("escape/x")
    finally:
        tree.close()
    assert snapshot(repo) == before


def test_unknown_revision(repo: Path) -> None:
    with pytest.raises(TreeError, match="not a commit"):
        open_tree(repo, base_rev="no-such-branch")


def test_find_kernel_tree(tmp_path: Path) -> None:
    # Any kernel tree: a Makefile naming VERSION/PATCHLEVEL, a Kconfig and the usual
    # folders; no Kbuild or scripts/checkpatch.pl needed (issue 11 item 9).
    root = tmp_path / "linux"
    (root / "include" / "linux").mkdir(parents=True)
    (root / "kernel" / "sched").mkdir(parents=True)
    (root / "Makefile").write_text("# SPDX\nVERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n")
    assert find_kernel_tree(root) is None  # no Kconfig yet
    (root / "Kconfig").write_text('mainmenu "Linux"\n')
    assert find_kernel_tree(root / "kernel" / "sched") == root.resolve()
    assert find_kernel_tree(root) == root.resolve()
    assert find_kernel_tree(tmp_path) is None
    (root / "Makefile").write_text("all:\n\techo not a kernel\n")
    assert find_kernel_tree(root) is None


@pytest.mark.kernel
def test_find_real_kernel_tree(kernel_tree: Path) -> None:
    assert find_kernel_tree(kernel_tree / "mm") == kernel_tree.resolve()
