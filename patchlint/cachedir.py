"""The one place patchlint keeps files between runs (never inside a kernel tree).

``PATCHLINT_CACHE`` names the folder; otherwise it is the platform's user cache folder
for "patchlint" (``$XDG_CACHE_HOME/patchlint`` or ``~/.cache/patchlint`` on Linux, as
``scripts/kernel-source.sh`` computes it too). ``PATCHLINT_NO_CACHE=1`` turns every
persistent cache off: results are then computed again on every run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

APP = "patchlint"


def cache_dir() -> Path:
    explicit = os.environ.get("PATCHLINT_CACHE")
    if explicit:
        return Path(explicit)
    return platformdirs.user_cache_path(APP, appauthor=False)


def cache_enabled() -> bool:
    return not os.environ.get("PATCHLINT_NO_CACHE")


def cache_path(*parts: str) -> Path | None:
    """A path under the cache folder, or None when caching is turned off."""
    if not cache_enabled():
        return None
    return cache_dir().joinpath(*parts)


def tree_cache_path(kind: str, root: Path, suffix: str) -> Path | None:
    """The cache file of ``kind`` kept for the tree at ``root`` (by its location)."""
    digest = hashlib.blake2b(str(root.resolve()).encode(), digest_size=10).hexdigest()
    return cache_path(kind, f"{digest}{suffix}")


def summary_table_path(root: Path) -> Path | None:
    """The may-sleep summary table the scans of ``root`` keep (patchlint.analysis); here
    so that a scan of an unchanged tree finds it without importing the analysis."""
    return tree_cache_path("summaries", root, ".pickle")
