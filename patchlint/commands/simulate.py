"""`patchlint simulate PATCH --tree DIR`: run the selected scenarios before and after."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from patchlint.commands.common import load_messages, tree_options
from patchlint.source import AppliedFile, AppliedPatch


@click.command("simulate")
@click.argument("patch", type=str)
@tree_options
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
    tree_dir: Path | None,
    base: str | None,
    no_tree: bool,
    scenarios: tuple[str, ...],
    trace: bool,
    output_format: str,
) -> None:
    """Simulate PATCH (mbox, .patch, directory or '-') on modelled worlds, before and after.

    A series is applied in order and simulated as a whole: before the first patch
    against after the last."""
    from patchlint.commands.common import resolve_tree
    from patchlint.mail import collect
    from patchlint.patch import parse_patch
    from patchlint.simulate import format_simulation_text, load_scenarios, simulate_applied
    from patchlint.source import FunctionIndex, TreeError, apply_series, open_tree

    if no_tree:
        raise click.UsageError("simulate runs the tree's own code: it needs a tree")
    tree_root = resolve_tree(tree_dir, no_tree)
    if tree_root is None:
        raise click.UsageError("no kernel tree found here: give --tree DIR")
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
        tree = open_tree(tree_root, base_rev=base)
    except TreeError as error:
        raise click.UsageError(str(error)) from error
    patches = [
        parse_patch(message.diff_text or "", message.source) for message in collection.patches
    ]
    applied = apply_series(patches, tree)
    for result in applied:
        for file in result.files:
            if not file.ok:
                click.echo(
                    f"patchlint: {file.path}: {file.state}"
                    f"{': ' + file.error if file.error else ''}",
                    err=True,
                )
    index = FunctionIndex(tree.root, reader=tree.read)
    results = simulate_applied(index, cumulative(applied), names=scenarios, trace=trace)
    if output_format == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, default=str))
    elif not results:
        click.echo(
            "no scenario exercises the functions this patch touches "
            f"(scenarios: {', '.join(sorted(known))})"
        )
    else:
        click.echo("\n\n".join(format_simulation_text(r, trace=trace) for r in results))


def cumulative(applied: list[AppliedPatch]) -> list[AppliedFile]:
    """One AppliedFile per path for a whole series: the text before its first patch
    touched the file and after its last one (a file two patches change is not
    simulated from the middle of the series)."""
    by_path: dict[str, AppliedFile] = {}
    for patch in applied:
        for file in patch.files:
            if not file.ok:
                continue
            first = by_path.get(file.old_path or file.path)
            if first is None:
                by_path[file.path] = replace(file)
                continue
            state = "added" if first.state == "added" and file.post is not None else file.state
            merged = replace(first, path=file.path, post=file.post, state=state, hunks=[])
            by_path.pop(file.old_path or file.path)
            by_path[file.path] = merged
    return list(by_path.values())
