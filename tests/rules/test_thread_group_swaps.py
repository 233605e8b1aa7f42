"""Recall of the thread-group rules on hand-made swaps of real 6.12 functions (in both
directions: the swap is introduced, its revert resolves it), and silence on harmless
edits of per-thread tests (tests/rules/thread_group_cases.py)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from patchlint.source import FunctionIndex

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from thread_group_cases import FLAG, HARMLESS, NEW_SWAPS, SWAPS, Edit, Swap  # noqa: E402
from thread_group_run import replace_in_function, statuses  # noqa: E402

pytestmark = pytest.mark.kernel

DIRECTORIES = ("kernel/", "fs/", "mm/", "drivers/")


@pytest.fixture(scope="module")
def index(kernel_tree: Path) -> FunctionIndex:
    return FunctionIndex(kernel_tree)


def outcome(tree: Path, index: FunctionIndex, swap: Swap) -> tuple[bool, bool, bool]:
    """(introduced by the swap, resolved by its revert, nothing else introduced)."""
    text = (tree / swap.path).read_text(encoding="utf-8")
    swapped = replace_in_function(
        text, swap.path, swap.function, swap.before, swap.after, swap.occurrence
    )
    forward = statuses(tree, index, swap.path, swap.function, text, swapped)
    backward = statuses(tree, index, swap.path, swap.function, swapped, text)
    introduced = any(f.status == "introduced" and f.rule == swap.rule for f in forward)
    resolved = any(f.status == "resolved" and f.rule == swap.rule for f in backward)
    clean = not [f for f in backward if f.status == "introduced"]
    return introduced, resolved, clean


def test_swaps_cover_the_directories_rules_and_directions() -> None:
    assert len(SWAPS) >= 30
    assert all(any(s.path.startswith(d) for s in SWAPS) for d in DIRECTORIES)
    assert len({s.rule for s in SWAPS}) == 3
    assert {s.direction for s in NEW_SWAPS} == {"thread-for-group", "group-for-thread"}
    assert len(NEW_SWAPS) >= 10
    corpus = tomllib.loads((REPO / "fixtures/recall/thread-group/cases.toml").read_text())
    used = {case["function"] for case in corpus["case"]}
    assert not {s.function for s in NEW_SWAPS} & used  # generality: beyond the corpus
    assert len(HARMLESS) >= 15
    assert any(e.path.startswith("io_uring/") for e in HARMLESS)
    assert any(e.path.startswith("security/") for e in HARMLESS)


def test_recall_on_swaps_and_their_fixes(kernel_tree: Path, index: FunctionIndex) -> None:
    missed = []
    for swap in SWAPS:
        introduced, resolved, clean = outcome(kernel_tree, index, swap)
        assert clean, f"{swap.label}: the fix introduces a finding"
        if introduced:
            assert resolved, f"{swap.label}: found, but its fix is not reported as resolving"
        else:
            missed.append(swap.label)
    recall = 1 - len(missed) / len(SWAPS)
    assert recall >= 0.9, f"recall {recall:.0%}, missed {missed}"


def harmless_findings(tree: Path, index: FunctionIndex, edit: Edit) -> list[str]:
    text = (tree / edit.path).read_text(encoding="utf-8")
    edited = replace_in_function(text, edit.path, edit.function, edit.before, edit.after)
    return [
        f.message
        for f in statuses(tree, index, edit.path, edit.function, text, edited)
        if f.status == "introduced" or (f.rule == FLAG and f.status != "resolved")
    ]


@pytest.mark.parametrize("edit", HARMLESS, ids=[e.label for e in HARMLESS])
def test_harmless_per_thread_tests_stay_silent(
    kernel_tree: Path, index: FunctionIndex, edit: Edit
) -> None:
    assert harmless_findings(kernel_tree, index, edit) == [], edit.why
