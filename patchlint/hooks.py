"""Git hooks: install/uninstall patchlint's hook scripts and run them.

An installed hook is a two-line shell script calling this interpreter's
`python -m patchlint hook run TYPE`, which gathers what git hands the hook and runs
`python -m patchlint check` on it. Going through the CLI keeps the hook's verdict
identical to a manual `patchlint check` (same options, same exit status).

- sendemail-validate: git calls it once per outgoing mail with the file as $1. The mail
  is checked against the repository; when it is a format-patch of a commit of this
  repository, the pre-image is that commit's parent (the work tree already holds the
  post-image).
- pre-commit: the staged diff (`git diff --cached`) checked with the pre-image at HEAD.
- pre-push: each pushed ref's new commits (`remote..local`, or for a new branch the
  commits no remote has), checked with `check --git A..B`.
Commits are not mails yet: pre-commit and pre-push leave out the rules about the mail
(sign-off, trailers, series); sendemail-validate applies every rule.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from email.utils import formatdate
from pathlib import Path

HOOK_TYPES = ("sendemail-validate", "pre-commit", "pre-push")
MARKER = "# patchlint-managed-hook"
ZERO = "0" * 40
# Rules about the mail itself (sign-off, trailers, series): for sendemail-validate only.
_MAIL_SCOPES = ("mail", "series")


class HookError(Exception):
    pass


def _git(
    *args: str, cwd: Path | None = None, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, check=check, capture_output=True, text=True, input=stdin
        )
    except subprocess.CalledProcessError as error:
        raise HookError(f"git {' '.join(args)}: {error.stderr.strip() or error}") from error
    except OSError as error:
        raise HookError(f"git: {error}") from error


def hooks_dir(repo: Path | None = None) -> Path:
    """Where git looks for hooks: honours core.hooksPath and worktrees."""
    cwd = repo or Path.cwd()
    path = Path(_git("rev-parse", "--git-path", "hooks", cwd=cwd).stdout.strip())
    return path if path.is_absolute() else (cwd / path).resolve()


def hook_script(hook_type: str, fail_on: str = "error", python: str | None = None) -> str:
    interpreter = shlex.quote(python or sys.executable)
    return (
        "#!/bin/sh\n"
        f"{MARKER} ({hook_type}): written by `patchlint hook install`, removed by "
        "`patchlint hook uninstall`.\n"
        f'exec {interpreter} -m patchlint hook run {hook_type} --fail-on {fail_on} -- "$@"\n'
    )


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(
    hook_type: str, repo: Path | None = None, force: bool = False, fail_on: str = "error"
) -> Path:
    if hook_type not in HOOK_TYPES:
        raise HookError(f"unknown hook type {hook_type!r}")
    directory = hooks_dir(repo)
    target = directory / hook_type
    foreign = (target.exists() or target.is_symlink()) and not is_ours(target)
    if foreign and not force:
        raise HookError(
            f"{target} exists and was not written by patchlint; use --force to keep it "
            f"as {target.name}.legacy and run it before patchlint"
        )
    directory.mkdir(parents=True, exist_ok=True)
    if foreign:
        legacy = legacy_path(target)
        if legacy.exists() or legacy.is_symlink():
            raise HookError(f"{legacy} exists already; move it away before --force")
        # As the pre-commit framework does: the old hook keeps running, first.
        target.rename(legacy)
    elif target.is_symlink():
        target.unlink()
    target.write_text(hook_script(hook_type, fail_on), encoding="utf-8")
    target.chmod(0o755)
    return target


def legacy_path(target: Path) -> Path:
    return target.with_name(target.name + ".legacy")


def uninstall(hook_type: str, repo: Path | None = None) -> Path | None:
    """Remove patchlint's hook; a hook someone else wrote is left alone (HookError)."""
    target = hooks_dir(repo) / hook_type
    if not target.exists():
        return None
    if not is_ours(target):
        raise HookError(f"{target} was not written by patchlint; not removing it")
    target.unlink()
    legacy = legacy_path(target)
    if legacy.exists():
        legacy.rename(target)  # the hook `install --force` kept comes back
    return target


def _check(args: list[str], cwd: Path) -> int:
    """Run `patchlint check`; its output is shown only when the hook fails, so a
    passing hook is silent."""
    command = [sys.executable, "-m", "patchlint", "check", *args]
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.stdout.write(run.stdout)
        sys.stdout.flush()
        sys.stderr.write(run.stderr)
    return run.returncode


