"""`patchlint parse-stats`: raw tree-sitter-c against the kernel-aware front end, in one run."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _c_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in (".c", ".h") and p.is_file() and not p.is_symlink()
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise click.UsageError(f"{path}: no such file or directory")
    return files


@click.command("parse-stats")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def command(paths: tuple[Path, ...], output_format: str) -> None:
    """Parse quality and speed of raw tree-sitter-c vs the normalised front end on PATH..."""
    from patchlint.source.stats import format_stats_text, parse_stats

    stats = parse_stats(_c_files(paths))
    if output_format == "json":
        click.echo(json.dumps(stats, indent=2))
    else:
        click.echo(format_stats_text(stats), nl=False)
