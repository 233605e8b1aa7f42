"""Access to the kernel knowledge and rule data shipped under ``rules/``.

The data directory is ``patchlint/_rules`` inside an installed wheel and the
repository's top-level ``rules/`` in a source checkout or editable install.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any


def data_dir() -> Path:
    package = Path(__file__).resolve().parent
    installed = package / "_rules"
    if installed.is_dir():
        return installed
    return package.parent / "rules"


@functools.cache
def load_toml(relative: str) -> dict[str, Any]:
    """Load one TOML file of the rules data, e.g. ``load_toml("kernel/dialect.toml")``."""
    path = data_dir() / relative
    with path.open("rb") as handle:
        return tomllib.load(handle)


def data_path(relative: str) -> Path:
    return data_dir() / relative
