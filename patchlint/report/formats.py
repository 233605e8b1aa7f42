"""The one registry of output formats, used by every command that prints results.

A format renders a ``CheckResult`` (check, report), a ``ScanResult`` (scan), or both.
Each entry names its functions as ``module:function``; they are imported when used,
and a missing module or function raises :class:`FormatError` (the test suite imports
every one), so a broken format is never silently absent.

Adding a format: write ``render_x(result: CheckResult, options: RenderOptions) -> str``
in a module of this package and add one ``OutputFormat`` line to ``FORMATS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, overload

from patchlint.report.options import RenderOptions
from patchlint.result import CheckResult, ScanResult

ResultKind = Literal["check", "scan"]
CheckRenderer = Callable[[CheckResult, RenderOptions], str]
ScanRenderer = Callable[[ScanResult, RenderOptions], str]


class FormatError(Exception):
    """An unknown format, or a registered one whose code cannot be loaded."""


@dataclass(frozen=True)
class OutputFormat:
    name: str
    description: str
    check: str | None = None  # "module:function" rendering a CheckResult
    scan: str | None = None  # "module:function" rendering a ScanResult
    suffixes: tuple[str, ...] = ()  # output file names that choose it (`report -o`)

    def entry(self, kind: ResultKind) -> str | None:
        return self.check if kind == "check" else self.scan


_R = "patchlint.report"
FORMATS: dict[str, OutputFormat] = {
    fmt.name: fmt
    for fmt in (
        OutputFormat(
            "text",
            "findings grouped by patch, GNU file:line:col: severity: message [rule]",
            check=f"{_R}.text:render_text",
            scan=f"{_R}.scan_formats:render_scan_text",
        ),
        OutputFormat(
            "json",
            "versioned JSON (patchlint/report/check-output.schema.json)",
            check=f"{_R}.json_report:render_json",
            scan=f"{_R}.scan_formats:render_scan_json",
        ),
        OutputFormat(
            "sarif",
            "SARIF 2.1.0 for code scanning",
            check=f"{_R}.sarif:render_sarif",
            scan=f"{_R}.scan_formats:render_scan_sarif",
        ),
        OutputFormat(
            "checkpatch",
            "checkpatch.pl's output shape (with --terse, --emacs, --show-types)",
            check=f"{_R}.checkpatch:render_checkpatch",
        ),
        OutputFormat(
            "html",
            "self-contained reviewer report",
            check=f"{_R}.html:render_html",
            suffixes=(".html", ".htm"),
        ),
        OutputFormat(
            "markdown",
            "reviewer report in Markdown",
            check=f"{_R}.markdown:render_markdown",
            suffixes=(".md", ".markdown"),
        ),
    )
}

# Formats meant for a terminal or a pipe, as opposed to reviewer reports.
STREAM_FORMATS = ("text", "json", "sarif", "checkpatch")


def format_names(kind: ResultKind, stream_only: bool = True) -> list[str]:
    return [
        name
        for name, fmt in FORMATS.items()
        if fmt.entry(kind) and (not stream_only or name in STREAM_FORMATS)
    ]


def format_for_path(path: Path) -> OutputFormat | None:
    suffix = path.suffix.lower()
    return next((fmt for fmt in FORMATS.values() if suffix in fmt.suffixes), None)


@overload
def renderer(name: str, kind: Literal["check"]) -> CheckRenderer: ...


@overload
def renderer(name: str, kind: Literal["scan"]) -> ScanRenderer: ...


def renderer(name: str, kind: ResultKind) -> CheckRenderer | ScanRenderer:
    fmt = FORMATS.get(name)
    entry = fmt.entry(kind) if fmt is not None else None
    if entry is None:
        raise FormatError(f"no {kind} output in format {name!r}")
    module_name, _, function_name = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise FormatError(f"format {name}: {module_name} cannot be imported: {error}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise FormatError(f"format {name}: {module_name} has no function {function_name}")
    # Checked callable; its signature is the registry's contract (tested per format).
    return cast(CheckRenderer | ScanRenderer, function)


def render(
    result: CheckResult | ScanResult, name: str, options: RenderOptions | None = None
) -> str:
    options = options or RenderOptions()
    if isinstance(result, CheckResult):
        return renderer(name, "check")(result, options)
    return renderer(name, "scan")(result, options)
