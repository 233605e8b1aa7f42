"""Report formats: pure functions from a CheckResult to text.

FORMATS maps a `--format` name to "module:function"; each function takes the result and
keyword options (quiet, fail_on, color, and format-specific flags it may ignore).
"""

from __future__ import annotations

import importlib
from typing import Any

FORMATS: dict[str, str] = {
    "text": "patchlint.report.text:render_text",
    "json": "patchlint.report.json_report:render_json",
    "sarif": "patchlint.report.sarif:render_sarif",
    "checkpatch": "patchlint.report.checkpatch:render_checkpatch",
}


def render(result: Any, output_format: str, **options: Any) -> str:
    module_name, _, function_name = FORMATS[output_format].partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    return function(result, **options)
