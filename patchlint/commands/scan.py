"""`patchlint scan DIR`: audit a whole tree with all rules."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click

from patchlint.commands.common import configure
from patchlint.report.text import finding_lines


@click.command("scan")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: cores).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
)
@click.option("--types", metavar="RULE,...", help="Only these rules.")
@click.option("--ignore", metavar="RULE,...", help="Skip these rules.")
@click.option(
    "--fail-on",
    default="never",
    show_default=True,
    type=click.Choice(["error", "warning", "info", "never"]),
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Reuse per-file results of earlier scans of unchanged files (kept in "
    "the user's cache folder, never in the tree).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Configuration file (default: .patchlint.toml at DIRECTORY's root).",
)
def command(
    directory: Path,
    jobs: int | None,
    output_format: str,
    types: str | None,
    ignore: str | None,
    fail_on: str,
    output: Path | None,
    cache: bool,
    config_path: Path | None,
) -> None:
    """Scan every C file of DIRECTORY (read-only) with the selected rules."""
    from patchlint.findings import SEVERITY_ORDER
    from patchlint.rules import select_rules
    from patchlint.scan import scan_tree

    settings = configure(directory, config_path, types, ignore, None)
    rule_ids = [meta.id for meta in select_rules(settings.enable, settings.ignore, "function")]
    show_progress = sys.stderr.isatty() and not os.environ.get("CI")

    def progress(done: int, total: int) -> None:
        if show_progress:
            sys.stderr.write(f"\rscanning: {done}/{total} files")
            sys.stderr.flush()

    result = scan_tree(
        directory,
        rule_ids=rule_ids,
        jobs=jobs or os.cpu_count() or 1,
        progress=progress,
        use_cache=cache,
    )
    for finding in result.findings:
        if finding.rule in settings.severity:
            finding.severity = settings.severity[finding.rule]  # type: ignore[assignment]
    if show_progress:
        sys.stderr.write("\r\033[K")
    findings = sorted(result.findings, key=lambda f: (f.file or "", f.line or 0, f.rule))
    if output_format == "json":
        text = (
            json.dumps(
                {
                    "tree": str(directory),
                    "files_scanned": result.files_scanned,
                    "files_candidate": result.files_candidate,
                    "seconds": round(result.seconds, 3),
                    "errors": list(result.errors),
                    "findings": [asdict(f) for f in findings],
                },
                indent=2,
            )
            + "\n"
        )
    elif output_format == "sarif":
        from patchlint.report.sarif import render_sarif_findings

        text = render_sarif_findings(findings, root=directory)
    else:
        lines = [line for finding in findings for line in finding_lines(finding)]
        lines.append(
            f"scan: {len(findings)} findings in {result.files_candidate} candidate files "
            f"of {result.files_scanned} ({result.seconds:.1f}s)"
        )
        text = "\n".join(lines) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if fail_on != "never":
        level = SEVERITY_ORDER[fail_on]
        if any(SEVERITY_ORDER[f.severity] >= level and not f.suppressed for f in findings):
            sys.exit(1)
