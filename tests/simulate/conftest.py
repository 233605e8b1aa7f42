"""Fixtures for simulator tests: mini trees written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from simhelpers import CONFIG, MINI_SCHED_H

from patchlint.simulate import make_resolver
from patchlint.simulate.resolve import Resolver
from patchlint.source import FunctionIndex


@pytest.fixture
def mini_tree(tmp_path: Path) -> Callable[[dict[str, str]], Resolver]:
    """Write ``{path: text}`` into a fresh tree and return a resolver over it."""

    def build(files: dict[str, str]) -> Resolver:
        root = tmp_path / "tree"
        all_files = {"include/linux/sched.h": MINI_SCHED_H, **files}
        for path, text in all_files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return make_resolver(FunctionIndex(root), {}, CONFIG)

    return build
