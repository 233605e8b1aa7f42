"""`patchlint report`: a reviewer report (HTML or Markdown) of a thread or a series."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patchlint.commands.common import (
    InputSource,
    configure,
    exit_status,
    load_messages,
    render_options,
    resolve_tree,
    rule_options,
    tree_options,
    write_output,
)
from patchlint.commands.progress import progress
from patchlint.report import format_for_path


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=str)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="report.html or report.md: the suffix chooses the format.",
)
@tree_options
@rule_options("never")
@click.option(
    "--all", "show_all", is_flag=True, help="Also show findings the patch leaves unchanged."
)
@click.option("--no-simulate", is_flag=True, help="Do not run the semantic simulation.")
@click.option(
    "--no-behaviour",
    is_flag=True,
    help="Do not compare the changed functions before and after (differential execution).",
)
def command(
    paths: tuple[str, ...],
    output: Path,
    tree_dir: Path | None,
    base: str | None,
    no_tree: bool,
    types: str | None,
    ignore: str | None,
    config_path: Path | None,
    fail_on: str | None,
    show_all: bool,
    no_simulate: bool,
    no_behaviour: bool,
) -> None:
    """Write a reviewer report of PATH... (mbox, patches, directory, '-' for stdin)."""
    fmt = format_for_path(output)
    if fmt is None:
        raise click.UsageError(f"-o {output}: the name must end in .html or .md")
    from patchlint.pipeline import CheckOptions, run_check

    sources: list[InputSource] = list(paths)
    labels = list(paths)
    tree = resolve_tree(tree_dir, no_tree)
    settings = configure(tree, config_path, types, ignore, fail_on, default_fail_on="never")
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
    )
    with progress("checking", "patches") as report:
        result = run_check(messages, options, labels, progress=report)
    result.errors.extend(errors)
    write_output(result, fmt.name, output, render_options(output, settings.fail_on))
    introduced = [
        f for f in result.all_findings() if f.status in ("introduced", "found") and not f.suppressed
    ]
    click.echo(
        f"patchlint: wrote {output} ({len(result.patches)} patches, {len(introduced)} findings)",
        err=True,
    )
    if errors and not result.messages:
        sys.exit(2)
    sys.exit(exit_status(result.all_findings(), settings.fail_on, bool(errors)))
