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
    if (target.exists() or target.is_symlink()) and not is_ours(target) and not force:
        raise HookError(
            f"{target} exists and was not written by patchlint; use --force to replace it"
        )
    directory.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_text(hook_script(hook_type, fail_on), encoding="utf-8")
    target.chmod(0o755)
    return target


def uninstall(hook_type: str, repo: Path | None = None) -> Path | None:
    """Remove patchlint's hook; a hook someone else wrote is left alone (HookError)."""
    target = hooks_dir(repo) / hook_type
    if not target.exists():
        return None
    if not is_ours(target):
        raise HookError(f"{target} was not written by patchlint; not removing it")
    target.unlink()
    return target


def _check(args: list[str], cwd: Path) -> int:
    command = [sys.executable, "-m", "patchlint", "check", *args]
    return subprocess.run(command, cwd=cwd).returncode


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


def run_sendemail_validate(mail: Path, fail_on: str) -> int:
    top = _toplevel()
    args = ["--tree", str(top), "--fail-on", fail_on]
    base = _mail_base(mail, top)
    if base:
        args += ["--base", base]
    return _check([*args, "--", str(mail.resolve())], top)


def run_pre_commit(fail_on: str) -> int:
    top = _toplevel()
    has_head = _commit_exists("HEAD", top)
    diff = _git("diff", "--cached", "--no-color", "--no-ext-diff", "--full-index", cwd=top).stdout
    if not diff.strip():
        return 0
    ident = _git("var", "GIT_AUTHOR_IDENT", cwd=top, check=False).stdout.strip()
    author = ident.rsplit(">", 1)[0] + ">" if ">" in ident else "patchlint <patchlint@localhost>"
    mail = (
        f"From: {author}\nDate: {formatdate(localtime=True)}\n"
        "Subject: [PATCH] staged changes\n\n"
        f"The changes staged for commit.\n---\n{diff}"
    )
    args = ["--fail-on", fail_on]
    args += ["--tree", str(top), "--base", "HEAD"] if has_head else ["--no-tree"]
    ignored = _mail_rule_ids()
    if ignored:
        args += ["--ignore", ",".join(ignored)]
    with tempfile.TemporaryDirectory(prefix="patchlint-pre-commit-") as folder:
        path = Path(folder) / "staged.patch"
        path.write_text(mail, encoding="utf-8")
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


def run_pre_push(fail_on: str, stdin_text: str) -> int:
    top = _toplevel()
    status = 0
    ignored = _mail_rule_ids()
    extra = ["--ignore", ",".join(ignored)] if ignored else []
    for git_range in push_ranges(stdin_text.splitlines(), top):
        status = max(status, _check(["--git", git_range, "--fail-on", fail_on, *extra], top))
    return status


def run_hook(hook_type: str, args: list[str], fail_on: str) -> int:
    if hook_type == "sendemail-validate":
        if not args:
            raise HookError("sendemail-validate: git passes the mail's file as the argument")
        status = run_sendemail_validate(Path(args[0]), fail_on)
    elif hook_type == "pre-commit":
        status = run_pre_commit(fail_on)
    elif hook_type == "pre-push":
        status = run_pre_push(fail_on, sys.stdin.read())
    else:
        raise HookError(f"unknown hook type {hook_type!r}")
    if status != 0:
        bypass = {
            "sendemail-validate": "git send-email --no-validate",
            "pre-commit": "git commit --no-verify",
            "pre-push": "git push --no-verify",
        }[hook_type]
        what = "findings at or above --fail-on" if status == 1 else "errors"
        sys.stderr.write(f"patchlint {hook_type}: blocked by {what} (bypass with `{bypass}`)\n")
    return status
