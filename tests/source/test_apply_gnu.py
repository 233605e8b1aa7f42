"""apply_series against GNU patch: random drifted files, the seed and real kernel code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patchlint.patch import parse_patch
from patchlint.source.apply import apply_series
from patchlint.source.tree import open_tree

FIX = Path(__file__).resolve().parents[2] / "fixtures"

# GNU patch is the oracle; CI has it (a missing one there fails the tests, not skips them).
pytestmark = pytest.mark.skipif(
    (shutil.which("patch") is None or shutil.which("diff") is None) and not os.environ.get("CI"),
    reason="needs GNU patch and diff",
)

_HUNK_MSG = re.compile(
    r"Hunk #(\d+) (succeeded at -?\d+(?: with fuzz (\d+))?(?: \(offset (-?\d+) lines?\))?"
    r"|FAILED at -?\d+)"
)


def gnu_patch(files: dict[str, bytes], diff: str, work: Path) -> tuple[dict[str, bytes], dict]:
    """Run GNU patch -p1 on copies of ``files``; posts and hunk labels per file."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for path, data in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    (work.parent / "input.diff").write_text(diff)
    done = subprocess.run(
        [
            "patch",
            "-p1",
            "-f",
            "--no-backup-if-mismatch",
            "-r",
            "-",
            "-i",
            str(work.parent / "input.diff"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    labels: dict[str, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith("patching file "):
            current = line[len("patching file ") :].strip("'")
            labels[current] = []
            continue
        match = _HUNK_MSG.match(line)
        if match and current is not None:
            number = int(match.group(1))
            while len(labels[current]) < number - 1:
                labels[current].append("exact")
            if match.group(2).startswith("FAILED"):
                labels[current].append("failed")
            elif match.group(3):
                labels[current].append(f"fuzz {match.group(3)}")
            elif match.group(4):
                labels[current].append(f"offset {match.group(4)}")
            else:
                labels[current].append("exact")
    posts = {path: (work / path).read_bytes() for path in files}
    return posts, labels


def compare(files: dict[str, bytes], diff: str, work: Path) -> dict[str, list[str]]:
    """Apply ``diff`` both ways and check they agree; return our labels."""
    tree_root = work / "tree"
    if tree_root.exists():
        shutil.rmtree(tree_root)
    for path, data in files.items():
        (tree_root / path).parent.mkdir(parents=True, exist_ok=True)
        (tree_root / path).write_bytes(data)
    patch = parse_patch(diff)
    assert patch.errors == []
    (ours,) = apply_series([patch], open_tree(tree_root))
    posts, labels = gnu_patch(files, diff, work / "gnu")
    got: dict[str, list[str]] = {}
    for applied in ours.files:
        mine = [h.label for h in applied.hunks]
        theirs = labels.get(applied.path, [])
        theirs += ["exact"] * (len(mine) - len(theirs))
        assert mine == theirs, applied.path
        if applied.state == "applied":
            assert applied.post is not None
            assert applied.post.encode("utf-8", "surrogateescape") == posts[applied.path]
        elif applied.state == "deleted":
            # A plain diff that empties a file: we call it a deletion, GNU patch
            # (without an epoch timestamp) leaves an empty file.
            assert posts[applied.path] == b""
        else:
            assert "failed" in mine
        got[applied.path] = mine
    return got


WORDS = st.sampled_from(["{", "}", "", "\treturn 0;", "\tx++;", "a", "b", "c", "d", "e"])


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    base=st.lists(WORDS, min_size=1, max_size=40),
    edits=st.lists(
        st.tuples(st.integers(0, 60), st.sampled_from(["del", "ins", "rep"]), WORDS),
        min_size=1,
        max_size=4,
    ),
    drift=st.lists(
        st.tuples(st.integers(0, 60), st.sampled_from(["del", "ins", "rep"]), WORDS), max_size=4
    ),
)
def test_random_drift_matches_gnu_patch(
    tmp_path_factory: pytest.TempPathFactory, base: list[str], edits: list, drift: list
) -> None:
    def mutate(lines: list[str], changes: list) -> list[str]:
        out = list(lines)
        for position, action, word in changes:
            i = position % (len(out) + 1)
            if action == "ins" or not out or i == len(out):
                out.insert(i, word + " *new*")
            elif action == "del":
                del out[i]
            else:
                out[i] = word + " *changed*"
        return out

    new = mutate(base, edits)
    tree = mutate(base, drift)
    work = tmp_path_factory.mktemp("drift")
    (work / "old.c").write_text("".join(line + "\n" for line in base))
    (work / "new.c").write_text("".join(line + "\n" for line in new))
    done = subprocess.run(
        ["diff", "-u", "--label", "a/f.c", "--label", "b/f.c", "old.c", "new.c"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    if not done.stdout:
        return
    compare({"f.c": "".join(line + "\n" for line in tree).encode()}, done.stdout, work)


SEED_FILES = ("include/linux/freezer.h", "kernel/freezer.c", "mm/oom_kill.c")


def tree_state(root: Path, contents: tuple[str, ...]) -> tuple[dict, dict]:
    """Metadata of every entry in the tree, and content of the files we touch."""
    meta = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st_ = os.lstat(os.path.join(dirpath, name))
            meta[os.path.join(dirpath, name)] = (st_.st_mode, st_.st_size, st_.st_mtime_ns)
    data = {path: (root / path).read_bytes() for path in contents}
    return meta, data


@pytest.mark.kernel
def test_seed_patch_applies_to_linux_6_12(kernel_tree: Path, tmp_path: Path) -> None:
    diff = (FIX / "apply" / "seed-v9.diff").read_text()
    files = {path: (kernel_tree / path).read_bytes() for path in SEED_FILES}
    labels = compare(files, diff, tmp_path)
    assert labels == {
        "include/linux/freezer.h": ["exact", "exact"],
        "kernel/freezer.c": ["exact", "exact", "exact"],
        "mm/oom_kill.c": ["offset 1"],
    }
    (result,) = apply_series([parse_patch(diff)], open_tree(kernel_tree))
    posts, _ = gnu_patch(files, diff, tmp_path / "again")
    for applied in result.files:
        assert applied.pre_source == "tree"
        assert applied.pre == (kernel_tree / applied.path).read_text()
        assert applied.post is not None
        assert applied.post.encode() == posts[applied.path]
    assert not result.partial


def _insert_after(lines: list[str], anchor: str, offset: int, new: list[str]) -> None:
    index = next(i for i, line in enumerate(lines) if line.startswith(anchor)) + offset + 1
    lines[index:index] = new


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("path", "anchors", "drop_before", "fuzz_anchor"),
    [
        (
            "kernel/signal.c",
            ["int zap_other_threads(", "static int kill_something_info(", "bool do_notify_parent("],
            "int zap_other_threads(",
            "static int kill_something_info(",
        ),
        (
            "kernel/exit.c",
            ["void release_task(", "static void exit_mm(", "void __noreturn do_exit("],
            "static void exit_mm(",
            "void __noreturn do_exit(",
        ),
    ],
)
def test_real_functions_with_offset_and_fuzz(
    kernel_tree: Path,
    tmp_path: Path,
    path: str,
    anchors: list[str],
    drop_before: str,
    fuzz_anchor: str,
) -> None:
    before = tree_state(kernel_tree, (path,))
    real = (kernel_tree / path).read_text()
    # The author's base: 4 lines fewer above one function (offsets of -4 there and
    # below) and one context line that differs from the real tree (fuzz).
    base = real.splitlines(keepends=True)
    drop = next(i for i, line in enumerate(base) if line.startswith(drop_before)) - 3
    del base[drop - 4 : drop]
    fuzz_at = next(i for i, line in enumerate(base) if line.startswith(fuzz_anchor))
    # Outermost leading context line of the hunk that replaces line fuzz_at + 15.
    base[fuzz_at + 12] = base[fuzz_at + 12].rstrip("\n") + " /* author's tree */\n"
    changed = list(base)
    changed[fuzz_at + 15] = "\t/* replaced in the fuzz hunk */\n"
    for number, anchor in enumerate(anchors):
        _insert_after(changed, anchor, 1, [f"\t/* patchlint test change {number} */\n"])
    work = tmp_path / "author"
    (work / "a" / path).parent.mkdir(parents=True)
    (work / "b" / path).parent.mkdir(parents=True)
    (work / "a" / path).write_text("".join(base))
    (work / "b" / path).write_text("".join(changed))
    done = subprocess.run(
        ["diff", "-u", f"a/{path}", f"b/{path}"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    labels = compare({path: (kernel_tree / path).read_bytes()}, done.stdout, tmp_path)
    statuses = {label.split()[0] for label in labels[path]}
    assert "offset" in statuses and "fuzz" in statuses
    assert tree_state(kernel_tree, (path,)) == before


@pytest.mark.kernel
def test_kernel_tree_is_untouched_by_the_seed(kernel_tree: Path) -> None:
    before = tree_state(kernel_tree, SEED_FILES)
    diff = (FIX / "apply" / "seed-v9.diff").read_text()
    with open_tree(kernel_tree) as tree:
        for _ in range(2):
            apply_series([parse_patch(diff), parse_patch(diff)], tree)
    assert tree_state(kernel_tree, SEED_FILES) == before
