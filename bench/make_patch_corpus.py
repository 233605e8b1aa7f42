"""Generate a deterministic benchmark corpus of git format-patch mails against linux 6.12.

Usage: python bench/make_patch_corpus.py TREE OUT.mbox [--count 300] [--seed 1]

Every patch edits one real function of a real .c file under kernel/, mm/, fs/ or
drivers/ (one file per patch, so the mbox also applies as one series). About 10%
introduce a bug one of the lock rules should report; OUT.json lists each patch's
file, function, edit kind and the rule expected, so a test can measure recall.
The tree is only read: diffs come from difflib on in-memory copies, and the
`patch -p1 --dry-run` check runs on copies in a temporary directory.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

AREAS = ("kernel", "mm", "fs", "drivers")
BUG_SHARE = 0.10
AUTHOR = "Bench Bot <bench@patchlint.invalid>"
BASE_EPOCH = 1_735_689_600  # 2025-01-01: fixed so the mbox is byte-identical per seed

_SIGNATURE_END = re.compile(r"\)\s*$")
_NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")
_NUMBER = re.compile(r"(?<![\w.])([2-9]|[1-9]\d{1,3})(?![\w.])")
_WALK = re.compile(r"\b(for_each_process|for_each_thread|for_each_process_thread)\s*\(")


@dataclass
class Function:
    name: str
    start: int  # index of the signature's first line
    open: int  # index of the "{" line
    close: int  # index of the "}" line
    returns_void: bool


@dataclass
class Edit:
    kind: str
    expected: str | None
    summary: str
    post: list[str]
    line: int


def find_functions(lines: list[str]) -> list[Function]:
    """Kernel-style definitions: a signature, then "{" and "}" alone in column 0.

    A regex scan is enough here because kernel style puts function braces in
    column 0 and nothing else does; a miss only costs a candidate, never a bad patch.
    """
    found: list[Function] = []
    i = 0
    while i < len(lines):
        if lines[i].rstrip("\n") != "{" or i == 0:
            i += 1
            continue
        sig_end = i - 1
        if not _SIGNATURE_END.search(lines[sig_end]):
            i += 1
            continue
        start = sig_end
        while start > 0 and "(" not in lines[start] and sig_end - start < 6:
            start -= 1
        while (
            start > 0
            and lines[start - 1].strip()
            and not lines[start - 1].rstrip().endswith((";", "}", "*/"))
            and not lines[start - 1].startswith(("#", " ", "\t"))
            and sig_end - start < 6
        ):
            start -= 1
        head = "".join(lines[start : sig_end + 1])
        match = _NAME.search(head)
        close = i + 1
        while close < len(lines) and not lines[close].startswith("}"):
            if lines[close].rstrip("\n") == "{":
                break
            close += 1
        if match is None or close >= len(lines) or not lines[close].startswith("}"):
            i += 1
            continue
        prefix = head[: match.start()]
        returns_void = bool(re.search(r"\bvoid\s*$", prefix)) and "*" not in prefix
        if not head.lstrip().startswith(("#", "/*", "*")) and close - i >= 3:
            found.append(Function(match.group(1), start, i, close, returns_void))
        i = close + 1
    return found


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def edit_add_local(lines: list[str], fn: Function) -> Edit | None:
    body = lines[fn.open + 1 : fn.close]
    if not body:
        return None
    post = list(lines)
    last = fn.close - 1
    stmt = '\tpr_debug("%s: %lu jiffies\\n", __func__, jiffies - bench_start);\n'
    top_level = _indent_of(lines[last]) == "\t"
    if top_level and lines[last].lstrip().startswith("return"):
        where = last
    elif top_level and not lines[last].rstrip().endswith(":"):
        where = fn.close
    else:
        # The body ends in a nested return or a label: put the statement after the
        # leading declarations so it is reachable.
        where = fn.open + 1
        while where < fn.close and lines[where].strip():
            where += 1
        if where == fn.close:
            where = fn.open + 1
    post.insert(where, stmt)
    post.insert(fn.open + 1, "\tunsigned long bench_start = jiffies;\n")
    return Edit("add-local", None, f"{fn.name}: trace time spent", post, fn.open + 2)


def edit_reword_comment(lines: list[str], fn: Function) -> Edit | None:
    for i in range(fn.open + 1, fn.close):
        line = lines[i]
        stripped = line.strip()
        if (
            stripped.startswith(("/*", "*", "//"))
            and " the " in line
            and not stripped.startswith("*/")
        ):
            post = list(lines)
            post[i] = line.replace(" the ", " the current ", 1)
            return Edit("reword-comment", None, f"{fn.name}: clarify a comment", post, i + 1)
    return None


def edit_change_constant(lines: list[str], fn: Function) -> Edit | None:
    for i in range(fn.open + 1, fn.close):
        line = lines[i]
        code = line.split("//")[0].split("/*")[0]
        if '"' in code or "'" in code or code.lstrip().startswith(("#", "*")):
            continue
        match = _NUMBER.search(code)
        if match:
            value = int(match.group(1)) + 1
            post = list(lines)
            post[i] = line[: match.start(1)] + str(value) + line[match.end(1) :]
            return Edit("change-constant", None, f"{fn.name}: adjust a constant", post, i + 1)
    return None


def _rcu_sections(lines: list[str], fn: Function) -> list[tuple[int, int]]:
    sections = []
    opened: int | None = None
    for i in range(fn.open + 1, fn.close):
        stripped = lines[i].strip()
        if stripped == "rcu_read_lock();" and opened is None:
            opened = i
        elif stripped == "rcu_read_unlock();" and opened is not None:
            if _indent_of(lines[i]) == _indent_of(lines[opened]):
                sections.append((opened, i))
            opened = None
    return sections


def edit_unlocked_walk(lines: list[str], fn: Function) -> Edit | None:
    for lock, unlock in _rcu_sections(lines, fn):
        inside = "".join(lines[lock + 1 : unlock])
        # A thread walk under the group's siglock stays protected without RCU: dropping
        # RCU there is not the bug task-iter-unlocked reports.
        siglocked = "lock_task_sighand" in inside or "siglock" in inside
        if _WALK.search(inside) and "rcu_read_" not in inside and not siglocked:
            post = [line for i, line in enumerate(lines) if i not in (lock, unlock)]
            return Edit(
                "drop-rcu-around-walk",
                "task-iter-unlocked",
                f"{fn.name}: drop the RCU read lock around the task walk",
                post,
                lock + 1,
            )
    return None


def edit_sleep_in_rcu(lines: list[str], fn: Function) -> Edit | None:
    for lock, unlock in _rcu_sections(lines, fn):
        if unlock - lock < 2:
            continue
        post = list(lines)
        post.insert(lock + 1, f"{_indent_of(lines[lock])}msleep(1);\n")
        return Edit(
            "sleep-in-rcu", "rcu-sleep", f"{fn.name}: back off while scanning", post, lock + 2
        )
    return None


def edit_early_return(lines: list[str], fn: Function) -> Edit | None:
    for lock, unlock in _rcu_sections(lines, fn):
        if unlock - lock < 2:
            continue
        indent = _indent_of(lines[lock])
        value = "" if fn.returns_void else " -EAGAIN"
        if not fn.returns_void and "bool" in lines[fn.start]:
            value = " false"
        post = list(lines)
        post[lock + 1 : lock + 1] = [
            f"{indent}if (unlikely(fatal_signal_pending(current)))\n",
            f"{indent}\treturn{value};\n",
        ]
        return Edit(
            "early-return-in-rcu",
            "rcu-unbalanced",
            f"{fn.name}: bail out early on a fatal signal",
            post,
            lock + 2,
        )
    return None


def edit_thread_flag(lines: list[str], fn: Function) -> Edit | None:
    for i in range(fn.open + 1, fn.close):
        match = re.search(r"\btsk_is_oom_victim\(([^()]+)\)", lines[i])
        if match:
            post = list(lines)
            post[i] = (
                lines[i][: match.start()]
                + f"test_tsk_thread_flag({match.group(1)}, TIF_MEMDIE)"
                + lines[i][match.end() :]
            )
            return Edit(
                "oom-victim-as-thread-flag",
                "thread-flag-as-group",
                f"{fn.name}: test TIF_MEMDIE directly",
                post,
                i + 1,
            )
    return None


BENIGN: list[Callable[[list[str], Function], Edit | None]] = [
    edit_add_local,
    edit_reword_comment,
    edit_change_constant,
]
BUGGY: list[Callable[[list[str], Function], Edit | None]] = [
    edit_unlocked_walk,
    edit_sleep_in_rcu,
    edit_thread_flag,
    edit_early_return,
]


def c_files(tree: Path) -> list[str]:
    files = []
    for area in AREAS:
        for path in (tree / area).rglob("*.c"):
            if path.is_file() and not path.is_symlink():
                files.append(path.relative_to(tree).as_posix())
    return sorted(files)


def read_lines(tree: Path, rel: str) -> list[str] | None:
    try:
        text = (tree / rel).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.endswith("\n") or "\r" in text:
        return None
    return text.splitlines(keepends=True)


def blob_id(text: str) -> str:
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git ids


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@$")
_FUNCNAME = re.compile(r"^[A-Za-z_$]")


def _with_section(line: str, pre: list[str]) -> str:
    """git's default funcname context on a hunk header: the last line starting a word."""
    match = _HUNK.match(line.rstrip("\n"))
    if match is None:
        return line
    for i in range(int(match.group(1)) - 2, -1, -1):
        if _FUNCNAME.match(pre[i]):
            return f"{line.rstrip(chr(10))} {pre[i].rstrip()[:80]}\n"
    return line


