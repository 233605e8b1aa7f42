"""End-to-end: untrusted input through `patchlint check` never crashes, escapes or stalls.

Every case runs the real CLI as a process on a small fake tree in tmp_path; the
outcome must be a JSON report with one `messages` entry per input message, errors as
values, and exit status 2 only for inputs that cannot be read at all.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.robustness.cli_helpers import (
    diff_add,
    diff_good,
    diff_modify,
    hash_tree,
    mail,
    make_tree,
    run_cli,
)
from tests.robustness.test_fuzz_layers import deep_braces, deep_macros, goto_maze, huge_file

pytestmark = pytest.mark.slow
PATHOLOGICAL_SECONDS = 120


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    tree = make_tree(tmp_path / "linux", tmp_path / "outside")
    return tree, tmp_path / "outside"


def check_json(tree: Path | None, mbox: Path, *extra: str, timeout: float = 600):
    tree_args = ["--tree", str(tree)] if tree is not None else ["--no-tree"]
    return run_cli(
        "check",
        *tree_args,
        "--format",
        "json",
        "--fail-on",
        "never",
        *extra,
        str(mbox),
        timeout=timeout,
    )


def assert_accounted(result, count: int) -> None:
    # --fail-on never: findings never fail the run, so anything but 0 is a crash (1) or
    # an unreadable input (2).
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.data is not None, f"no JSON on stdout: {result.stderr[-2000:]}"
    messages = result.data["messages"]
    assert len(messages) == count, [m["subject"][:60] for m in messages]
    for message in messages:
        if message["kind"] in ("error", "other"):
            assert message["reason"], message
    assert "Traceback" not in result.stderr


UNSAFE = {
    "dotdot": "../../etc/passwd",
    "dotdot-inside": "kernel/../../outside/secret.c",
    "absolute": "/etc/passwd",
    "symlink-dir-out": "kernel/escape/secret.c",
    "symlink-file-out": "kernel/leak.c",
    "device-dev-null": "dev/null",
    "device-symlink": "kernel/zero.c",
}


def test_unsafe_paths_are_refused_and_the_run_continues(
    sandbox: tuple[Path, Path], tmp_path: Path
) -> None:
    tree, outside = sandbox
    before_tree, before_out = hash_tree(tree), hash_tree(outside)
    mails = [
        mail(i, f"[PATCH {i}/{len(UNSAFE) + 1}] unsafe {name}", diff_modify(path))
        for i, (name, path) in enumerate(UNSAFE.items(), 1)
    ]
    mails.append(
        mail(len(UNSAFE) + 1, f"[PATCH {len(UNSAFE) + 1}/{len(UNSAFE) + 1}] good", diff_good())
    )
    mbox = tmp_path / "unsafe.mbox"
    mbox.write_bytes(b"".join(mails))
    result = check_json(tree, mbox, "--no-simulate")
    assert_accounted(result, len(mails))
    patches = result.data["patches"]
    assert len(patches) == len(mails)
    for patch, (name, _path) in zip(patches, UNSAFE.items(), strict=False):
        states = [(f["apply_state"], f.get("error")) for f in patch["files"]]
        refused = [s for s in states if s[0] in ("refused", "does not apply")]
        problems = patch["errors"] + [e for _, e in states if e]
        assert refused or patch["errors"], f"{name}: {states} {patch['errors']}"
        assert problems, f"{name}: the refusal must say why"
        assert not any("secret" in str(f) for f in patch["findings"]), name
    good = patches[-1]
    assert [f["apply_state"] for f in good["files"]] == ["applied"], good["files"]
    assert hash_tree(tree) == before_tree
    assert hash_tree(outside) == before_out


def test_unsafe_paths_without_tree(tmp_path: Path) -> None:
    mails = [
        mail(i, f"[PATCH] unsafe {name}", diff_modify(path))
        for i, (name, path) in enumerate(UNSAFE.items(), 1)
    ]
    mbox = tmp_path / "unsafe.mbox"
    mbox.write_bytes(b"".join(mails))
    assert_accounted(check_json(None, mbox), len(mails))


HOSTILE_MAILS = {
    "huge-subject": lambda i: mail(i, "[PATCH] " + "x" * 1_000_000, diff_good()),
    "huge-header-folded": lambda i: mail(
        i, "[PATCH] folded", diff_good(), extra_headers="X-Big: " + "y\n z" * 200_000 + "\n"
    ),
    "nul-in-body": lambda i: mail(
        i, "[PATCH] nul body", diff_good(), body="Before\x00after\x00\x00.\n"
    ),
    "nul-in-header": lambda i: mail(
        i, "[PATCH] nul\x00subject", diff_good(), extra_headers="X-Nul: a\x00b\n"
    ),
    "nul-in-diff": lambda i: mail(i, "[PATCH] nul diff", diff_good().replace("n--;", "n\x00;")),
    "bad-utf8": lambda i: mail(
        i,
        "[PATCH] bad utf8",
        diff_good(),
        extra_headers="Content-Type: text/plain; charset=utf-8\n",
        body="caf\udcc3( \udcff\udcfe\n",
    ),
    "unknown-charset": lambda i: mail(
        i,
        "[PATCH] unknown charset",
        diff_good(),
        extra_headers="Content-Type: text/plain; charset=x-klingon\n",
    ),
    "bad-base64": lambda i: mail(
        i,
        "[PATCH] bad b64",
        None,
        extra_headers="Content-Transfer-Encoding: base64\n",
        body="!!!not base64 at all===\n",
    ),
    "rfc2047-garbage": lambda i: mail(i, "=?utf-8?b?////?= =?x?q?=ZZ?=", diff_good()),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_MAILS))
def test_hostile_mail_is_accounted_for(
    name: str, sandbox: tuple[Path, Path], tmp_path: Path
) -> None:
    tree, _ = sandbox
    mbox = tmp_path / f"{name}.mbox"
    mbox.write_bytes(HOSTILE_MAILS[name](1) + mail(2, "[PATCH] after it", diff_good()))
    start = time.perf_counter()
    result = check_json(tree, mbox, "--no-simulate", timeout=PATHOLOGICAL_SECONDS * 2)
    assert time.perf_counter() - start < PATHOLOGICAL_SECONDS
    assert_accounted(result, 2)
    assert result.data["messages"][1]["kind"] == "patch"


@pytest.mark.parametrize("cut", [0.3, 0.45, 0.6, 0.77, 0.95])
def test_truncated_mbox(cut: float, sandbox: tuple[Path, Path], tmp_path: Path) -> None:
    tree, _ = sandbox
    first = mail(1, "[PATCH 1/2] one", diff_good())
    data = first + mail(2, "[PATCH 2/2] two", diff_good())
    size = int(len(data) * cut)
    mbox = tmp_path / "truncated.mbox"
    mbox.write_bytes(data[:size])
    # The second message exists once its whole "From " separator line is there.
    second_started = size > len(first) + data[len(first) :].index(b"\n")
    result = check_json(tree, mbox, "--no-simulate")
    assert_accounted(result, 2 if second_started else 1)


PATHOLOGICAL_PATCHES = {
    "generated-20000-lines": lambda: diff_add("kernel/generated.c", huge_file(20000)),
    "nested-braces-5000": lambda: diff_add("kernel/nested.c", deep_braces()),
    "nested-macros": lambda: diff_add("kernel/macros.c", deep_macros()),
    "goto-maze": lambda: diff_add("kernel/maze.c", goto_maze(600)),
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL_PATCHES))
def test_pathological_patch_is_bounded(
    name: str, sandbox: tuple[Path, Path], tmp_path: Path
) -> None:
    tree, _ = sandbox
    mbox = tmp_path / f"{name}.mbox"
    mbox.write_bytes(
        mail(1, f"[PATCH 1/2] {name}", PATHOLOGICAL_PATCHES[name]())
        + mail(2, "[PATCH 2/2] good", diff_good())
    )
    start = time.perf_counter()
    result = check_json(tree, mbox, timeout=PATHOLOGICAL_SECONDS * 3)
    elapsed = time.perf_counter() - start
    assert_accounted(result, 2)
    first, second = result.data["patches"]
    # Either analysed within the budget, or reported as skipped for it; never a crash.
    if first["skipped"]:
        assert "budget exceeded" in first["skipped"], first["skipped"]
    assert second["files"][0]["apply_state"] == "applied"
    assert elapsed < PATHOLOGICAL_SECONDS, f"{name} took {elapsed:.0f}s: no per-patch budget"


def test_exit_code_2_only_for_unreadable_input(tmp_path: Path) -> None:
    missing = run_cli("check", "--no-tree", str(tmp_path / "missing.mbox"))
    assert missing.returncode == 2
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    assert run_cli("check", "--no-tree", str(empty_dir)).returncode == 2
    assert run_cli("check", "--no-tree").returncode == 2  # usage: no input
    garbage = tmp_path / "garbage.mbox"
    garbage.write_bytes(b"\x00\xff" * 5000)
    # Read, but not mail: one message of kind "error" saying why; nothing fails the run.
    run = run_cli("check", "--no-tree", "--format", "json", str(garbage))
    assert run.returncode == 0, run.stderr[-2000:]
    assert [(m["kind"], bool(m["reason"])) for m in run.data["messages"]] == [("error", True)]
    # An empty mailbox holds no message: nothing to check, nothing wrong.
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    run = run_cli("check", "--no-tree", "--format", "json", str(empty))
    assert (run.returncode, run.data["messages"], run.data["errors"]) == (0, [], [])


def test_readable_and_unreadable_inputs_together(tmp_path: Path) -> None:
    good = tmp_path / "good.mbox"
    good.write_bytes(mail(1, "[PATCH] good", diff_good()))
    result = run_cli(
        "check", "--no-tree", "--format", "json", str(good), str(tmp_path / "missing.mbox")
    )
    # The readable input is still reported; the missing one is named in errors.
    assert result.data is not None
    assert len(result.data["messages"]) == 1
    assert any("missing.mbox" in error for error in result.data["errors"])
