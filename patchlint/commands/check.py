"""`patchlint check`: patches from mbox files, patch files, directories, stdin or a git range."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import click

from patchlint.commands.common import (
    InputSource,
    configure,
    exit_status,
    jobs_option,
    load_messages,
    output_options,
    render_options,
    resolve_tree,
    rule_options,
    tree_options,
    write_output,
)
from patchlint.commands.progress import progress
from patchlint.pipeline import CheckOptions, run_check


@click.command("check")
@click.argument("paths", nargs=-1, type=str)
@tree_options
@click.option(
    "--require-tree",
    is_flag=True,
    help="Exit 2 when no kernel tree is given or found (instead of patch-only mode).",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="On stderr: how the series were grouped, and why; the touched functions "
    "that were not analysed, and why.",
)
@click.option(
    "--git",
    "git_range",
    metavar="A..B",
    help="Check each commit of a range of the current git repository.",
)
@output_options("check")
@rule_options("error")
@click.option(
    "--all", "show_all", is_flag=True, help="Also show findings the patch leaves unchanged."
)
@click.option("--no-simulate", is_flag=True, help="Do not run the semantic simulation.")
@click.option(
    "--no-behaviour",
    is_flag=True,
    help="Do not compare the changed functions before and after (differential execution).",
)
@jobs_option
@click.option(
    "--patch-timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds one patch may take before it is reported as skipped (0: none).",
)
def command(
    paths: tuple[str, ...],
    tree_dir: Path | None,
    base: str | None,
    no_tree: bool,
    require_tree: bool,
    verbose: bool,
    git_range: str | None,
    output_format: str,
    output: Path | None,
    quiet: bool,
    terse: bool,
    emacs: bool,
    show_types: bool,
    no_summary: bool,
    mailback: bool,
    showfile: bool,
    types: str | None,
    ignore: str | None,
    config_path: Path | None,
    fail_on: str | None,
    show_all: bool,
    no_simulate: bool,
    no_behaviour: bool,
    jobs: int | None,
    patch_timeout: float,
) -> None:
    """Check PATH... (mbox, .patch/.eml/.diff, format-patch directory, '-' for stdin)."""
    if not paths and not git_range:
        raise click.UsageError("give at least one PATH, '-' for stdin, or --git A..B")
    if git_range and paths:
        raise click.UsageError("--git and PATH arguments are exclusive")
    sources: list[InputSource]
    if git_range:
        stream, default_tree, default_base = _git_range_input(git_range)
        sources, labels = [stream], [f"git:{git_range}"]
        tree_dir = tree_dir or default_tree
        base = base or default_base
    else:
        sources, labels = list(paths), list(paths)
    tree = resolve_tree(tree_dir, no_tree)
    if tree is None and require_tree:
        click.echo(
            "patchlint: --require-tree: no kernel tree found (looked at and above "
            f"{Path.cwd()} for a Makefile with VERSION/PATCHLEVEL, Kconfig and the usual "
            "folders); give --tree DIR",
            err=True,
        )
        sys.exit(2)
    settings = configure(tree, config_path, types, ignore, fail_on)
    messages, errors = load_messages(sources, labels)
    options = CheckOptions(
        tree=tree,
        base=base,
        enable=settings.enable,
        ignore=settings.ignore,
        show_all=show_all,
        simulate=not no_simulate,
        behaviour=not no_behaviour,
        severity_overrides=settings.severity,
        keep_images=False,
        patch_seconds=patch_timeout or None,
        jobs=max(1, jobs if jobs is not None else (os.cpu_count() or 1)),
    )
    from patchlint.source import TreeError

    try:
        with progress("checking", "patches") as report:
            result = run_check(messages, options, labels, progress=report)
    except TreeError as error:
        click.echo(f"patchlint: {error}", err=True)
        sys.exit(2)
    result.errors.extend(errors)
    if verbose:
        from patchlint.mail.explain import describe_series

        for line in describe_series(result.series):
            click.echo(line, err=True)
        for patch in result.patches:
            for item in patch.not_analysed:
                click.echo(f"{patch.message.subject}: {item}", err=True)
    rendering = render_options(
        output, settings.fail_on, quiet, terse, emacs, show_types, no_summary, mailback
    )
    write_output(result, output_format, output, rendering)
    if errors and not result.messages:
        sys.exit(2)
    sys.exit(exit_status(result.all_findings(), settings.fail_on, bool(errors)))


def _git_range_input(git_range: str) -> tuple[io.BytesIO, Path, str]:
    if ".." not in git_range:
        raise click.UsageError(f"--git wants a range A..B, got {git_range!r}")
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], check=True, capture_output=True, text=True
        ).stdout.strip()
        patches = subprocess.run(
            ["git", "format-patch", "--stdout", "--no-signature", git_range],
            check=True,
            capture_output=True,
            cwd=top,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        stderr = getattr(error, "stderr", b"") or b""
        detail = stderr.decode(errors="replace").strip() if isinstance(stderr, bytes) else stderr
        raise click.UsageError(f"--git {git_range}: {detail or error}") from error
    base = git_range.split("..", 1)[0] or "HEAD"
    return io.BytesIO(patches), Path(top), base
