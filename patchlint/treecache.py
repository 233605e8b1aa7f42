"""Per-tree files in patchlint's cache folder: what a kernel tree says does not change
between runs, so a one-patch hook run need not search the tree again.

A tree is identified by its path and by what changes when it does: a release's
top Makefile (version) and the commit a checkout's HEAD names.  Edits not yet
committed are not seen by cached lookups (the patch under check is overlaid on
top, so only unrelated uncommitted edits elsewhere in the tree are missed).
Nothing is written into the tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from patchlint.cachedir import cache_path


def tree_identity(root: Path) -> list[str]:
    identity = [str(root.resolve())]
    for marker in ("Makefile", ".git/HEAD"):
        try:
            stat = (root / marker).stat()
            identity.append(f"{marker}:{stat.st_mtime_ns}:{stat.st_size}")
            if marker == ".git/HEAD":
                identity.append(_head_commit(root))
        except OSError:
            continue
    return identity


def _head_commit(root: Path) -> str:
    """The commit HEAD names: ``ref: refs/heads/x`` stays the same across commits."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text(errors="replace").strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            return f"{ref}:{loose.read_text(errors='replace').strip()}"
        for line in (git / "packed-refs").read_text(errors="replace").splitlines():
            if line.endswith(" " + ref):
                return f"{ref}:{line.split()[0]}"
        return head
    except OSError:
        return ""


def tree_cache_file(kind: str, root: Path, *extra: str) -> Path | None:
    """The cache file of ``kind`` for this tree and ``extra`` inputs (None: no caching)."""
    if not root.is_dir():
        return None
    digest = hashlib.sha256("\0".join([*tree_identity(root), *extra]).encode()).hexdigest()
    return cache_path(kind, f"{digest[:24]}.json")


def read_json(path: Path | None) -> object:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path | None, data: object) -> None:
    """Replace ``path`` atomically; a read-only cache only costs speed."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True)
        os.replace(temporary, path)
    except OSError:
        pass
