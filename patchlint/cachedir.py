"""The one place patchlint keeps files between runs (never inside a kernel tree).

``PATCHLINT_CACHE`` names the folder; otherwise it is the platform's user cache folder
for "patchlint" (``$XDG_CACHE_HOME/patchlint`` or ``~/.cache/patchlint`` on Linux, as
``scripts/kernel-source.sh`` computes it too). ``PATCHLINT_NO_CACHE=1`` turns every
persistent cache off: results are then computed again on every run.
"""

from __future__ import annotations

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
