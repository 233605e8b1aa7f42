"""Helpers for the end-to-end robustness tests: a tiny fake kernel tree, mails, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

GOOD_C = """// SPDX-License-Identifier: GPL-2.0
#include <linux/sched.h>

static int count_tasks(void)
{
\tstruct task_struct *p;
\tint n = 0;

\trcu_read_lock();
\tfor_each_process(p)
\t\tn++;
\trcu_read_unlock();
\treturn n;
}
"""

# The files find_kernel_tree looks for, so the fake tree is accepted as a kernel.
_TOP = ("COPYING", "CREDITS", "Kbuild", "Kconfig", "MAINTAINERS", "Makefile", "README")


def make_tree(root: Path, outside: Path) -> Path:
    """A small kernel-looking tree with traps: links out of it and to a device."""
    for name in _TOP:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n")
    for sub in ("kernel", "mm", "include/linux", "scripts", "arch", "fs", "init", "lib"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "kernel" / "good.c").write_text(GOOD_C)
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.c").write_text("int secret;\n")
    (root / "kernel" / "escape").symlink_to(outside, target_is_directory=True)
    (root / "kernel" / "leak.c").symlink_to(outside / "secret.c")
    (root / "dev").mkdir()
    (root / "dev" / "null").symlink_to("/dev/null")
    (root / "kernel" / "zero.c").symlink_to("/dev/zero")
    return root


def diff_modify(path: str, old: str = "int secret;", new: str = "int secret = 1;") -> str:
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-{old}\n+{new}\n"
    )


def diff_add(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def diff_good() -> str:
    return (
        "diff --git a/kernel/good.c b/kernel/good.c\n--- a/kernel/good.c\n"
        "+++ b/kernel/good.c\n@@ -8,6 +8,7 @@ static int count_tasks(void)\n"
        " \n \trcu_read_lock();\n \tfor_each_process(p)\n \t\tn++;\n+\tn--;\n"
        " \trcu_read_unlock();\n \treturn n;\n }\n"
    )


def mail(
    number: int, subject: str, diff: str | None, *, extra_headers: str = "", body: str = "Change.\n"
) -> bytes:
    text = (
        f"From 000000000000000000000000000000000000{number:04d} Mon Sep 17 00:00:00 2001\n"
        f"From: Dev <dev@example.org>\nDate: Mon, 1 Jan 2024 00:{number % 60:02d}:00 +0000\n"
        f"Subject: {subject}\nMessage-ID: <robust-{number}@example.org>\n{extra_headers}"
        f"\n{body}\nSigned-off-by: Dev <dev@example.org>\n---\n"
    )
    return (text + (diff or "") + "--\n2.47.0\n\n").encode("utf-8", "surrogateescape")


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    data: dict[str, Any] | None


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600, stdin: bytes | None = None
) -> CliRun:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "patchlint", *args],
        cwd=cwd or REPO,
        capture_output=True,
        timeout=timeout,
        env=env,
        input=stdin,
    )
    stdout = proc.stdout.decode("utf-8", "replace")
    data = None
    if "--format" in args and "json" in args:
        try:
            data = json.loads(stdout)
        except ValueError:
            data = None
    return CliRun(proc.returncode, stdout, proc.stderr.decode("utf-8", "replace"), data)


def hash_tree(root: Path) -> dict[str, str]:
    """Content, mode and link target of everything under root (links are not followed)."""
    digest: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            stat = path.lstat()
            if path.is_symlink():
                digest[rel] = f"link:{os.readlink(path)}"
            elif path.is_file():
                digest[rel] = (
                    f"{stat.st_mode:o}:{stat.st_mtime_ns}:"
                    + hashlib.sha256(path.read_bytes()).hexdigest()
                )
            else:
                digest[rel] = f"dir:{stat.st_mode:o}"
    return digest
