"""Report stage: pure functions from a CheckResult (or a ScanResult) to text.

Public entry: the format registry (``FORMATS``, ``render``, ``format_names``,
``format_for_path``), ``RenderOptions`` every renderer takes, and ``FormatError``.
"""

from patchlint.report.formats import (
    FORMATS,
    FormatError,
    OutputFormat,
    format_for_path,
    format_names,
    render,
    renderer,
)
from patchlint.report.options import RenderOptions

__all__ = [
    "FORMATS",
    "FormatError",
    "OutputFormat",
    "RenderOptions",
    "format_for_path",
    "format_names",
    "render",
    "renderer",
]
