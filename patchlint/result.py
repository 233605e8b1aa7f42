"""What a `check` run produces: the data every report format renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patchlint.findings import SEVERITY_ORDER, Finding

JSON_SCHEMA_VERSION = "1.0"


@dataclass
class FileResult:
    path: str
    status: str  # modified, added, deleted, renamed, copied, mode, binary
    added: int
    removed: int
    old_path: str | None = None
    apply_state: str = "no tree"  # applied, does not apply, added, deleted, no tree, refused
    hunks: list[str] = field(default_factory=list)  # "exact", "offset 1", "fuzz 2", "failed"
    error: str | None = None
    # Per hunk, in patch order: where it applied minus where its header said.
    offsets: list[int] = field(default_factory=list)


@dataclass
class PatchResult:
    message: Any  # patchlint.mail.Message
    files: list[FileResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    simulation: list[dict[str, Any]] = field(default_factory=list)
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None
    # Pre/post images of the touched C files, for reports that show code excerpts.
    images: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass
class CheckResult:
    inputs: list[str]
    messages: list[Any]  # every patchlint.mail.Message of the input
    patches: list[PatchResult]
    series_problems: list[Any]
    series_findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tree: str | None = None
    series: list[Any] = field(default_factory=list)  # patchlint.mail.Series, input order

    def all_findings(self) -> list[Finding]:
        found = [f for p in self.patches for f in p.findings]
        return found + self.series_findings

    def failing(self, threshold: str) -> list[Finding]:
        """Findings that make the run fail at `threshold` (resolved and suppressed never do)."""
        if threshold == "never":
            return []
        level = SEVERITY_ORDER[threshold]
        return [
            f
            for f in self.all_findings()
            if not f.suppressed
            and f.status in ("introduced", "found")
            and SEVERITY_ORDER.get(f.severity, 0) >= level
        ]

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for message in self.messages:
            kinds[message.kind] = kinds.get(message.kind, 0) + 1
        by_status: dict[str, int] = {}
        by_severity: dict[str, int] = {}
        for finding in self.all_findings():
            if finding.suppressed:
                by_status["suppressed"] = by_status.get("suppressed", 0) + 1
                continue
            by_status[finding.status] = by_status.get(finding.status, 0) + 1
            if finding.status != "resolved":
                by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
        return {
            "messages": len(self.messages),
            "kinds": kinds,
            "patches": len(self.patches),
            "findings": by_status,
            "severities": by_severity,
            "series_problems": len(self.series_problems),
            "errors": len(self.errors) + kinds.get("error", 0),
        }