def render_diff(rel: str, pre: list[str], post: list[str]) -> tuple[str, int, int]:
    hunks = [
        _with_section(line, pre)
        for line in difflib.unified_diff(pre, post, f"a/{rel}", f"b/{rel}", n=3)
    ]
    added = sum(1 for line in hunks[2:] if line.startswith("+"))
    removed = sum(1 for line in hunks[2:] if line.startswith("-"))
    head = (
        f"diff --git a/{rel} b/{rel}\n"
        f"index {blob_id(''.join(pre))[:12]}..{blob_id(''.join(post))[:12]} 100644\n"
    )
    return head + "".join(hunks), added, removed


def render_mail(
    i: int, total: int, rel: str, edit: Edit, diff: str, added: int, removed: int, seed: int
) -> str:
    subsystem = (
        rel.split("/")[0] if not rel.startswith("drivers/") else "/".join(rel.split("/")[:2])
    )
    subject = f"[PATCH {i}/{total}] {subsystem}: {edit.summary}"
    sha = hashlib.sha1(f"{seed}:{i}:{diff}".encode()).hexdigest()  # noqa: S324 - fake commit
    changes = added + removed
    bar = "+" * min(added, 40) + "-" * min(removed, 40)
    stat = (
        f" {rel} | {changes} {bar}\n 1 file changed, {added} insertion"
        f"{'s' if added != 1 else ''}(+), {removed} deletion{'s' if removed != 1 else ''}(-)\n"
    )
    body = (
        f"The {edit.kind.replace('-', ' ')} change in {rel} is generated by\n"
        f"bench/make_patch_corpus.py (seed {seed}) to measure patch checkers.\n"
    )
    return (
        f"From {sha} Mon Sep 17 00:00:00 2001\n"
        f"From: {AUTHOR}\n"
        f"Date: {formatdate(BASE_EPOCH + 60 * i, localtime=False)}\n"
        f"Subject: {subject}\n"
        f"Message-ID: <bench-{seed}-{i}@patchlint.invalid>\n"
        f"\n{body}\nSigned-off-by: {AUTHOR}\n---\n{stat}\n{diff}--\n2.47.0\n\n"
    )


