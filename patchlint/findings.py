"""The finding type every rule produces and every report consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
Confidence = Literal["high", "medium", "low"]
Status = Literal["introduced", "resolved", "unchanged", "found"]

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
CONFIDENCES: tuple[Confidence, ...] = ("high", "medium", "low")
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}
CONFIDENCE_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}


@dataclass
class Evidence:
    """One step of the reasoning behind a finding: a lock taken, a call, a branch, a note."""

    kind: str  # "lock", "unlock", "call", "path", "assert", "caller", "note", "counterpart"
    message: str
    file: str | None = None
    line: int | None = None


@dataclass
class Finding:
    """One problem a rule found.

    A rule fills in what it found (message, place, key, evidence). ``severity`` and
    ``confidence`` belong to the rule engine: it sets the catalog's severity (or the
    user's override) on every finding, and the catalog's confidence, lowered only
    where the rule said this one finding is less certain (see ``rules.engine``).
    """

    rule: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    function: str | None = None
    severity: Severity = "warning"
    confidence: Confidence = "high"
    # Stable identity of the construct across a patch (not its line number), used to
    # match pre-image and post-image findings: e.g. "for_each_thread(p, t)#0".
    key: str = ""
    status: Status = "found"
    evidence: list[Evidence] = field(default_factory=list)
    suppressed: bool = False

    def identity(self) -> tuple[str, str, str, str]:
        return (self.rule, self.file or "", self.function or "", self.key or self.message)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
