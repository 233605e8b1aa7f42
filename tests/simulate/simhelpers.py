"""Helpers for simulator tests: overlays built by applying fixture diffs with GNU patch."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from patchlint.simulate import Scenario, make_resolver
from patchlint.source import FunctionIndex

CONFIG = frozenset({"__KERNEL__", "CONFIG_FREEZER", "CONFIG_SMP"})

# The headers a mini tree needs so worlds and constants resolve like the kernel's.
MINI_SCHED_H = """
#define TASK_RUNNING 0x00000000
#define TASK_INTERRUPTIBLE 0x00000001
#define TASK_UNINTERRUPTIBLE 0x00000002
#define TASK_NORMAL (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)
#define TASK_FROZEN 0x00008000
#define PF_KTHREAD 0x00200000
#define TIF_MEMDIE 20
"""


REPO = Path(__file__).resolve().parents[2]
SIM_FIXTURES = REPO / "fixtures" / "simulate"


def touched_paths(diff: str) -> list[str]:
    return sorted(set(re.findall(r"^\+\+\+ b/(\S+)", diff, re.M)))


def overlays(tree: Path, diff: str, workdir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(pre, post) texts of the files ``diff`` touches, applied in a scratch copy."""
    paths = touched_paths(diff)
    pre: dict[str, str] = {}
    for path in paths:
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / path, target)
        pre[path] = (tree / path).read_text(encoding="utf-8", errors="replace")
    subprocess.run(
        ["patch", "-p1", "--quiet", "--batch"], input=diff, text=True, cwd=workdir, check=True
    )
    post = {p: (workdir / p).read_text(encoding="utf-8", errors="replace") for p in paths}
    return pre, post


_INDEXES: dict[Path, FunctionIndex] = {}


def index_for(tree: Path) -> FunctionIndex:
    if tree not in _INDEXES:
        _INDEXES[tree] = FunctionIndex(tree)
    return _INDEXES[tree]


def resolvers(tree: Path, fixture: str, workdir: Path):
    diff = (SIM_FIXTURES / fixture).read_text()
    pre, post = overlays(tree, diff, workdir)
    index = index_for(tree)
    return make_resolver(index, pre), make_resolver(index, post)


def scenario(
    action: str,
    observe: str = "1",
    action_file: str = "kernel/test.c",
    processes: list[dict] | None = None,
    **extra: object,
) -> Scenario:
    data: dict = {
        "name": "unit",
        "action": action,
        "action_file": action_file,
        "observe": observe,
        "observe_file": action_file,
        "current": "T0",
        "context_files": ["include/linux/sched.h"],
        "process": processes
        or [{"name": "P0", "threads": 2, "names": ["T0", "T1"], "state": "TASK_INTERRUPTIBLE"}],
    }
    data.update(extra)
    return Scenario.from_data(data)
