"""The tree is never modified: hash a copy of part of linux 6.12, run every command, re-hash.

A copy (kernel/, mm/, include/linux/ and the top-level files) keeps the cached tree
safe if a command does write, and is quick: about 1-3 s to copy, 2 s to hash.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.robustness.cli_helpers import REPO, hash_tree, run_cli

pytestmark = [pytest.mark.kernel, pytest.mark.slow]
PARTS = ("kernel", "mm", "include/linux", "scripts/checkpatch.pl")
SEED = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"


@pytest.fixture(scope="module")
def tree_copy(kernel_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree") / "linux-6.12"
    root.mkdir()
    start = time.perf_counter()
    for entry in kernel_tree.iterdir():
        if entry.is_file() and not entry.is_symlink():
            shutil.copy2(entry, root / entry.name)
    for part in PARTS:
        source = kernel_tree / part
        target = root / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        elif source.exists():
            shutil.copy2(source, target)
    for top in ("arch", "fs", "drivers", "init", "lib", "ipc"):
        (root / top).mkdir(exist_ok=True)
    print(f"copied in {time.perf_counter() - start:.1f}s")
    return root


def available_commands() -> set[str]:
    help_text = run_cli("--help").stdout
    section = help_text.split("Commands:", 1)[-1]
    return {line.split()[0] for line in section.splitlines() if line.strip()}


# None of these runs introduces a finding at its command's fail-on level (the seed patch
# fixes what it touches; kernel/cgroup has none), so each exits 0; 1 would be a crash.
def test_every_command_leaves_the_tree_byte_identical(tree_copy: Path, tmp_path: Path) -> None:
    before = hash_tree(tree_copy)
    commands = available_commands()
    out = tmp_path / "out"
    out.mkdir()
    runs: dict[str, list[str]] = {
        "check": [
            "check",
            "--tree",
            str(tree_copy),
            "--format",
            "json",
            "-o",
            str(out / "check.json"),
            str(SEED),
        ],
        "scan": [
            "scan",
            str(tree_copy / "kernel" / "cgroup"),
            "--format",
            "json",
            "-o",
            str(out / "scan.json"),
        ],
        "simulate": [
            "simulate",
            str(REPO / "fixtures" / "simulate" / "seed-full.diff"),
            "--tree",
            str(tree_copy),
        ],
        "report": ["report", "--tree", str(tree_copy), "-o", str(out / "report.html"), str(SEED)],
        "parse-stats": ["parse-stats", str(tree_copy / "kernel" / "cgroup")],
        "rules": ["rules"],
    }
    # Every command that takes a tree or writes output is run (hook writes into a git
    # repository of its own, tested in tests/test_hooks.py; server only runs `check`
    # requests in a loaded process, tested in tests/test_server.py).
    assert commands - set(runs) <= {"hook", "explain", "server"}, commands - set(runs)
    # Run from inside the tree too: that is where a tree is auto-detected.
    for name, args in runs.items():
        result = run_cli(*args, cwd=tree_copy if name != "scan" else None, timeout=1200)
        assert "Traceback" not in result.stderr, f"{name}: {result.stderr[-3000:]}"
        assert result.returncode == 0, f"{name}: rc {result.returncode} {result.stderr[-2000:]}"
    after = hash_tree(tree_copy)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"commands modified the tree: {changed[:20]}"
