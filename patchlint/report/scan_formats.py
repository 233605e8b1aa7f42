"""Output of `patchlint scan` in the formats of the registry (text, json, sarif)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from patchlint.report.options import RenderOptions
from patchlint.report.sarif import render_sarif_findings
from patchlint.report.text import finding_lines
from patchlint.result import ScanResult


def render_scan_text(result: ScanResult, options: RenderOptions) -> str:
    lines = [
        line
        for finding in result.findings
        if not (options.quiet and finding.suppressed)
        for line in finding_lines(finding, options.color)
    ]
    if not options.quiet:
        lines.extend(f"{path}: not analysed: {problem}" for path, problem in result.errors)
        lines.append(
            f"scan: {len(result.findings)} findings in {result.files_candidate} candidate files "
            f"of {result.files_scanned} ({result.seconds:.1f}s)"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def render_scan_json(result: ScanResult, options: RenderOptions) -> str:
    data = {
        "tree": result.tree,
        "files_scanned": result.files_scanned,
        "files_candidate": result.files_candidate,
        "seconds": round(result.seconds, 3),
        "errors": [list(error) for error in result.errors],
        "findings": [asdict(f) for f in result.findings],
    }
    return json.dumps(data, indent=2) + "\n"


def render_scan_sarif(result: ScanResult, options: RenderOptions) -> str:
    return render_sarif_findings(result.findings, root=Path(result.tree))
