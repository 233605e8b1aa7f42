"""Git hooks: installation (core.hooksPath, foreign hooks, --force, uninstall) and the
hooks exercised end to end with git itself in a repository of real kernel files."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from patchlint.hooks import MARKER, HookError, hooks_dir, install, push_ranges, uninstall

REPO = Path(__file__).resolve().parent.parent
KERNEL_FILES = [
    "kernel/freezer.c",
    "include/linux/freezer.h",
    "mm/oom_kill.c",
    "include/linux/oom.h",
    "include/linux/sched/signal.h",
]
# find_lock_task_mm() walks the threads under rcu_read_lock(); removing the lock is the
# bug task-iter-unlocked (fixtures/rules/task-iter-unlocked) reports as an error.
LOCKED = "\tstruct task_struct *t;\n\n\trcu_read_lock();\n\n\tfor_each_thread(p, t) {"
UNLOCKED = "\tstruct task_struct *t;\n\n\tfor_each_thread(p, t) {"
UNLOCK = "found:\n\trcu_read_unlock();\n\n\treturn t;"
NO_UNLOCK = "found:\n\treturn t;"


def git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Dev Eloper",
            "GIT_AUTHOR_EMAIL": "dev@example.org",
            "GIT_COMMITTER_NAME": "Dev Eloper",
            "GIT_COMMITTER_EMAIL": "dev@example.org",
            "GIT_TERMINAL_PROMPT": "0",
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    env.pop("GIT_DIR", None)
    env.pop("CI", None)
    return env


def git(
    repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env or git_env(repo.parent),
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    if check and run.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {run.stdout}{run.stderr}")
    return run


def patchlint(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patchlint", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=git_env(repo.parent),
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("hello\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "initial")
    return path


def test_install_writes_a_marked_executable_script(repo: Path) -> None:
    path = install("pre-commit", repo)
    assert path == repo / ".git" / "hooks" / "pre-commit"
    text = path.read_text()
    assert text.startswith("#!/bin/sh\n") and MARKER in text
    assert f"{sys.executable} -m patchlint hook run pre-commit --fail-on error" in text
    assert path.stat().st_mode & stat.S_IXUSR


def test_install_respects_core_hooks_path(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    assert hooks_dir(repo) == (repo / ".githooks").resolve()
    path = install("pre-push", repo)
    assert path == (repo / ".githooks" / "pre-push").resolve()
    assert not (repo / ".git" / "hooks" / "pre-push").exists()


def test_foreign_hook_needs_force(repo: Path) -> None:
    foreign = repo / ".git" / "hooks" / "pre-commit"
    foreign.write_text("#!/bin/sh\nmake check\n")
    with pytest.raises(HookError, match="not written by patchlint"):
        install("pre-commit", repo)
    assert foreign.read_text() == "#!/bin/sh\nmake check\n"
    with pytest.raises(HookError, match="not removing"):
        uninstall("pre-commit", repo)
    assert foreign.exists()
    install("pre-commit", repo, force=True)
    assert MARKER in foreign.read_text()
    # --force keeps the old hook as <name>.legacy (chained, as the pre-commit framework does)
    legacy = foreign.with_name("pre-commit.legacy")
    assert legacy.read_text() == "#!/bin/sh\nmake check\n"
    # Reinstalling over our own hook needs no --force.
    install("pre-commit", repo, fail_on="warning")
    assert "--fail-on warning" in foreign.read_text()
    assert legacy.exists()
    # Uninstalling puts the old hook back.
    assert uninstall("pre-commit", repo) == foreign
    assert foreign.read_text() == "#!/bin/sh\nmake check\n" and not legacy.exists()


def test_cli_install_and_uninstall(repo: Path) -> None:
    run = patchlint(repo, "hook", "install", "--type", "pre-commit", "--type", "pre-push")
    assert run.returncode == 0, run.stderr
    assert (repo / ".git/hooks/pre-commit").exists() and (repo / ".git/hooks/pre-push").exists()
    (repo / ".git/hooks/sendemail-validate").write_text("#!/bin/sh\nexit 0\n")
    run = patchlint(repo, "hook", "install")
    assert run.returncode == 1 and "--force" in run.stderr
    run = patchlint(repo, "hook", "uninstall")
    assert run.returncode == 0, run.stderr
    assert not (repo / ".git/hooks/pre-commit").exists()
    assert (repo / ".git/hooks/sendemail-validate").exists()  # not ours: left alone


def test_push_ranges(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").stdout.strip()
    (repo / "a").write_text("a\n")
    git(repo, "add", "a")
    git(repo, "commit", "-q", "-m", "a")
    second = git(repo, "rev-parse", "HEAD").stdout.strip()
    zero = "0" * 40
    lines = [
        f"refs/heads/main {second} refs/heads/main {first}",
        f"(delete) {zero} refs/heads/gone {first}",
        "garbage",
    ]
    os.chdir(repo)
    assert push_ranges(lines, repo) == [f"{first}..{second}"]
    # A new branch: the commits no remote has (none is known here: all but the root).
    assert push_ranges([f"refs/heads/main {second} refs/heads/new {zero}"], repo) == [
        f"{first}..{second}"
    ]


# --- end to end with real kernel files ------------------------------------------------


@pytest.fixture
def kernel_repo(tmp_path: Path, kernel_tree: Path) -> Path:
    path = tmp_path / "linux"
    # Makefile (VERSION/PATCHLEVEL) and Kconfig make the excerpt a kernel tree.
    for name in [*KERNEL_FILES, "Makefile", "Kconfig"]:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(kernel_tree / name, path / name)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "linux 6.12 excerpt")
    assert LOCKED in (path / "mm/oom_kill.c").read_text()
    return path


def introduce_bug(repo: Path) -> None:
    source = repo / "mm/oom_kill.c"
    text = source.read_text()
    source.write_text(text.replace(LOCKED, UNLOCKED, 1).replace(UNLOCK, NO_UNLOCK, 1))


def clean_change(repo: Path) -> None:
    source = repo / "kernel/freezer.c"
    source.write_text(
        source.read_text().replace(
            "/* total number of freezing conditions in effect */",
            "/* total number of freezing conditions in effect (see freeze_processes) */",
            1,
        )
    )


@pytest.mark.kernel
def test_pre_commit_blocks_a_bug_and_allows_a_clean_change(kernel_repo: Path) -> None:
    assert patchlint(kernel_repo, "hook", "install", "--type", "pre-commit").returncode == 0
    head = git(kernel_repo, "rev-parse", "HEAD").stdout
    introduce_bug(kernel_repo)
    git(kernel_repo, "add", "-A")
    run = git(kernel_repo, "commit", "-m", "mm: drop a lock", check=False)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "task-iter-unlocked" in run.stdout + run.stderr
    assert git(kernel_repo, "rev-parse", "HEAD").stdout == head
    git(kernel_repo, "reset", "-q", "--hard")
    clean_change(kernel_repo)
    git(kernel_repo, "add", "-A")
    run = git(kernel_repo, "commit", "-m", "freezer: comment", check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert git(kernel_repo, "rev-parse", "HEAD").stdout != head


def _send_email_available(repo: Path) -> bool:
    run = git(repo, "send-email", "-h", check=False)
    return "validate" in run.stdout + run.stderr


def _send(repo: Path) -> subprocess.CompletedProcess[str]:
    return git(
        repo,
        "send-email",
        "--dry-run",
        "--validate",
        "--confirm=never",
        "--to=list@example.org",
        "--from=Dev Eloper <dev@example.org>",
        "--suppress-cc=all",
        "-1",
        check=False,
    )


@pytest.mark.kernel
def test_sendemail_validate(kernel_repo: Path, tmp_path: Path) -> None:
    assert patchlint(kernel_repo, "hook", "install").returncode == 0
    hook = kernel_repo / ".git/hooks/sendemail-validate"
    introduce_bug(kernel_repo)
    git(kernel_repo, "commit", "-qsam", "mm: drop a lock", "--no-verify")
    bad = Path(git(kernel_repo, "format-patch", "-1", "-o", str(tmp_path / "bad")).stdout.strip())
    # As git documents it: the hook gets the mail's file as $1, from the work tree's top.
    env = git_env(tmp_path)
    env["GIT_DIR"] = str(kernel_repo / ".git")
    run = subprocess.run(
        [str(hook), str(bad)], cwd=kernel_repo, capture_output=True, text=True, env=env
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "task-iter-unlocked" in run.stdout
    if _send_email_available(kernel_repo):
        run = _send(kernel_repo)
        assert run.returncode != 0 and "task-iter-unlocked" in run.stdout + run.stderr
        assert "Dry-OK" not in run.stdout
    git(kernel_repo, "reset", "-q", "--hard", "HEAD^")
    clean_change(kernel_repo)
    git(kernel_repo, "commit", "-qam", "freezer: comment")
    unsigned = Path(
        git(kernel_repo, "format-patch", "-1", "-o", str(tmp_path / "unsigned")).stdout.strip()
    )
    run = subprocess.run(
        [str(hook), str(unsigned)], cwd=kernel_repo, capture_output=True, text=True, env=env
    )
    assert run.returncode == 1 and "missing-signoff" in run.stdout  # a mail needs one
    git(kernel_repo, "commit", "-q", "--amend", "-s", "--no-edit")
    good = Path(git(kernel_repo, "format-patch", "-1", "-o", str(tmp_path / "good")).stdout.strip())
    run = subprocess.run(
        [str(hook), str(good)], cwd=kernel_repo, capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stdout + run.stderr
    if _send_email_available(kernel_repo):
        run = _send(kernel_repo)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Dry-OK" in run.stdout


@pytest.mark.kernel
def test_pre_push_checks_every_pushed_commit(kernel_repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(kernel_repo, "remote", "add", "origin", str(remote))
    git(kernel_repo, "push", "-q", "origin", "main")
    assert patchlint(kernel_repo, "hook", "install", "--type", "pre-push").returncode == 0
    clean_change(kernel_repo)
    git(kernel_repo, "commit", "-qam", "freezer: comment")
    run = git(kernel_repo, "push", "origin", "main", check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    introduce_bug(kernel_repo)
    git(kernel_repo, "commit", "-qam", "mm: drop a lock")
    clean_source = kernel_repo / "include/linux/oom.h"
    clean_source.write_text(clean_source.read_text() + "\n")
    git(kernel_repo, "commit", "-qam", "oom: trailing line")
    run = git(kernel_repo, "push", "origin", "main", check=False)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "task-iter-unlocked" in run.stdout + run.stderr
    # A new branch holding the bad commit is checked too.
    run = git(kernel_repo, "push", "origin", "main:refs/heads/topic", check=False)
    assert run.returncode != 0 and "task-iter-unlocked" in run.stdout + run.stderr


# --- issue 11 item 12: chaining, silence, the framework ---------------------------------


def _write_c_repo(repo: Path) -> None:
    (repo / "lib").mkdir()
    (repo / "lib" / "a.c").write_text("int a(void)\n{\n\treturn 1;\n}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a.c")


def test_force_chains_the_legacy_hook(repo: Path) -> None:
    marker = repo / "legacy-ran"
    foreign = repo / ".git" / "hooks" / "pre-commit"
    foreign.write_text(f"#!/bin/sh\necho ran > {marker}\nexit ${{LEGACY_STATUS:-0}}\n")
    foreign.chmod(0o755)
    assert patchlint(repo, "hook", "install", "--type", "pre-commit", "--force").returncode == 0
    _write_c_repo(repo)  # the commit runs both hooks
    assert marker.exists()
    marker.unlink()
    (repo / "lib" / "a.c").write_text("int a(void)\n{\n\treturn 2;\n}\n")
    git(repo, "add", "-A")
    env = git_env(repo.parent)
    env["LEGACY_STATUS"] = "3"
    run = git(repo, "commit", "-q", "-m", "b", check=False, env=env)
    assert marker.exists() and run.returncode != 0
    assert "pre-commit.legacy hook failed" in run.stderr


def test_patch_only_mode_says_so_once_and_passes_silently(repo: Path) -> None:
    install("pre-commit", repo)
    (repo / "b.c").write_text("int b;\n")
    git(repo, "add", "b.c")
    run = git(repo, "commit", "-q", "-m", "b", check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    lines = [line for line in run.stderr.splitlines() if "patchlint" in line]
    assert len(lines) == 1 and "patch-only mode" in lines[0]


def test_require_tree_exits_2_outside_a_kernel_tree(repo: Path) -> None:
    (repo / "c.c").write_text("int c;\n")
    git(repo, "add", "c.c")
    run = patchlint(repo, "hook", "run", "pre-commit", "--require-tree")
    assert run.returncode == 2 and "--require-tree" in run.stderr
    run = patchlint(repo, "check", "--require-tree", "-")
    assert run.returncode == 2 and "no kernel tree found" in run.stderr


def test_bypass_hint_names_skip_under_the_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    from patchlint.hooks import bypass_hint

    monkeypatch.delenv("PRE_COMMIT", raising=False)
    assert bypass_hint("pre-commit") == "git commit --no-verify"
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert bypass_hint("pre-commit").startswith("SKIP=patchlint-staged ")


def test_framework_refs_and_all_files_check_what_they_name(repo: Path) -> None:
    _write_c_repo(repo)
    first = git(repo, "rev-parse", "HEAD").stdout.strip()
    (repo / "lib" / "a.c").write_text("int a(void)\n{\n\treturn 2;\n}\n")
    git(repo, "commit", "-qam", "two")
    second = git(repo, "rev-parse", "HEAD").stdout.strip()
    env = git_env(repo.parent)
    env.update({"PRE_COMMIT": "1", "PRE_COMMIT_FROM_REF": first, "PRE_COMMIT_TO_REF": second})
    script = (
        "import sys; from patchlint import hooks; calls = []\n"
        "hooks._check = lambda args, cwd: calls.append(args) or 0\n"
        "hooks.run_pre_commit('error', sys.argv[1:])\n"
        "print(calls)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, env=env
    )
    assert f"'--git', '{first}..{second}'" in run.stdout, run.stdout + run.stderr
    # --all-files: nothing staged, the named files are checked as they are.
    env.pop("PRE_COMMIT_FROM_REF")
    env.pop("PRE_COMMIT_TO_REF")
    script = script.replace(
        "calls.append(args) or 0", "calls.append(open(args[-1]).read()) or 0"
    ).replace("print(calls)", "print(calls[0])")
    run = subprocess.run(
        [sys.executable, "-c", script, "lib/a.c"], cwd=repo, capture_output=True, text=True, env=env
    )
    assert "+++ b/lib/a.c" in run.stdout and "+\treturn 2;" in run.stdout, run.stderr


# --- one mail of a series, as git send-email hands it to the hook ----------------------

COUNTER = "int counter;\n\nint counter_get(void)\n{\n\treturn counter;\n}\n"


@pytest.fixture
def tiny_kernel(repo: Path) -> Path:
    """A kernel-shaped repository (Makefile VERSION/PATCHLEVEL, Kconfig, usual folders)
    with a three-commit range whose second commit edits what the first one adds."""
    (repo / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n")
    (repo / "Kconfig").write_text('mainmenu "Linux"\n')
    (repo / "kernel").mkdir()
    (repo / "kernel/Makefile").write_text("obj-y += fork.o\n")
    (repo / "lib").mkdir()
    (repo / "lib/counter.c").write_text(COUNTER)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tiny tree")
    git(repo, "tag", "base")
    steps = [
        ("lib: add counter_reset()", "\nvoid counter_reset(void)\n{\n\tcounter = 0;\n}\n"),
        ("lib: reset the counter to one", None),
        ("lib: add counter_add()", "\nvoid counter_add(int n)\n{\n\tcounter += n;\n}\n"),
    ]
    for subject, added in steps:
        source = repo / "lib/counter.c"
        text = source.read_text()
        text = text + added if added else text.replace("\tcounter = 0;", "\tcounter = 1;")
        source.write_text(text)
        git(repo, "commit", "-qsam", subject)
    return repo


def test_sendemail_validate_checks_one_mail_on_its_predecessors(
    tiny_kernel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "outgoing"
    git(tiny_kernel, "format-patch", "-q", "--cover-letter", "--thread", "-3", "-o", str(out))
    second = sorted(out.glob("0002-*.patch"))[0]
    assert "[PATCH 2/3]" in second.read_text()
    assert patchlint(tiny_kernel, "hook", "install").returncode == 0
    env = git_env(tmp_path)
    env["GIT_DIR"] = str(tiny_kernel / ".git")
    hook = tiny_kernel / ".git/hooks/sendemail-validate"
    run = subprocess.run(
        [str(hook), str(second)], cwd=tiny_kernel, capture_output=True, text=True, env=env
    )
    # The mail passes, silently: 1/3 and 3/3 are not reported missing.
    assert run.returncode == 0 and run.stdout == "", run.stdout + run.stderr

    # The same code path, its `patchlint check` call captured and rerun for JSON.
    import patchlint.hooks as hooks

    calls: list[list[str]] = []
    monkeypatch.setattr(hooks, "_check", lambda args, cwd: calls.append(args) or 0)
    monkeypatch.chdir(tiny_kernel)
    assert hooks.run_sendemail_validate(second, "error") == 0
    (args,) = calls
    base = git(tiny_kernel, "rev-parse", args[args.index("--base") + 1]).stdout
    assert base == git(tiny_kernel, "rev-parse", "HEAD~2").stdout  # the commit of 1/3

    def checked(*options: str) -> dict[str, object]:
        run = patchlint(tiny_kernel, "check", "--format", "json", *options)
        assert run.returncode in (0, 1), run.stderr
        (patch,) = json.loads(run.stdout)["patches"]
        patch["report"] = run.stdout
        return patch  # type: ignore[no-any-return]

    # Where the mail names its pre-image blob (an index line) the check reads that blob;
    # without one it reads the tree the hook chose, so drop it to see which tree that is.
    bare = tmp_path / "bare.patch"
    bare.write_text(re.sub(r"(?m)^index .*\n", "", second.read_text()))
    mail_at = args.index(str(second.resolve()))
    patch = checked(*args[:mail_at], str(bare))
    (counter,) = patch["files"]  # type: ignore[index]
    assert counter["apply_state"] == "applied", counter  # 2/3 edits what 1/3 added
    assert "not in this input" not in str(patch["report"])
    assert "1/3 and 3/3 not in this input" in str(checked(str(bare))["report"])  # not the hook
    # The tree the range started from (1/3 not applied) and the work tree (3/3
    # applied already) are the wrong trees: there the mail does not apply.
    for wrong in (["--base", "base"], []):
        files = checked("--tree", str(tiny_kernel), *wrong, str(bare))["files"]
        assert [f["apply_state"] for f in files] == ["does not apply"], wrong  # type: ignore[attr-defined]
