"""`patchlint scan DIR`: audit a whole tree with all rules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from patchlint.commands.common import (
    configure,
    exit_status,
    jobs_option,
    output_options,
    render_options,
    rule_options,
    write_output,
)
from patchlint.commands.progress import progress


@click.command("scan")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@jobs_option
@output_options("scan")
@rule_options("never")
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Reuse per-file results of earlier scans of unchanged files (kept in "
    "the user's cache folder, never in the tree; PATCHLINT_NO_CACHE=1 also turns it off).",
)
def command(
    directory: Path,
    jobs: int | None,
    output_format: str,
    output: Path | None,
    quiet: bool,
    types: str | None,
    ignore: str | None,
    config_path: Path | None,
    fail_on: str | None,
    cache: bool,
) -> None:
    """Scan every C file of DIRECTORY (read-only) with the selected rules."""
    from patchlint.rules import select_rules
    from patchlint.scan import scan_tree

    settings = configure(directory, config_path, types, ignore, fail_on, default_fail_on="never")
    rule_ids = [rule.id for rule in select_rules(settings.enable, settings.ignore, "function")]
    with progress("scanning", "files") as report:
        result = scan_tree(
            directory,
            rule_ids=rule_ids,
            jobs=jobs or os.cpu_count() or 1,
            progress=report,
            use_cache=cache,
            severity=settings.severity,
        )
    write_output(result, output_format, output, render_options(output, settings.fail_on, quiet))
    sys.exit(exit_status(result.findings, settings.fail_on))
