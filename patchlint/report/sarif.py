"""SARIF 2.1.0 output for code-scanning dashboards and CI bots.

One run per check. Every catalog rule is listed in tool.driver.rules (so ruleIndex is
stable whatever was selected). Results carry:
- locations in the post-image (relative to SRCROOT, the kernel tree when there is one);
  message-level findings (Signed-off-by, trailers) point at the mail in its input file;
- partialFingerprints hashed from rule, file, function and construct key, never the
  line, so a finding keeps its identity while code moves around it;
- relatedLocations for every evidence step and a codeFlow (one threadFlow) when the
  evidence is a path: locks taken and released, calls, callers, branches;
- suppressions (kind inSource) for findings silenced by `/* patchlint: ignore ... */`:
  they are reported, not dropped;
- baselineState relative to the pre-image: "new" for introduced, "unchanged".
  Resolved findings are good news, not alerts: code-scanning dashboards (GitHub) open
  an alert for every result whatever its kind or level, so they are left out of
  `results` and listed in the run's properties ("resolved"). Findings without a
  pre-image to compare get no baselineState.
- every result has a physical location: code findings in the post-image, message
  findings at the message's line in its input file, series findings at their first
  patch (or cover letter); stdin is named "stdin".
- rules carry their documentation page as help.markdown (and help.text); helpUri is
  left out, since the documentation has no public URL of its own.
`quiet` does not apply: SARIF is always the complete machine-readable record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from patchlint import __version__
from patchlint.findings import Evidence, Finding
from patchlint.mail import Message
from patchlint.report.options import RenderOptions
from patchlint.result import CheckResult
from patchlint.rules import all_rules

# A SARIF object is heterogeneous JSON (strings, numbers, nested objects and arrays);
# its shape is checked against the vendored SARIF 2.1.0 schema by the tests, not here.
SarifObject = dict[str, Any]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT = "patchlintIdentity/v1"
_BASELINE = {"introduced": "new", "unchanged": "unchanged", "resolved": "absent"}
_FLOW_KINDS = {
    "lock": ["acquire", "lock"],
    "unlock": ["release", "lock"],
    "call": ["call"],
    "caller": ["call", "enter"],
    "path": ["branch"],
    "assert": ["lock"],
}


def fingerprint(finding: Finding) -> str:
    rule, file, function, key = finding.identity()
    text = "\x1f".join((rule, file, function, key))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _camel(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.replace("_", "-").split("-"))


def _doc_text(doc: str) -> str:
    from patchlint.knowledge import data_path

    try:
        return data_path(doc).read_text(encoding="utf-8")
    except OSError:
        return ""


def rule_descriptors() -> list[SarifObject]:
    from patchlint.rules.engine import all_rules

    descriptors = []
    for meta in all_rules():
        descriptors.append(
            {
                "id": meta.id,
                "name": _camel(meta.id),
                "shortDescription": {"text": meta.name},
                "fullDescription": {"text": meta.summary},
                "help": {
                    "text": f"{meta.summary} See {meta.doc} in the patchlint rules data.",
                    "markdown": _doc_text(meta.doc) or meta.summary,
                },
                "defaultConfiguration": {"level": LEVELS.get(meta.severity, "warning")},
                "properties": {
                    "family": meta.family,
                    "confidence": meta.confidence,
                    "scope": meta.scope,
                    "tags": [meta.family] if meta.family else [],
                },
            }
        )
    return descriptors


def _physical(
    file: str, line: int | None, column: int | None = None, base: str | None = "SRCROOT"
) -> SarifObject:
    artifact: SarifObject = {"uri": quote(file)}
    if base:
        artifact["uriBaseId"] = base
    physical: SarifObject = {"artifactLocation": artifact}
    if line and line > 0:
        region: SarifObject = {"startLine": line}
        if column and column > 0:
            region["startColumn"] = column
        physical["region"] = region
    return physical


def _location(finding: Finding, message: Message | None) -> SarifObject | None:
    if finding.file:
        location: SarifObject = {
            "physicalLocation": _physical(finding.file, finding.line, finding.column)
        }
        if finding.function:
            location["logicalLocations"] = [{"name": finding.function, "kind": "function"}]
        return location
    if message is not None:
        # Mail-level findings live in the message: point at it in the input file.
        source = message.source or "stdin"
        if source in ("-", "<stdin>") or source.startswith("<"):
            source = "stdin"
        return {
            "physicalLocation": _physical(source, message.line, None, None),
            "message": {"text": f"message {message.message_id or message.subject}"},
        }
    return None


def _evidence_location(step: Evidence, finding: Finding, number: int) -> SarifObject:
    location: SarifObject = {"id": number, "message": {"text": f"{step.kind}: {step.message}"}}
    file = step.file or finding.file
    if file and step.line:
        location["physicalLocation"] = _physical(file, step.line)
    return location


def _code_flow(finding: Finding) -> SarifObject | None:
    steps = [s for s in finding.evidence if s.kind in _FLOW_KINDS and s.line]
    if not steps:
        return None
    locations = []
    depth = 0
    for order, step in enumerate(finding.evidence, 1):
        if not step.line:
            continue
        if step.kind == "unlock":
            depth = max(0, depth - 1)
        locations.append(
            {
                "location": {
                    "physicalLocation": _physical(step.file or finding.file or "", step.line),
                    "message": {"text": f"{step.kind}: {step.message}"},
                },
                "kinds": _FLOW_KINDS.get(step.kind, ["unknown"]),
                "nestingLevel": depth,
                "executionOrder": order,
            }
        )
        if step.kind == "lock":
            depth += 1
    return {"message": {"text": "path to the finding"}, "threadFlows": [{"locations": locations}]}


def result_object(
    finding: Finding, rule_index: dict[str, int], message: Message | None
) -> SarifObject:
    result: SarifObject = {"ruleId": finding.rule, "message": {"text": finding.message}}
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    if finding.status == "resolved":
        result["kind"] = "pass"
        result["level"] = "none"
    else:
        result["kind"] = "fail"
        result["level"] = LEVELS.get(finding.severity, "warning")
    location = _location(finding, message)
    if location is not None:
        result["locations"] = [location]
    result["partialFingerprints"] = {FINGERPRINT: fingerprint(finding)}
    related = [
        _evidence_location(step, finding, number) for number, step in enumerate(finding.evidence, 1)
    ]
    if related:
        result["relatedLocations"] = related
    flow = _code_flow(finding)
    if flow is not None:
        result["codeFlows"] = [flow]
    if finding.suppressed:
        result["suppressions"] = [
            {
                "kind": "inSource",
                "status": "accepted",
                "justification": f"/* patchlint: ignore {finding.rule} */ in the source",
            }
        ]
    if finding.status in _BASELINE:
        result["baselineState"] = _BASELINE[finding.status]
    properties: SarifObject = {
        "status": finding.status,
        "confidence": finding.confidence,
        "severity": finding.severity,
    }
    if finding.status == "resolved":
        properties["image"] = "pre"
    if message is not None:
        properties["patch"] = {"subject": message.subject, "messageId": message.message_id}
    result["properties"] = properties
    return result


def sarif_dict(result: CheckResult) -> SarifObject:
    rules = rule_descriptors()
    rule_index = {rule["id"]: number for number, rule in enumerate(rules)}
    resolved: list[SarifObject] = []
    results: list[SarifObject] = []
    behaviour_rules = {meta.id for meta in all_rules() if meta.scope == "behaviour"}
    for patch in result.patches:
        verdicts = {(v.file, v.function): v for v in patch.behaviour}
        for finding in patch.findings:
            target = resolved if finding.status == "resolved" else results
            obj = result_object(finding, rule_index, patch.message)
            verdict = verdicts.get((finding.file or "", finding.function or ""))
            if finding.rule in behaviour_rules and verdict is not None:
                # The differential-execution witness, machine-readable (docs/behaviour.md).
                obj["properties"]["behaviour"] = verdict.to_dict()
            target.append(obj)
    heads = _series_heads(result)
    for finding in result.series_findings:
        series_key = finding.key.split(":", 1)[0] if finding.key else ""
        results.append(result_object(finding, rule_index, heads.get(series_key)))
    notifications = [{"level": "error", "message": {"text": error}} for error in result.errors]
    for patch in result.patches:
        for error in patch.errors:
            notifications.append({"level": "error", "message": {"text": error}})
        for note in patch.notes:
            notifications.append({"level": "note", "message": {"text": note}})
        for item in patch.not_analysed:
            # No rule looked at this function: say so where a code-scanning UI shows it.
            notification: SarifObject = {
                "level": "note",
                "message": {"text": str(item)},
                "properties": {"notAnalysed": asdict(item)},
            }
            if item.image == "after":  # a pre-image line would point at the wrong code
                notification["locations"] = [
                    {
                        "physicalLocation": _physical(item.path, item.line),
                        "logicalLocations": [{"name": item.function, "kind": "function"}],
                    }
                ]
            notifications.append(notification)
    invocation: SarifObject = {"executionSuccessful": not result.errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: SarifObject = {
        "tool": {
            "driver": {
                "name": "patchlint",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "inputs": list(result.inputs),
            "summary": result.summary(),
            "resolved": resolved,
        },
    }
    if result.tree:
        root = Path(result.tree).resolve().as_uri().rstrip("/") + "/"
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": root}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _series_heads(result: CheckResult) -> dict[str, Message]:
    """Series key -> the message a series finding points at: the first patch, else
    the cover letter, else the first message of the input."""
    heads: dict[str, Message] = {}
    for series in getattr(result, "series", []) or []:
        head = series.patches[0] if series.patches else series.cover
        if head is not None:
            heads[series.key] = head
    return heads


def render_sarif(result: CheckResult, options: RenderOptions | None = None) -> str:
    return json.dumps(sarif_dict(result), indent=2, ensure_ascii=False) + "\n"


def render_sarif_findings(findings: list[Finding], root: Path) -> str:
    """SARIF for a whole-tree scan: the same run shape, with no patches."""
    scan = CheckResult(
        inputs=[str(root)],
        messages=[],
        patches=[],
        series_problems=[],
        series_findings=list(findings),
        tree=str(root),
    )
    return render_sarif(scan)
