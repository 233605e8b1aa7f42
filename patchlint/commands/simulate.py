"""`patchlint simulate PATCH --tree DIR`: run the selected scenarios before and after."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("simulate")
@click.argument("patch", type=str)
@click.option(
    "--tree",
    "tree_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Kernel tree the patch applies to.",
)
@click.option("--base", help="In a git checkout: read pre-images at this revision.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Run this scenario (repeatable) instead of the ones the patch selects.",
)
@click.option("--trace", is_flag=True, help="Show the executed path of every run.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def command(
    patch: str,
    tree_dir: Path,
    base: str | None,
    scenarios: tuple[str, ...],
    trace: bool,
    output_format: str,
) -> None:
    """Simulate PATCH (mbox, .patch, directory or '-') on modelled worlds, before and after.

    A series is applied in order and simulated as a whole."""
    from patchlint.commands.common import load_messages
    from patchlint.mail import collect
    from patchlint.patch import parse_patch
    from patchlint.simulate import format_simulation_text, load_scenarios, simulate_applied
    from patchlint.source import FunctionIndex, TreeError, apply_series, open_tree

    known = {scenario.name for scenario in load_scenarios()}
    unknown = [name for name in scenarios if name not in known]
    if unknown:
        raise click.UsageError(
            f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    messages, errors = load_messages([patch], [patch])
    collection = collect(messages)
    if errors or not collection.patches:
        click.echo(f"patchlint: {patch}: {'; '.join(errors) or 'no patch found'}", err=True)
        sys.exit(2)
    try:
        tree = open_tree(tree_dir, base_rev=base)
    except TreeError as error:
        raise click.UsageError(str(error)) from error
    patches = [
        parse_patch(message.diff_text or "", message.source) for message in collection.patches
    ]
    applied = apply_series(patches, tree)
    files = [file for result in applied for file in result.files]
    for result in applied:
        for file in result.files:
            if file.state not in ("applied", "added", "deleted"):
                click.echo(
                    f"patchlint: {file.path}: {file.state}"
                    f"{': ' + file.error if file.error else ''}",
                    err=True,
                )
    index = FunctionIndex(tree.root, reader=tree.read)
    results = simulate_applied(index, files, names=scenarios, trace=trace)
    if output_format == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    elif not results:
        click.echo(
            "no scenario exercises the functions this patch touches "
            f"(scenarios: {', '.join(sorted(known))})"
        )
    else:
        click.echo("\n\n".join(format_simulation_text(r, trace=trace) for r in results))
