"""The versioned JSON output of `patchlint check` (schema: check-output.schema.json)."""

from __future__ import annotations

import json
from dataclasses import asdict

from patchlint import __version__
from patchlint.findings import Finding
from patchlint.mail import Message
from patchlint.report.options import RenderOptions
from patchlint.result import JSON_SCHEMA_VERSION, CheckResult, PatchResult


def finding_dict(finding: Finding) -> dict[str, object]:
    return asdict(finding)


def message_dict(message: Message) -> dict[str, object]:
    return {
        "index": message.index,
        "message_id": message.message_id,
        "kind": message.kind,
        "reason": message.reason,
        "subject": message.subject,
        "author": message.author,
        "source": message.source,
        "line": message.line,
        "warnings": list(message.warnings),
    }


def patch_dict(patch: PatchResult) -> dict[str, object]:
    message = patch.message
    series = message.series
    return {
        "subject": message.subject,
        "message_id": message.message_id,
        "author": message.author,
        "date": message.date,
        "series": {
            "version": series.version,
            "index": series.index,
            "total": series.total,
            "prefixes": list(series.prefixes),
        },
        "trailers": [
            {
                "tag": trailer.tag,
                "value": trailer.value,
                "given_by": trailer.given_by,
                "from_reply": trailer.from_reply,
                "message_id": trailer.message_id,
                "problems": list(trailer.problems),
            }
            for trailer in message.trailers
        ],
        "files": [asdict(file) for file in patch.files],
        "findings": [finding_dict(f) for f in patch.findings],
        "partial": patch.partial,
        "notes": list(patch.notes),
        "not_analysed": [asdict(item) for item in patch.not_analysed],
        "errors": list(patch.errors),
        "skipped": patch.skipped,
        "simulation": patch.simulation,
        "behaviour": [verdict.to_dict() for verdict in patch.behaviour],
    }


def result_dict(result: CheckResult) -> dict[str, object]:
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": "patchlint", "version": __version__},
        "inputs": list(result.inputs),
        "tree": result.tree,
        "messages": [message_dict(m) for m in result.messages],
        "patches": [patch_dict(p) for p in result.patches],
        "series_problems": [
            {"series": problem.series, "message": problem.message}
            for problem in result.series_problems
        ],
        "series_findings": [finding_dict(f) for f in result.series_findings],
        "errors": list(result.errors),
        "summary": result.summary(),
    }


def render_json(result: CheckResult, options: RenderOptions | None = None) -> str:
    return json.dumps(result_dict(result), indent=2, ensure_ascii=False) + "\n"
