"""Which kernel trees the cache holds task-state knowledge for, and by which version.

A run with a tree infers (or reloads) that tree's knowledge and records the tree here
with the version its top-level Makefile names.  A patch-only run (no tree) has nothing
to infer from unless the patched file declares task state itself; it then borrows the
knowledge of a cached tree, but only when that is unambiguous: every registered tree
that still exists names the same kernel version.  Otherwise the thread-group rules
say the file was not analysed, and why - they never guess which state is per thread.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from patchlint.cachedir import cache_path

_FIELDS = ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION")


def kernel_version(root: Path) -> str | None:
    """``6.12.117`` from the tree's top-level Makefile, None when it names none."""
    try:
        with (root / "Makefile").open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    values = {}
    for field in _FIELDS:
        match = re.search(rf"^{field}\s*=\s*(\S*)\s*$", head, re.MULTILINE)
        values[field] = match.group(1) if match else ""
    if not values["VERSION"] or not values["PATCHLEVEL"]:
        return None
    version = ".".join(
        v for v in (values["VERSION"], values["PATCHLEVEL"], values["SUBLEVEL"]) if v
    )
    return version + values["EXTRAVERSION"]


def _registry() -> Path | None:
    return cache_path("taskscope", "trees.json")


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


def register(root: Path) -> None:
    """Remember that the cache holds knowledge of ``root`` (best effort)."""
    path = _registry()
    version = kernel_version(root)
    if path is None or version is None:
        return
    key = str(root.resolve())
    known = _read(path)
    if known.get(key) == version:
        return
    known[key] = version
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(known, out, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only cache: patch-only runs just will not borrow this tree


@dataclass(frozen=True)
class Borrowed:
    """The cached tree a patch-only run may use, or why there is none."""

    root: Path | None
    version: str
    reason: str


def tree_for_patch_only() -> Borrowed:
    path = _registry()
    known = _read(path) if path is not None else {}
    live: dict[str, list[str]] = {}
    for root, version in sorted(known.items()):
        if kernel_version(Path(root)) == version:
            live.setdefault(version, []).append(root)
    if not live:
        return Borrowed(None, "", "no tree to infer task-state scope from")
    if len(live) > 1:
        versions = ", ".join(sorted(live))
        return Borrowed(
            None,
            "",
            f"no tree to infer task-state scope from (cached trees of {versions}: which "
            f"one the patch applies to is unknown)",
        )
    ((version, roots),) = live.items()
    return Borrowed(Path(roots[0]), version, "")
