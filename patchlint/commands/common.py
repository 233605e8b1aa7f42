"""Options and helpers shared by the commands that read patches and print results."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from patchlint.report import FORMATS, render

F = Callable[..., Any]


def format_option(function: F) -> F:
    return click.option(
        "--format",
        "output_format",
        default="text",
        show_default=True,
        type=click.Choice(sorted(FORMATS)),
        help="Output format.",
    )(function)


def output_options(function: F) -> F:
    options = [
        click.option(
            "--fail-on",
            default=None,
            type=click.Choice(["error", "warning", "info", "never"]),
            help="Exit 1 when a finding at or above this severity is introduced "
            "(default: the configuration's fail-on, else error).",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Configuration file (default: .patchlint.toml or pyproject.toml "
            "[tool.patchlint] at the tree's root).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print findings only."),
        click.option("--types", metavar="RULE,...", help="Only these rules."),
        click.option("--ignore", metavar="RULE,...", help="Skip these rules."),
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the output to this file instead of stdout.",
        ),
        click.option("--terse", is_flag=True, help="checkpatch format: one line per finding."),
        click.option("--emacs", is_flag=True, help="checkpatch format: emacs compile style."),
        click.option("--show-types", is_flag=True, help="checkpatch format: show rule ids."),
        click.option(
            "--no-summary",
            is_flag=True,
            help="checkpatch format: no 'total:' line (b4 passes it, as to checkpatch.pl).",
        ),
        click.option(
            "--mailback",
            is_flag=True,
            help="checkpatch format: print nothing for a clean patch (accepted for b4).",
        ),
        click.option(
            "--showfile",
            is_flag=True,
            help="checkpatch format: name the patched file (accepted for b4; always so).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def rule_selection(types: str | None, ignore: str | None) -> tuple[list[str] | None, list[str]]:
    from patchlint.rules import all_rules

    known = {meta.id for meta in all_rules()}

    def split(value: str | None) -> list[str]:
        items = [item.strip() for item in (value or "").split(",") if item.strip()]
        unknown = [item for item in items if item not in known]
        if unknown:
            raise click.UsageError(f"unknown rule id(s): {', '.join(unknown)}")
        return items

    enabled = split(types)
    return (enabled or None), split(ignore)


@dataclass
class RunSettings:
    enable: list[str] | None
    ignore: list[str]
    severity: dict[str, str]
    fail_on: str


def configure(
    tree: Path | None,
    config_path: Path | None,
    types: str | None,
    ignore: str | None,
    fail_on: str | None,
) -> RunSettings:
    """Command line over configuration file over defaults; installs knowledge extensions."""
    from patchlint.config import ConfigError, apply_config, load_config, merge_selection

    try:
        config = load_config(tree, config_path)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    apply_config(config)
    enable, ignored = merge_selection(config, *rule_selection(types, ignore))
    return RunSettings(enable, ignored, dict(config.severity), fail_on or config.fail_on or "error")


def resolve_tree(tree_dir: Path | None, no_tree: bool, sources: list[object]) -> Path | None:
    if no_tree:
        return None
    if tree_dir is not None:
        if not tree_dir.is_dir():
            raise click.UsageError(f"--tree {tree_dir}: not a directory")
        return tree_dir
    from patchlint.source import find_kernel_tree

    return find_kernel_tree(Path.cwd())


def load_messages(sources: list[object], labels: list[str]) -> tuple[Iterator[Any], list[str]]:
    """Messages of every input, in order; inputs that cannot be read become errors."""
    from patchlint.mail import InputError, iter_messages
    from patchlint.mail.inputs import check_input

    errors: list[str] = []

    def generate() -> Iterator[Any]:
        index = 0
        for source, label in zip(sources, labels, strict=True):
            try:
                if isinstance(source, str):
                    check_input(source)
                    stream = iter_messages(source, start_index=index)
                else:
                    stream = iter_messages(source, name=label, start_index=index)
                for message in stream:
                    index = message.index + 1
                    yield message
            except InputError as error:
                errors.append(f"{error.path}: {error.reason}")
                click.echo(f"patchlint: {error.path}: {error.reason}", err=True)

    return generate(), errors


def progress_printer(unit: str) -> Callable[[int], None] | None:
    """A progress counter on a terminal's stderr; nothing when piped or in CI."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None

    def show(count: int) -> None:
        sys.stderr.write(f"\r{count} {unit} checked")
        sys.stderr.flush()

    return show


def write_output(
    result: Any,
    output_format: str,
    output: Path | None,
    *,
    quiet: bool,
    fail_on: str,
    flags: dict[str, bool],
) -> None:
    if sys.stderr.isatty() and not os.environ.get("CI"):
        sys.stderr.write("\r\033[K")
    text = render(
        result,
        output_format,
        quiet=quiet,
        fail_on=fail_on,
        color=output is None and sys.stdout.isatty(),
        **flags,
    )
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
