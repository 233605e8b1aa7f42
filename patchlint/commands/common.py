"""What `check`, `report`, `scan` and `simulate` share: options, settings, output, exit.

Every command that prints results takes its options from here (one spelling, one
help text), resolves them with :func:`configure` (command line over configuration
file over defaults), renders through the format registry, and exits through
:func:`exit_status`: 0 clean, 1 findings at or above --fail-on, 2 usage error or an
input that could not be read at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, ParamSpec, TypeVar

import click

from patchlint.findings import Finding, Severity
from patchlint.mail import Message
from patchlint.report import RenderOptions, format_names, render
from patchlint.result import FAIL_ON, CheckResult, FailOn, ScanResult, failing

P = ParamSpec("P")
R = TypeVar("R")
InputSource = str | BinaryIO  # a path, or a stream (stdin, git format-patch output)


def _apply(
    options: Sequence[Callable[[Callable[P, R]], Callable[P, R]]], function: Callable[P, R]
) -> Callable[P, R]:
    for option in reversed(options):
        function = option(function)
    return function


def tree_options(function: Callable[P, R]) -> Callable[P, R]:
    """--tree, --base, --no-tree."""
    return _apply(
        [
            click.option(
                "--tree",
                "tree_dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Kernel tree (extracted release or git checkout) the patches apply to "
                "(default: the kernel tree around the current directory).",
            ),
            click.option("--base", help="In a git checkout: read pre-images at this revision."),
            click.option(
                "--no-tree", is_flag=True, help="Patch-only mode: do not look for a kernel tree."
            ),
        ],
        function,
    )


def rule_options(default_fail_on: FailOn) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """--types, --ignore, --config, --fail-on (whose default the command names)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        return _apply(
            [
                click.option("--types", metavar="RULE,...", help="Only these rules."),
                click.option("--ignore", metavar="RULE,...", help="Skip these rules."),
                click.option(
                    "--config",
                    "config_path",
                    type=click.Path(exists=True, dir_okay=False, path_type=Path),
                    help="Configuration file (default: .patchlint.toml or pyproject.toml "
                    "[tool.patchlint] at the tree's root).",
                ),
                click.option(
                    "--fail-on",
                    default=None,
                    type=click.Choice(FAIL_ON),
                    help="Exit 1 when a finding at or above this severity is introduced "
                    f"(default: the configuration's fail-on, else {default_fail_on}).",
                ),
            ],
            function,
        )

    return decorate


def output_options(kind: Literal["check", "scan"]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """--format (the registry's formats for this kind of result), -o, -q, and
    checkpatch.pl's --terse, --emacs, --show-types."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        options = [
            click.option(
                "--format",
                "output_format",
                default="text",
                show_default=True,
                type=click.Choice(format_names(kind)),
                help="Output format.",
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the output to this file instead of stdout.",
            ),
            click.option("--quiet", "-q", is_flag=True, help="Print findings only."),
        ]
        if kind == "check":
            options += [
                click.option("--terse", is_flag=True, help="checkpatch: one line per finding."),
                click.option("--emacs", is_flag=True, help="checkpatch: emacs compile style."),
                click.option("--show-types", is_flag=True, help="checkpatch: show rule ids."),
                click.option(
                    "--no-summary",
                    is_flag=True,
                    help="checkpatch: no 'total:' line (b4 passes it, as to checkpatch.pl).",
                ),
                click.option(
                    "--mailback",
                    is_flag=True,
                    help="checkpatch: print nothing for a clean patch (accepted for b4).",
                ),
                click.option(
                    "--showfile",
                    is_flag=True,
                    help="checkpatch: name the patched file (accepted for b4; always so).",
                ),
            ]
        return _apply(options, function)

    return decorate


def jobs_option(function: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "--jobs", "-j", type=int, default=None, help="Worker processes (default: the cores)."
    )(function)


def rule_selection(types: str | None, ignore: str | None) -> tuple[list[str] | None, list[str]]:
    from patchlint.rules import catalog

    def split(value: str | None) -> list[str]:
        items = [item.strip() for item in (value or "").split(",") if item.strip()]
        unknown = catalog().unknown(items)
        if unknown:
            raise click.UsageError(f"unknown rule id(s): {', '.join(unknown)}")
        return items

    enabled = split(types)
    return (enabled or None), split(ignore)


@dataclass
class RunSettings:
    """Rule selection, severities and fail-on of one run, after configuration."""

    enable: list[str] | None
    ignore: list[str]
    severity: dict[str, Severity]
    fail_on: FailOn


def configure(
    tree: Path | None,
    config_path: Path | None,
    types: str | None,
    ignore: str | None,
    fail_on: str | None,
    default_fail_on: FailOn = "error",
) -> RunSettings:
    """Command line over configuration file over defaults; installs knowledge extensions."""
    from patchlint.config import ConfigError, apply_config, load_config, merge_selection
    from patchlint.validate import DataError

    try:
        config = load_config(tree, config_path)
    except (ConfigError, DataError) as error:
        raise click.UsageError(str(error)) from error
    apply_config(config)
    enable, ignored = merge_selection(config, *rule_selection(types, ignore))
    chosen = next((level for level in FAIL_ON if level == fail_on), None)
    return RunSettings(
        enable, ignored, dict(config.severity), chosen or config.fail_on or default_fail_on
    )


def resolve_tree(tree_dir: Path | None, no_tree: bool) -> Path | None:
    if no_tree:
        return None
    if tree_dir is not None:
        if not tree_dir.is_dir():
            raise click.UsageError(f"--tree {tree_dir}: not a directory")
        return tree_dir
    from patchlint.source import find_kernel_tree

    return find_kernel_tree(Path.cwd())


def load_messages(
    sources: list[InputSource], labels: list[str]
) -> tuple[Iterator[Message], list[str]]:
    """Messages of every input, in order; inputs that cannot be read become errors
    (listed in the second value once the iterator is exhausted)."""
    from patchlint.mail import InputError, iter_messages
    from patchlint.mail.inputs import check_input

    errors: list[str] = []

    def generate() -> Iterator[Message]:
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


def write_output(
    result: CheckResult | ScanResult,
    output_format: str,
    output: Path | None,
    options: RenderOptions,
) -> None:
    text = render(result, output_format, options)
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise click.FileError(str(output), hint=error.strerror or str(error)) from error
    else:
        click.echo(text, nl=False)


def render_options(
    output: Path | None,
    fail_on: FailOn,
    quiet: bool = False,
    terse: bool = False,
    emacs: bool = False,
    show_types: bool = False,
    no_summary: bool = False,
    mailback: bool = False,
) -> RenderOptions:
    return RenderOptions(
        quiet=quiet,
        fail_on=fail_on,
        color=output is None and sys.stdout.isatty(),
        terse=terse,
        emacs=emacs,
        show_types=show_types,
        no_summary=no_summary,
        mailback=mailback,
    )


def exit_status(findings: list[Finding], fail_on: FailOn, input_errors: bool = False) -> int:
    """1 when a finding fails the run at ``fail_on``, else 2 when an input could not be
    read, else 0."""
    if failing(findings, fail_on):
        return 1
    return 2 if input_errors else 0
