"""nfc-claim-verified: a "no functional change" claim checked and found to hold.

What it does: on a patch whose message claims no functional change, every changed
function whose differential execution explored all paths within the bounds and found
them identical is reported as info ("claim verified within bounds"), and so is one
whose only difference is log output (a reworded message does not make a functional
change).

Why: the reviewer learns which parts of the claim were checked mechanically, and how
far (paths, loop bound); an ``unknown`` function gets no finding, so silence means
"not verified", never "verified".

Example: "Simplify the error path, no functional change" where the goto-based cleanup
became nested ifs with the same calls in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.behaviour import BehaviourUnit
from patchlint.findings import Evidence, Finding

SCOPE = "behaviour"
FACTS = ("verdict", "nfc-claim")
RULE = "nfc-claim-verified"


def check(unit: BehaviourUnit) -> Iterator[Finding]:
    claim = unit.claim
    verdict = unit.verdict
    if claim is None or not claim.covers(verdict.function):
        return
    if verdict.verdict == "equivalent" and verdict.explored.complete:
        message = (
            f"claim verified within bounds: {verdict.function}() behaves the same "
            f"({verdict.reason})"
        )
    elif (
        verdict.verdict == "diverges"
        and verdict.witness is not None
        and verdict.witness.output_only
    ):
        message = (
            f"claim holds for {verdict.function}() apart from log output: "
            f"{verdict.witness.first_difference}"
        )
    else:
        return
    yield Finding(
        rule=RULE,
        message=message,
        file=verdict.file,
        line=verdict.line,
        function=verdict.function,
        key=f"{RULE}:{verdict.function}",
        status="found",
        evidence=[Evidence("note", f"claim: {claim.text}")],
    )