def plan(tree: Path, count: int, rng: random.Random) -> list[tuple[str, Function, Edit]]:
    files = c_files(tree)
    bug_files = [f for f in files if not f.startswith("drivers/")]
    wanted_bugs = max(len(BUGGY), round(count * BUG_SHARE))
    chosen: list[tuple[str, Function, Edit]] = []
    used: set[str] = set()
    # Bugs first, cycling through the kinds so each rule gets its share; a kernel
    # without a candidate for one kind just yields fewer of that kind.
    bug_counts = dict.fromkeys(range(len(BUGGY)), 0)
    rng.shuffle(bug_files)
    per_kind = -(-wanted_bugs // len(BUGGY))
    for rel in bug_files:
        if sum(bug_counts.values()) >= wanted_bugs:
            break
        lines = read_lines(tree, rel)
        if (
            lines is None
            or "rcu_read_lock" not in "".join(lines)
            and "tsk_is_oom" not in "".join(lines)
        ):
            continue
        for fn in find_functions(lines):
            kinds = sorted(bug_counts, key=lambda k: bug_counts[k])
            edit = None
            for kind in kinds:
                if bug_counts[kind] < per_kind:
                    edit = BUGGY[kind](lines, fn)
                    if edit is not None:
                        bug_counts[kind] += 1
                        break
            if edit is not None:
                chosen.append((rel, fn, edit))
                used.add(rel)
                break
    rng.shuffle(files)
    for rel in files:
        if len(chosen) >= count:
            break
        if rel in used:
            continue
        lines = read_lines(tree, rel)
        if lines is None:
            continue
        functions = find_functions(lines)
        if not functions:
            continue
        fn = rng.choice(functions)
        order = rng.sample(BENIGN, len(BENIGN))
        for make in order:
            edit = make(lines, fn)
            if edit is not None:
                chosen.append((rel, fn, edit))
                used.add(rel)
                break
    rng.shuffle(chosen)
    return chosen[:count]


def check_applies(tree: Path, patches: list[tuple[str, str]]) -> list[str]:
    """`patch -p1 --dry-run` of every diff against a scratch copy of its file."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="patchlint-corpus-") as scratch:
        root = Path(scratch)
        for rel, diff in patches:
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tree / rel, target)
            proc = subprocess.run(
                ["patch", "-p1", "--dry-run", "--batch", "--silent"],
                input=diff,
                text=True,
                cwd=root,
                capture_output=True,
            )
            if proc.returncode != 0:
                failures.append(f"{rel}: {proc.stdout.strip()} {proc.stderr.strip()}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tree", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-verify", action="store_true", help="skip the `patch --dry-run` check")
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    if not (tree / "kernel").is_dir():
        parser.error(f"{tree}: not a kernel tree")
    out = args.out.resolve()
    if out == tree or tree in out.parents:
        parser.error("refusing to write inside the kernel tree")
    rng = random.Random(args.seed)
    chosen = plan(tree, args.count, rng)
    total = len(chosen)
    mails, entries, diffs = [], [], []
    for i, (rel, fn, edit) in enumerate(chosen, 1):
        pre = read_lines(tree, rel) or []
        diff, added, removed = render_diff(rel, pre, edit.post)
        diffs.append((rel, diff))
        mails.append(render_mail(i, total, rel, edit, diff, added, removed, args.seed))
        entries.append(
            {
                "index": i,
                "message_id": f"bench-{args.seed}-{i}@patchlint.invalid",
                "file": rel,
                "function": fn.name,
                "line": edit.line,
                "edit": edit.kind,
                "expected": edit.expected,
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(mails), encoding="utf-8")
    index = {
        "tree": str(tree),
        "seed": args.seed,
        "count": total,
        "bugs": sum(1 for e in entries if e["expected"]),
        "patches": entries,
    }
    out.with_suffix(".json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    failures = [] if args.no_verify else check_applies(tree, diffs)
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[entry["edit"]] = kinds.get(entry["edit"], 0) + 1
    print(
        f"{out}: {total} patches ({index['bugs']} with an expected finding): "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )
    for failure in failures:
        print(f"does not apply: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
