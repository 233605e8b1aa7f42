"""Shared test fixtures: repository paths and the extracted linux 6.12 tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def kernel_tree_path() -> Path | None:
    """The linux 6.12 tree extracted by scripts/kernel-source.sh, if present."""
    explicit = os.environ.get("PATCHLINT_KERNEL_TREE")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("PATCHLINT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "patchlint"
    )
    candidate = Path(cache) / "linux-6.12"
    if (candidate / ".patchlint-complete").exists():
        return candidate
    return None


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def kernel_tree() -> Path:
    path = kernel_tree_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide the linux 6.12 tree (scripts/kernel-source.sh)")
        pytest.skip("linux 6.12 tree not extracted: run scripts/kernel-source.sh")
    return path
