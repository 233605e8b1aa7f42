"""The recall corpora's shape, checked without the kernel tree (fast tier).

The sizes and the spread are the ones issues 13 (item 8) and 15 (item 5) ask for;
tests/recall/test_recall.py runs the cases against the tree.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.recall.corpus import KINDS, RECALL, Case, load_cases, read_case


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()


def of(cases: list[Case], family: str, kind: str) -> list[Case]:
    return [c for c in cases if c.family == family and c.kind == kind]


def test_every_mail_is_well_formed(cases: list[Case]) -> None:
    ids = Counter(c.message_id for c in cases)
    assert not [i for i, n in ids.items() if n > 1], "duplicate Message-IDs"
    for case in cases:
        assert case.kind in KINDS, case.name
        assert case.category, case.name
        assert len(case.files) == 1, f"{case.name}: one file per case"
        text = case.path.read_text(encoding="utf-8")
        assert re.search(r"^Signed-off-by: ", text, re.M), case.name
        assert "\n@@ " in text, case.name
        if case.kind == "harmless":
            assert not case.expectations, case.name
        else:
            status = "introduced" if case.kind == "bug" else "resolved"
            assert case.expectations, case.name
            assert {e.status for e in case.expectations} == {status}, case.name
        # (That each edit lies inside the function an expectation names is checked
        # against the tree by test_recall.py::test_mails_are_current_...)


def test_the_commit_message_does_not_give_the_answer(cases: list[Case]) -> None:
    """Cases read as plausible submissions: nothing in the subject or body says which
    rule or bug the reviewer should find."""
    for case in cases:
        head, _, _ = case.path.read_text(encoding="utf-8").partition("\n---\n")
        body = head.split("\n\n", 1)[1].lower()
        for word in ("sleep-in-atomic", "lock-unbalanced", "thread-flag-as-group", "patchlint"):
            assert word not in body and word not in case.subject.lower(), case.name


def test_lock_corpus_size_and_spread(cases: list[Case]) -> None:
    bugs = of(cases, "locks", "bug")
    assert len(bugs) >= 40
    assert len(of(cases, "locks", "harmless")) >= 20
    per_directory = Counter(c.directory for c in bugs)
    for directory in ("drivers", "fs", "net", "kernel", "mm"):
        assert per_directory[directory] >= 5, per_directory
    categories = Counter(c.category for c in bugs)
    for category in (
        "irqsave",
        "trylock",
        "guard",
        "caller-holds",
        "callee-sleeps",
        "error-path",
        "double-lock",
        "release-unheld",
        "gfp-under-lock",
        "bh-preempt",
        "rwlock",
        "raw-spinlock",
        "rcu",
    ):
        assert categories[category] >= 2, (category, categories)
    for bug in bugs:
        assert len(bug.expectations) == 1, f"{bug.name}: one bug per patch"


def test_thread_group_corpus_size_and_spread(cases: list[Case]) -> None:
    swaps = of(cases, "thread-group", "bug")
    assert len(swaps) >= 30
    assert len(of(cases, "thread-group", "harmless")) >= 15
    assert of(cases, "thread-group", "fix")
    per_directory = Counter(c.directory for c in swaps)
    for directory in ("kernel", "fs", "mm", "security", "drivers", "io_uring"):
        assert per_directory[directory] >= 1, per_directory
    # Both directions: a per-thread test answering a question about the process, and
    # a group-level test answering a question about one thread.
    directions = Counter(c.category for c in swaps)
    assert directions["thread-state-for-group"] >= 5, directions
    assert directions["group-state-for-thread"] >= 5, directions


def test_readme_lists_every_case(cases: list[Case]) -> None:
    readme = (RECALL / "README.md").read_text(encoding="utf-8")
    for case in cases:
        slug = case.path.stem.split("-", 1)[1]
        assert f"`{slug}`" in readme, f"{case.name} missing from fixtures/recall/README.md"


def test_reader_rejects_a_bad_expectation(tmp_path: Path) -> None:
    mail = tmp_path / "001-x.patch"
    good = next(
        text
        for text in (p.read_text(encoding="utf-8") for p in sorted(RECALL.glob("*/*.patch")))
        if "X-Patchlint-Expect:" in text
    )
    mail.write_text(
        re.sub(
            r"^X-Patchlint-Expect: .*$", "X-Patchlint-Expect: found x", good, count=1, flags=re.M
        )
    )
    with pytest.raises(ValueError, match="X-Patchlint-Expect"):
        read_case("locks", mail)
