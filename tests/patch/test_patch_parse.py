"""parse_patch on real git output, quilt/GNU diffs and broken input."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.patch import parse_patch

FIX = Path(__file__).resolve().parents[2] / "fixtures"


def read(name: str) -> str:
    return (FIX / name).read_text()


def test_seed_patch_files_and_hunks() -> None:
    patch = parse_patch(read("apply/seed-v9.diff"), "seed")
    assert patch.errors == []
    assert [f.path for f in patch.files] == [
        "include/linux/freezer.h",
        "kernel/freezer.c",
        "mm/oom_kill.c",
    ]
    assert [(f.added, f.removed) for f in patch.files] == [(2, 0), (19, 1), (5, 5)]
    freezer = patch.files[1]
    assert freezer.status == "modified"
    assert (freezer.old_blob, freezer.new_blob) == ("6a96149aede9", "ddc11a8bd2ea")
    assert freezer.old_mode == freezer.new_mode == "100644"
    hunk = freezer.hunks[1]
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (40, 7, 41, 7)
    assert hunk.section == "bool freezing_slow_path(struct task_struct *p)"
    assert hunk.header_line == 33
    removed = [line for line in hunk.lines if line.kind == "-"]
    assert removed[0].text == "\tif (test_tsk_thread_flag(p, TIF_MEMDIE))"
    assert removed[0].old_line == 43 and removed[0].new_line is None
    added = [line for line in hunk.lines if line.kind == "+"]
    assert added[0].new_line == 44 and added[0].old_line is None
    # The "-- \n2.17.1" signature after the last hunk is not part of it.
    oom = patch.files[2].hunks[0]
    assert oom.lines[-1].text == "\ttrace_mark_victim(tsk, cred->uid.val);"
    assert len(oom.lines) == 17


def test_git_extended_headers() -> None:
    patch = parse_patch(read("patch/git-extended.diff"))
    assert patch.errors == []
    by_path = {f.path: f for f in patch.files}
    added = by_path["added.c"]
    assert (added.status, added.old_path, added.new_mode, added.old_blob) == (
        "added",
        None,
        "100644",
        None,
    )
    assert [line.text for line in added.hunks[0].lines] == ["new", "file"]
    deleted = by_path["gone.c"]
    assert (deleted.status, deleted.new_path, deleted.old_mode) == ("deleted", None, "100644")
    assert by_path["blob.bin"].status == "binary"
    assert by_path["blob.bin"].hunks == []
    renamed = by_path["renamed.txt"]
    assert (renamed.status, renamed.old_path, renamed.similarity, renamed.hunks) == (
        "renamed",
        "moved.txt",
        100,
        [],
    )
    mode = by_path["run.sh"]
    assert (mode.status, mode.old_mode, mode.new_mode) == ("mode", "100644", "100755")
    moved = by_path["src2.txt"]
    assert (moved.status, moved.old_path, moved.similarity) == ("renamed", "src.txt", 93)
    assert (moved.added, moved.removed) == (1, 1)


def test_no_newline_markers() -> None:
    patch = parse_patch(read("patch/git-extended-nobinary.diff"))
    nonl = patch.file("nonl.txt")
    assert nonl is not None
    lines = nonl.hunks[0].lines
    assert [(line.kind, line.text, line.no_newline_at_end) for line in lines] == [
        (" ", "a", False),
        (" ", "b", False),
        ("-", "c", True),
        ("+", "c", False),
        ("+", "d", True),
    ]
    assert patch.file("blob.bin").status == "binary"  # type: ignore[union-attr]


def test_copy_and_diff_inside_diff() -> None:
    patch = parse_patch(read("patch/nested-diff.diff"))
    assert patch.errors == []
    assert [(f.path, f.status) for f in patch.files] == [
        ("all-nobin.diff", "added"),
        ("all.diff", "added"),
        ("keep2.c", "copied"),
    ]
    inner = patch.files[0]
    # Lines of the embedded diff stay content of the outer one.
    assert inner.added == 66
    assert inner.hunks[0].lines[0].text == "diff --git a/added.c b/added.c"
    copy = patch.files[2]
    assert (copy.old_path, copy.similarity, copy.hunks[0].section) == ("keep.c", 90, "line5")


def test_quilt_style_without_diff_git() -> None:
    patch = parse_patch(read("patch/quilt.diff"))
    assert patch.errors == []
    assert [(f.old_path, f.new_path) for f in patch.files] == [
        ("kernel/sched/core.c", "kernel/sched/core.c"),
        ("kernel/fork.c", "kernel/fork.c"),
    ]
    assert patch.files[1].hunks[0].section == "static int foo(void)"


def test_gnu_diff_new_and_removed_files() -> None:
    patch = parse_patch(read("patch/gnu-diff-N.diff"))
    assert [(f.path, f.status, f.old_path, f.new_path) for f in patch.files] == [
        ("drivers/new.c", "added", None, "drivers/new.c"),
        ("drivers/old.c", "deleted", "drivers/old.c", None),
    ]


def test_removed_lines_that_look_like_headers() -> None:
    patch = parse_patch(read("patch/dashes.diff"))
    assert patch.errors == []
    hunk = patch.files[0].hunks[0]
    assert [(line.kind, line.text) for line in hunk.lines] == [
        (" ", "title"),
        ("-", "-- "),
        ("-", "-- a"),
        ("+", "++ b"),
        ("-", "+++ not a header either"),
        (" ", "end"),
    ]


def test_count_mismatch_is_an_error_for_that_file_only() -> None:
    patch = parse_patch(read("patch/bad-count.diff"))
    assert [f.path for f in patch.files] == ["one.c", "four.c"]
    assert [(e.file, e.line) for e in patch.errors] == [("two.c", 14), ("three.c", 23)]
    assert "header says 4 old / 4 new lines, body has 3 old / 3 new" in patch.errors[0].message
    assert "more lines than its header says" in patch.errors[1].message
    assert "three.c, line 23:" in str(patch.errors[1])


def test_truncated_last_hunk() -> None:
    text = read("apply/seed-v9.diff").replace("@@ -772,12 +772,12 @@", "@@ -772,13 +772,13 @@")
    patch = parse_patch(text)
    assert [f.path for f in patch.files] == ["include/linux/freezer.h", "kernel/freezer.c"]
    (error,) = patch.errors
    assert error.file == "mm/oom_kill.c" and error.line == 70
    assert "signature" in error.message


def test_crlf_transport_is_undone() -> None:
    text = read("apply/seed-v9.diff").replace("\n", "\r\n")
    patch = parse_patch(text)
    assert patch.errors == []
    line = patch.files[1].hunks[1].lines[3]
    assert line.text == "\tif (test_tsk_thread_flag(p, TIF_MEMDIE))" and not line.crlf


def test_crlf_file_content_is_recorded() -> None:
    text = (
        "diff --git a/w.txt b/w.txt\n--- a/w.txt\n+++ b/w.txt\n"
        "@@ -1,2 +1,2 @@\n one\r\n-two\r\n+TWO\r\n"
    )
    patch = parse_patch(text)
    assert patch.errors == []
    assert [(line.text, line.crlf) for line in patch.files[0].hunks[0].lines] == [
        ("one", True),
        ("two", True),
        ("TWO", True),
    ]


def test_empty_context_lines_from_mangled_mail() -> None:
    text = "--- a/kernel/x.c\n+++ b/kernel/x.c\n@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n"
    patch = parse_patch(text)
    assert patch.errors == []
    assert [(line.kind, line.text) for line in patch.files[0].hunks[0].lines] == [
        (" ", "a"),
        (" ", ""),
        ("-", "b"),
        ("+", "B"),
    ]


@pytest.mark.parametrize(
    ("header", "old", "new"),
    [
        ('diff --git "a/sp ace\\tx" "b/sp ace\\tx"', "sp ace\tx", "sp ace\tx"),
        ("diff --git a/with space.c b/with space.c", "with space.c", "with space.c"),
        ('diff --git "a/caf\\303\\251" "b/caf\\303\\251"', "café", "café"),
    ],
)
def test_git_names_without_hunks(header: str, old: str, new: str) -> None:
    patch = parse_patch(f"{header}\nold mode 100644\nnew mode 100755\n")
    assert patch.errors == []
    assert (patch.files[0].old_path, patch.files[0].new_path) == (old, new)


def test_commit_text_and_garbage_are_ignored() -> None:
    text = "Some text\n@@ -1 +1 @@ not a hunk\n" + read("apply/seed-v9.diff") + "\nthanks\n"
    patch = parse_patch(text)
    assert patch.errors == [] and len(patch.files) == 3


def test_no_diff_at_all() -> None:
    assert parse_patch("").errors == []
    assert parse_patch("hello\nworld\n").errors[0].message == "no file changes found in the diff"


def test_malformed_hunk_header() -> None:
    text = (
        "--- a/x.c\n+++ b/x.c\n@@ -1,a +1 @@\n-a\n+b\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-c\n+d\n"
    )
    patch = parse_patch(text)
    assert [f.path for f in patch.files] == ["y.c"]
    assert patch.errors[0].file == "x.c" and patch.errors[0].line == 3
