"""Classify findings across a patch: introduced, resolved or unchanged.

Matching is by rule, file, function and construct key, never by line number, so a
finding that merely moved because lines were added above it stays "unchanged".
"""

from __future__ import annotations

from collections import defaultdict

from patchlint.findings import Finding


def diff_findings(pre: list[Finding], post: list[Finding]) -> list[Finding]:
    remaining: dict[tuple[str, str, str, str], list[Finding]] = defaultdict(list)
    for finding in pre:
        remaining[finding.identity()].append(finding)
    result: list[Finding] = []
    for finding in post:
        bucket = remaining.get(finding.identity())
        if bucket:
            bucket.pop(0)
            finding.status = "unchanged"
        else:
            finding.status = "introduced"
        result.append(finding)
    for bucket in remaining.values():
        for finding in bucket:
            finding.status = "resolved"
            result.append(finding)
    result.sort(key=lambda f: (f.file or "", f.line or 0, f.rule, f.status))
    return result
