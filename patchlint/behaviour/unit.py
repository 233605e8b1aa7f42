"""What a behaviour-scope rule looks at: one patch's claim and its verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field

from .claims import Claim, find_claim
from .model import FunctionVerdict


@dataclass
class BehaviourUnit:
    """One patch: its message, the no-behaviour-change claim it makes (if any) and the
    verdict for every function it changes."""

    subject: str
    message: str
    verdicts: list[FunctionVerdict] = field(default_factory=list)
    claim: Claim | None = None

    @classmethod
    def of(
        cls, subject: str, message: str, verdicts: list[FunctionVerdict], cover: str = ""
    ) -> BehaviourUnit:
        claim = find_claim(f"{subject}\n{message}")
        if claim is None and cover:
            # A cover letter's "no functional change" speaks for every patch of the series.
            claim = find_claim(cover)
        return cls(subject, message, verdicts, claim)
