"""Shared by the message-level rules (missing_signoff, fixes_short_sha,
trailer_sender_mismatch, series_incomplete): they look only at the mail model
(patchlint.mail), never at C.

The severity of a finding is the catalog's (rules/catalog.toml), looked up here so
that no rule module chooses one; the engine applies the user's overrides.
"""

from __future__ import annotations

from patchlint.findings import Evidence, Finding, Severity


def catalog_severity(rule_id: str) -> Severity:
    from patchlint.rules.engine import get_rule

    meta = get_rule(rule_id)
    severity = meta.severity if meta is not None else "warning"
    if severity == "error":
        return "error"
    return "info" if severity == "info" else "warning"


def mail_finding(
    rule_id: str,
    message: str,
    key: str,
    *,
    line: int | None = None,
    evidence: list[Evidence] | None = None,
) -> Finding:
    return Finding(
        rule=rule_id,
        severity=catalog_severity(rule_id),
        message=message,
        line=line,
        key=key,
        evidence=evidence or [],
    )
