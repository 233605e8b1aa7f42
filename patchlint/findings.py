"""The finding type every rule produces and every report consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Confidence = Literal["high", "medium", "low"]
Status = Literal["introduced", "resolved", "unchanged", "found"]

SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass
class Evidence:
    """One step of the reasoning behind a finding: a lock taken, a call, a branch, a note."""

    kind: str  # "lock", "unlock", "call", "path", "assert", "caller", "note", "counterpart"
    message: str
    file: str | None = None
    line: int | None = None


@dataclass
class Finding:
    rule: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    function: str | None = None
    confidence: Confidence = "high"
    # Stable identity of the construct across a patch (not its line number), used to
    # match pre-image and post-image findings: e.g. "for_each_thread(p, t)#0".
    key: str = ""
    status: Status = "found"
    evidence: list[Evidence] = field(default_factory=list)
    suppressed: bool = False

    def identity(self) -> tuple[str, str, str, str]:
        return (self.rule, self.file or "", self.function or "", self.key or self.message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
