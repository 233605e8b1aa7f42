"""`patchlint hook install|uninstall|run`: git hooks that run patchlint before a mail is
sent, a commit is made or a branch is pushed."""

from __future__ import annotations

import sys

import click

from patchlint.hooks import HOOK_TYPES, HookError, install, run_hook, uninstall

_TYPE = click.Choice(HOOK_TYPES)
_FAIL_ON = click.Choice(["error", "warning", "info", "never"])


@click.group("hook")
def command() -> None:
    """Install or remove patchlint's git hooks (sendemail-validate, pre-commit, pre-push)."""


@command.command("install")
@click.option(
    "--type",
    "hook_types",
    type=_TYPE,
    multiple=True,
    help="Hook to install (repeatable; default sendemail-validate).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a hook patchlint did not write: it is kept as <name>.legacy and runs first.",
)
@click.option(
    "--fail-on",
    default="error",
    show_default=True,
    type=_FAIL_ON,
    help="Block on findings at or above this severity.",
)
def install_command(hook_types: tuple[str, ...], force: bool, fail_on: str) -> None:
    """Write the hook into this repository's hooks directory (core.hooksPath aware)."""
    for hook_type in hook_types or ("sendemail-validate",):
        try:
            path = install(hook_type, force=force, fail_on=fail_on)
        except HookError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"installed {hook_type} hook: {path}")


@command.command("uninstall")
@click.option(
    "--type",
    "hook_types",
    type=_TYPE,
    multiple=True,
    help="Hook to remove (repeatable; default: every patchlint hook).",
)
def uninstall_command(hook_types: tuple[str, ...]) -> None:
    """Remove patchlint's hooks; hooks written by anything else are left alone."""
    explicit = bool(hook_types)
    failed = False
    for hook_type in hook_types or HOOK_TYPES:
        try:
            path = uninstall(hook_type)
        except HookError as error:
            if explicit:
                click.echo(f"patchlint: {error}", err=True)
                failed = True
            continue
        if path is not None:
            click.echo(f"removed {hook_type} hook: {path}")
        elif explicit:
            click.echo(f"no {hook_type} hook installed")
    if failed:
        sys.exit(1)


@command.command("run", hidden=True)
@click.argument("hook_type", type=_TYPE)
@click.argument("args", nargs=-1)
@click.option("--fail-on", default="error", type=_FAIL_ON)
@click.option("--require-tree", is_flag=True, help="Exit 2 when the repository is no kernel tree.")
def run_command(hook_type: str, args: tuple[str, ...], fail_on: str, require_tree: bool) -> None:
    """What an installed hook executes: gathers git's input and runs `patchlint check`."""
    try:
        status = run_hook(hook_type, list(args), fail_on, require_tree)
    except HookError as error:
        click.echo(f"patchlint {hook_type}: {error}", err=True)
        sys.exit(2)
    sys.exit(status)
