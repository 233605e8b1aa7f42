"""apply_series on small synthetic trees: placement, series overlay, file states."""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import pytest

from patchlint.patch import parse_patch
from patchlint.source.apply import apply_hunks, apply_series
from patchlint.source.tree import open_tree


def udiff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def numbered(count: int, start: int = 1) -> str:
    return "".join(f"line {i}\n" for i in range(start, start + count))


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.fixture
def tree_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


def write(root: Path, path: str, text: str, newline: str = "") -> None:
    full = root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(text.encode())


def test_exact_offset_and_fuzz(tree_dir: Path) -> None:
    base = numbered(60)
    changed = edit(edit(base, "line 10\n", "LINE 10\n"), "line 40\n", "LINE 40\n")
    diff = udiff("f.c", base, changed)
    # The tree has 5 extra lines at the top and a changed last context line of hunk 2.
    write(tree_dir, "f.c", "extra\n" * 5 + edit(base, "line 43\n", "line 43 edited\n"))
    (result,) = apply_series([parse_patch(diff)], open_tree(tree_dir))
    applied = result.file("f.c")
    assert applied is not None and applied.state == "applied" and not result.partial
    assert [h.label for h in applied.hunks] == ["offset 5", "fuzz 1"]
    assert [h.applied_at for h in applied.hunks] == [12, 42]
    assert applied.hunks[1].offset == 5
    expected = "extra\n" * 5 + edit(changed, "line 43\n", "line 43 edited\n")
    assert applied.post == expected
    assert applied.pre == (tree_dir / "f.c").read_text()
    assert applied.pre_source == "tree"


def test_hunk_that_does_not_apply_keeps_the_series_going(tree_dir: Path) -> None:
    write(tree_dir, "a.c", numbered(20))
    write(tree_dir, "b.c", numbered(20))
    bad = udiff("a.c", numbered(20, 100), edit(numbered(20, 100), "line 110\n", "X\n"))
    good = udiff("b.c", numbered(20), edit(numbered(20), "line 5\n", "five\n"))
    first, second = apply_series([parse_patch(bad + good), parse_patch(good)], open_tree(tree_dir))
    a = first.file("a.c")
    assert a is not None and a.state == "does not apply" and a.post is None
    assert a.pre == numbered(20)
    assert [h.label for h in a.hunks] == ["failed"]
    assert a.error is not None and "hunk #1 (diff line 4)" in a.error
    assert first.partial
    assert first.file("b.c").state == "applied"  # type: ignore[union-attr]
    # Patch 2 sees patch 1's b.c: the same change no longer applies.
    again = second.file("b.c")
    assert again is not None and again.state == "does not apply"
    assert again.pre_source == "series"


def test_series_overlay_and_added_file_without_tree() -> None:
    created = "diff --git a/new.c b/new.c\nnew file mode 100644\n" + "".join(
        difflib.unified_diff([], ["a\n", "b\n"], "/dev/null", "b/new.c")
    )
    modified = udiff("new.c", "a\nb\n", "a\nB\n")
    other = udiff("old.c", "x\n", "y\n")
    first, second = apply_series([parse_patch(created), parse_patch(modified + other)], None)
    added = first.files[0]
    assert (added.state, added.pre, added.post, added.pre_source) == (
        "added",
        None,
        "a\nb\n",
        "none",
    )
    follow = second.file("new.c")
    assert follow is not None
    assert (follow.state, follow.pre, follow.post, follow.pre_source) == (
        "applied",
        "a\nb\n",
        "a\nB\n",
        "series",
    )
    assert second.file("old.c").state == "no tree"  # type: ignore[union-attr]
    assert second.partial and not first.partial


def test_deletion_and_rename(tree_dir: Path) -> None:
    write(tree_dir, "gone.c", "x\ny\n")
    write(tree_dir, "old/name.c", numbered(10))
    delete = (
        "diff --git a/gone.c b/gone.c\ndeleted file mode 100644\n--- a/gone.c\n+++ /dev/null\n"
        "@@ -1,2 +0,0 @@\n-x\n-y\n"
    )
    rename = (
        "diff --git a/old/name.c b/new/name.c\nsimilarity index 90%\n"
        "rename from old/name.c\nrename to new/name.c\n--- a/old/name.c\n+++ b/new/name.c\n"
        "@@ -1,3 +1,3 @@\n line 1\n-line 2\n+LINE 2\n line 3\n"
    )
    touch_new = udiff(
        "new/name.c",
        edit(numbered(10), "line 2", "LINE 2"),
        edit(numbered(10), "line 2\n", "LINE 2\nmore\n"),
    )
    touch_old = udiff("old/name.c", numbered(10), numbered(9))
    first, second = apply_series(
        [parse_patch(delete + rename), parse_patch(delete + touch_new + touch_old)],
        open_tree(tree_dir),
    )
    gone = first.file("gone.c")
    assert gone is not None and (gone.state, gone.pre, gone.post) == ("deleted", "x\ny\n", None)
    moved = first.file("new/name.c")
    assert moved is not None and moved.state == "applied" and moved.old_path == "old/name.c"
    assert moved.post == edit(numbered(10), "line 2", "LINE 2")
    assert second.file("gone.c").state == "does not apply"  # type: ignore[union-attr]
    assert second.file("new/name.c").state == "applied"  # type: ignore[union-attr]
    assert second.file("old/name.c").state == "does not apply"  # type: ignore[union-attr]


