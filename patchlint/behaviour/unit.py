"""What a behaviour-scope rule looks at: one changed function's verdict and the claim
its patch makes (patchlint.units.BehaviourUnit is the contract: path, function)."""

from __future__ import annotations

from dataclasses import dataclass

from .claims import Claim, find_claim
from .model import FunctionVerdict


@dataclass(frozen=True)
class BehaviourUnit:
    """One function a patch changes: where it is, its verdict, and the patch's claim
    that it changes no behaviour (None when the message makes no such claim)."""

    path: str
    function: str
    verdict: FunctionVerdict
    claim: Claim | None
    subject: str


def behaviour_units(
    subject: str, message: str, verdicts: list[FunctionVerdict], cover: str = ""
) -> list[BehaviourUnit]:
    """A unit per verdict; the claim is the patch's own, else its cover letter's."""
    claim = find_claim(f"{subject}\n\n{message}")
    if claim is None and cover:
        claim = find_claim(cover)
    return [BehaviourUnit(v.file, v.function, v, claim, subject) for v in verdicts]