def tree_args(hook_type: str, top: Path, require_tree: bool) -> list[str] | None:
    """`--tree TOP` when the repository is a kernel tree; otherwise patch-only mode,
    said in one line on stderr (or None with --require-tree: the caller exits 2)."""
    from patchlint.source import find_kernel_tree

    tree = find_kernel_tree(top)
    if tree is not None:
        return ["--tree", str(tree)]
    if require_tree:
        sys.stderr.write(
            f"patchlint {hook_type}: no kernel tree at {top} (a Makefile with "
            "VERSION/PATCHLEVEL, Kconfig and the usual folders); --require-tree is set\n"
        )
        return None
    sys.stderr.write(
        f"patchlint {hook_type}: patch-only mode: {top} is not a kernel tree, so the "
        "patch is checked without its surrounding code\n"
    )
    return ["--no-tree"]


def _toplevel() -> Path:
    return Path(_git("rev-parse", "--show-toplevel").stdout.strip())


def _commit_exists(rev: str, cwd: Path) -> bool:
    return _git("cat-file", "-e", f"{rev}^{{commit}}", cwd=cwd, check=False).returncode == 0


def _mail_base(mail: Path, top: Path) -> str | None:
    """The parent of the commit a format-patch mail was made from, if this repo has it."""
    try:
        with mail.open("rb") as handle:
            first = handle.readline().decode("ascii", errors="replace").split()
    except OSError:
        return None
    if len(first) < 2 or first[0] != "From" or len(first[1]) != 40 or first[1] == ZERO:
        return None
    sha = first[1]
    if _commit_exists(sha, top) and _commit_exists(f"{sha}^", top):
        return f"{sha}^"
    return None


def _mail_rule_ids() -> list[str]:
    from patchlint.rules.engine import all_rules

    return [meta.id for meta in all_rules() if meta.scope in _MAIL_SCOPES]


def run_sendemail_validate(mail: Path, fail_on: str, require_tree: bool = False) -> int:
    """git send-email hands the hook one mail at a time: it is checked alone, on the
    tree with the earlier commits of its series applied (the parent of its commit,
    when this repository has it), and the other patches of the series are not
    reported missing."""
    top = _toplevel()
    tree = tree_args("sendemail-validate", top, require_tree)
    if tree is None:
        return 2
    args = [*tree, "--fail-on", fail_on, "--ignore", "series-incomplete"]
    base = _mail_base(mail, top)
    if base and tree[0] == "--tree":
        args += ["--base", base]
    return _check([*args, "--", str(mail.resolve())], top)


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree


def _staged_files(top: Path) -> set[str]:
    names = _git("diff", "--cached", "--name-only", "-z", cwd=top).stdout.split("\0")
    return {name for name in names if name}


def _commit_mail(diff: str, top: Path, what: str) -> str:
    ident = _git("var", "GIT_AUTHOR_IDENT", cwd=top, check=False).stdout.strip()
    author = ident.rsplit(">", 1)[0] + ">" if ">" in ident else "patchlint <patchlint@localhost>"
    return (
        f"From: {author}\nDate: {formatdate(localtime=True)}\n"
        f"Subject: [PATCH] {what}\n\nThe {what}.\n---\n{diff}"
    )


def run_pre_commit(fail_on: str, files: list[str] | None = None, require_tree: bool = False) -> int:
    """The staged diff, checked against HEAD. Under the pre-commit framework:
    `--from-ref/--to-ref` (PRE_COMMIT_FROM_REF/TO_REF) checks those commits;
    `--all-files` or `--files` (files that are not staged) checks the named files as
    they are, each as a new file."""
    top = _toplevel()
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or os.environ.get("PRE_COMMIT_SOURCE")
    to_ref = os.environ.get("PRE_COMMIT_TO_REF") or os.environ.get("PRE_COMMIT_ORIGIN")
    ignored = _mail_rule_ids()
    extra = ["--ignore", ",".join(ignored)] if ignored else []
    if from_ref and to_ref:
        tree = tree_args("pre-commit", top, require_tree)
        if tree is None:
            return 2
        return _check(["--git", f"{from_ref}..{to_ref}", "--fail-on", fail_on, *extra], top)
    named = [f for f in files or [] if f]
    staged = _staged_files(top)
    unstaged = [f for f in named if f not in staged]
    if unstaged:
        diff = _git("diff", "--no-color", "--no-ext-diff", EMPTY_TREE, "--", *named, cwd=top).stdout
        what = f"{len(named)} named files, as they are"
        base: list[str] = []
    else:
        paths = ["--", *named] if named else []
        diff = _git(
            "diff", "--cached", "--no-color", "--no-ext-diff", "--full-index", *paths, cwd=top
        ).stdout
        what = "changes staged for commit"
        base = ["--base", "HEAD"] if _commit_exists("HEAD", top) else []
    if not diff.strip():
        return 0
    tree = tree_args("pre-commit", top, require_tree)
    if tree is None:
        return 2
    args = ["--fail-on", fail_on, *tree, *(base if tree[0] == "--tree" else []), *extra]
    with tempfile.TemporaryDirectory(prefix="patchlint-pre-commit-") as folder:
        path = Path(folder) / "staged.patch"
        path.write_text(_commit_mail(diff, top, what), encoding="utf-8")
        return _check([*args, "--", str(path)], top)