def test_unsafe_paths_are_refused(tmp_path: Path, tree_dir: Path) -> None:
    (tmp_path / "outside.c").write_text("x\n")
    (tree_dir / "link").symlink_to(tmp_path)
    patches = [
        parse_patch(udiff("../outside.c", "x\n", "y\n")),
        parse_patch(udiff("link/outside.c", "x\n", "y\n")),
        parse_patch("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-x\n+y\n"),
    ]
    results = apply_series(patches, open_tree(tree_dir))
    states = [r.files[0].state for r in results]
    assert states == ["refused", "refused", "refused"]
    assert "leaves the tree" in (results[0].files[0].error or "")
    assert "outside the tree" in (results[1].files[0].error or "")
    # Without a tree the lexical checks still apply.
    (alone,) = apply_series([patches[0]], None)
    assert alone.files[0].state == "refused"


def test_missing_newline_at_end_of_file(tree_dir: Path) -> None:
    write(tree_dir, "n.txt", "a\nb\nc")
    diff = (
        "--- a/n.txt\n+++ b/n.txt\n@@ -1,3 +1,4 @@\n a\n b\n-c\n"
        "\\ No newline at end of file\n+c\n+d\n\\ No newline at end of file\n"
    )
    (result,) = apply_series([parse_patch(diff)], open_tree(tree_dir))
    assert result.files[0].post == "a\nb\nc\nd"
    add_newline = "--- a/n.txt\n+++ b/n.txt\n@@ -3 +3 @@\n-c\n\\ No newline at end of file\n+c\n"
    (result,) = apply_series([parse_patch(add_newline)], open_tree(tree_dir))
    assert result.files[0].post == "a\nb\nc\n"
    # A context diff made against a file with a newline still applies and keeps none.
    hunks = parse_patch(udiff("q", "x\ny\n", "X\ny\n")).files[0].hunks
    post, results = apply_hunks("x\ny", hunks)
    assert post == "X\ny" and [r.label for r in results] == ["exact"]


def test_crlf_files_keep_their_line_endings(tree_dir: Path) -> None:
    write(tree_dir, "w.c", "one\r\ntwo\r\nthree\r\n")
    lf_diff = udiff("w.c", "one\ntwo\nthree\n", "one\n2\nthree\n")
    crlf_diff = "--- a/w.c\n+++ b/w.c\n@@ -1,3 +1,4 @@\n one\r\n-two\r\n+2\r\n+2b\n three\r\n"
    for diff, expected in (
        (lf_diff, "one\r\n2\r\nthree\r\n"),
        (crlf_diff, "one\r\n2\r\n2b\nthree\r\n"),
    ):
        (result,) = apply_series([parse_patch(diff)], open_tree(tree_dir))
        assert result.files[0].state == "applied"
        assert result.files[0].post == expected


def test_hunk_anchored_at_start_of_file() -> None:
    base = numbered(30)
    # The change is on line 1, so the hunk has no leading context: it may only
    # match at the very start, never at a later copy of the same lines.
    hunks = parse_patch(udiff("s.c", base, edit(base, "line 1\n", "first\n"))).files[0].hunks
    post, results = apply_hunks("prefix\n" + base, hunks)
    assert post is None and [r.label for r in results] == ["failed"]
    post, results = apply_hunks(base, hunks)
    assert post == edit(base, "line 1\n", "first\n") and results[0].label == "exact"


def test_added_file_that_already_exists_and_binary(tree_dir: Path) -> None:
    write(tree_dir, "here.c", "x\n")
    diff = (
        "diff --git a/here.c b/here.c\nnew file mode 100644\n--- /dev/null\n+++ b/here.c\n"
        "@@ -0,0 +1 @@\n+x\n"
        "diff --git a/b.bin b/b.bin\nindex 1234567..89abcde 100644\n"
        "Binary files a/b.bin and b/b.bin differ\n"
    )
    (result,) = apply_series([parse_patch(diff)], open_tree(tree_dir))
    assert [f.state for f in result.files] == ["does not apply", "binary"]
    assert "already exists" in (result.files[0].error or "")


def git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@e",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@e",
    )
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, env=env, check=True
    ).stdout.decode()


def test_index_blob_gives_the_exact_pre_image(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "k.c").write_text(numbered(20))
    git(root, "add", "k.c")
    git(root, "commit", "-qm", "base")
    (root / "k.c").write_text(edit(numbered(20), "line 15\n", "line 15\nline 15b\n"))
    diff = git(root, "diff")
    git(root, "commit", "-qam", "second")
    # The work tree has moved on; the diff's index line still names its real base.
    (root / "k.c").write_text("unrelated\n" + numbered(20))
    before = (root / "k.c").read_bytes()
    with open_tree(root) as tree:
        (result,) = apply_series([parse_patch(diff)], tree)
    applied = result.files[0]
    assert (applied.pre_source, applied.pre) == ("blob", numbered(20))
    assert [h.label for h in applied.hunks] == ["exact"]
    with open_tree(root, base_rev="HEAD~1") as tree:
        (result,) = apply_series([parse_patch(diff.replace("index ", "index 0"))], tree)
    assert result.files[0].pre_source == "tree" and result.files[0].pre == numbered(20)
    assert (root / "k.c").read_bytes() == before
