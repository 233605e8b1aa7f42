"""`patchlint report`: a reviewer report (HTML or Markdown) of a thread or a series."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from patchlint.commands.common import configure, load_messages, progress_printer, resolve_tree

_FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


@click.command("report")
@click.argument("paths", nargs=-1, required=True, type=str)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="report.html or report.md: the suffix chooses the format.",
)
@click.option(
    "--tree",
    "tree_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Kernel tree (extracted release or git checkout) the patches apply to.",
)
@click.option("--base", help="In a git checkout: read pre-images at this revision.")
@click.option("--no-tree", is_flag=True, help="Patch-only mode: do not look for a kernel tree.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file (default: the tree's .patchlint.toml or pyproject.toml).",
)
@click.option("--types", metavar="RULE,...", help="Only these rules.")
@click.option("--ignore", metavar="RULE,...", help="Skip these rules.")
@click.option(
    "--all", "show_all", is_flag=True, help="Also show findings the patch leaves unchanged."
)
@click.option("--no-simulate", is_flag=True, help="Do not run the semantic simulation.")
def command(
    paths: tuple[str, ...],
    output: Path,
    tree_dir: Path | None,
    base: str | None,
    no_tree: bool,
    config_path: Path | None,
    types: str | None,
    ignore: str | None,
    show_all: bool,
    no_simulate: bool,
) -> None:
    """Write a reviewer report of PATH... (mbox, patches, directory, '-' for stdin)."""
    output_format = _FORMATS.get(output.suffix.lower())
    if output_format is None:
        raise click.UsageError(f"-o {output}: the name must end in .html or .md")
    from patchlint.pipeline import CheckOptions, run_check

    sources: list[object] = list(paths)
    labels = list(paths)
    tree = resolve_tree(tree_dir, no_tree, sources)
    settings = configure(tree, config_path, types, ignore, None)
    messages, errors = load_messages(sources, labels)
    options = CheckOptions(
        tree=tree,
        base=base,
        enable=settings.enable,
        ignore=settings.ignore,
        show_all=show_all,
        simulate=not no_simulate,
        severity_overrides=settings.severity,
    )
    result = run_check(messages, options, labels, progress=progress_printer("patches"))
    result.errors.extend(errors)
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if output_format == "html":
        from patchlint.report.html import render_html as render
    else:
        from patchlint.report.markdown import render_markdown as render
    output.write_text(render(result), encoding="utf-8")
    introduced = [
        f for f in result.all_findings() if f.status in ("introduced", "found") and not f.suppressed
    ]
    click.echo(
        f"patchlint: wrote {output} ({len(result.patches)} patches, {len(introduced)} findings)",
        err=True,
    )
    if errors and not result.messages:
        sys.exit(2)
