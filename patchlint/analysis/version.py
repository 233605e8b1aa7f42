"""The version of the analysis: what every cached analysis result depends on.

A result computed by other analysis code or data (an upgrade, a developer's branch,
the user's added knowledge) must not be read back as this version's: caches keyed by
a format number alone kept another version's answers until the next scan.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_VERSION: list[str] = []


def analysis_version() -> str:
    """A digest of the analysis and front-end code, the kernel data and the user's
    knowledge extensions (computed once per process)."""
    if not _VERSION:
        from patchlint.knowledge import data_dir, extensions

        digest = hashlib.blake2b(digest_size=10)
        package = Path(__file__).resolve().parent.parent
        files = sorted((package / "analysis").glob("*.py")) + sorted(
            (package / "source").glob("*.py")
        )
        for path in files + sorted(data_dir().rglob("*.toml")):
            try:
                digest.update(path.read_bytes())
            except OSError:
                continue
        digest.update(repr(sorted(extensions().items(), key=str)).encode())
        _VERSION.append(digest.hexdigest())
    return _VERSION[0]