def push_ranges(lines: list[str], top: Path) -> list[str]:
    """`A..B` ranges for the pre-push input lines `<lref> <lsha> <rref> <rsha>`."""
    ranges: list[str] = []
    for line in lines:
        parts = line.split()
        if len(parts) != 4:
            continue
        local_sha, remote_sha = parts[1], parts[3]
        if set(local_sha) == {"0"}:
            continue  # deleting a remote ref pushes nothing
        if set(remote_sha) != {"0"} and _commit_exists(remote_sha, top):
            ranges.append(f"{remote_sha}..{local_sha}")
            continue
        new = _git(
            "rev-list", "--reverse", "--topo-order", local_sha, "--not", "--remotes", cwd=top
        ).stdout.split()
        if not new:
            continue
        oldest = new[0]
        if _commit_exists(f"{oldest}^", top):
            ranges.append(f"{oldest}^..{local_sha}")
        else:
            # A root commit has no parent to diff against; check what follows it.
            sys.stderr.write(f"patchlint: {oldest[:12]} is a root commit; not checked\n")
            if len(new) > 1:
                ranges.append(f"{oldest}..{local_sha}")
    return ranges


def run_pre_push(fail_on: str, stdin_text: str, require_tree: bool = False) -> int:
    top = _toplevel()
    status = 0
    ignored = _mail_rule_ids()
    extra = ["--ignore", ",".join(ignored)] if ignored else []
    ranges = push_ranges(stdin_text.splitlines(), top)
    if ranges and tree_args("pre-push", top, require_tree) is None:
        return 2
    for git_range in ranges:
        status = max(status, _check(["--git", git_range, "--fail-on", fail_on, *extra], top))
    return status


def run_legacy(hook_type: str, args: list[str], stdin_text: str) -> int:
    """The hook that `install --force` kept as <name>.legacy runs first, as the
    pre-commit framework chains them; its failure stops the hook."""
    try:
        legacy = legacy_path(hooks_dir() / hook_type)
    except HookError:
        return 0
    if not legacy.is_file() or not os.access(legacy, os.X_OK):
        return 0
    return subprocess.run([str(legacy), *args], input=stdin_text, text=True).returncode


def bypass_hint(hook_type: str) -> str:
    """How to skip the hook once: SKIP=<id> under the pre-commit framework."""
    if os.environ.get("PRE_COMMIT") == "1":
        hook_id = "patchlint-staged" if hook_type == "pre-commit" else f"patchlint-{hook_type}"
        return f"SKIP={hook_id} git commit ... (or: SKIP={hook_id} pre-commit run ...)"
    return {
        "sendemail-validate": "git send-email --no-validate",
        "pre-commit": "git commit --no-verify",
        "pre-push": "git push --no-verify",
    }[hook_type]


def run_hook(hook_type: str, args: list[str], fail_on: str, require_tree: bool = False) -> int:
    stdin_text = sys.stdin.read() if hook_type == "pre-push" else ""
    status = run_legacy(hook_type, args, stdin_text) if os.environ.get("PRE_COMMIT") != "1" else 0
    if status != 0:
        sys.stderr.write(f"patchlint {hook_type}: the chained {hook_type}.legacy hook failed\n")
        return status
    if hook_type == "sendemail-validate":
        if not args:
            raise HookError("sendemail-validate: git passes the mail's file as the argument")
        status = run_sendemail_validate(Path(args[0]), fail_on, require_tree)
    elif hook_type == "pre-commit":
        status = run_pre_commit(fail_on, args, require_tree)
    elif hook_type == "pre-push":
        status = run_pre_push(fail_on, stdin_text, require_tree)
    else:
        raise HookError(f"unknown hook type {hook_type!r}")
    if status != 0:
        what = "findings at or above --fail-on" if status == 1 else "errors"
        sys.stderr.write(
            f"patchlint {hook_type}: blocked by {what} (bypass with `{bypass_hint(hook_type)}`)\n"
        )
    return status
