"""Shared test fixtures: repository paths and the extracted linux 6.12 tree."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import configuration as hypothesis_configuration

from patchlint.cachedir import cache_dir

# Running or collecting the tests writes nothing into the checkout: no bytecode next to
# the sources, and hypothesis keeps its example database in a temporary folder.
sys.dont_write_bytecode = True
hypothesis_configuration.set_hypothesis_home_dir(
    Path(tempfile.gettempdir()) / "patchlint-tests" / "hypothesis"
)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def kernel_tree_path() -> Path | None:
    """The linux 6.12 tree extracted by scripts/kernel-source.sh, if present."""
    explicit = os.environ.get("PATCHLINT_KERNEL_TREE")
    if explicit:
        return Path(explicit)
    candidate = cache_dir() / "linux-6.12"
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
