"""nfc-claim-diverges: the commit message claims no functional change, but a changed
function behaves differently.

What it does: when the message says "No functional change intended", "NFC", "no
behaviour change", "pure cleanup", "just a refactor"... (patchlint.behaviour.claims),
every changed function whose differential execution (patchlint.behaviour) found a
concrete witness of a functional difference is reported on that function, with the
witness: the inputs, what each version did, and the first observable that differs.

Why is this bad: reviewers trust such claims and read the diff as a refactor; a
behaviour change hidden in one is reviewed by nobody.  Either the claim or the code
is wrong.

Example: "mm: simplify foo(); no functional change" where the new code returns 0 on
a path that returned -EINVAL.

Log-only differences (a reworded printk) do not contradict the claim: they are
reported by nfc-claim-verified as info.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from patchlint.behaviour import BehaviourUnit, FunctionVerdict
from patchlint.findings import Evidence, Finding

SCOPE = "behaviour"
FACTS = ("verdict", "nfc-claim")
RULE = "nfc-claim-diverges"


def _witness_evidence(verdict: FunctionVerdict) -> list[Evidence]:
    witness = verdict.witness
    if witness is None:
        return []
    inputs = ", ".join(f"{name} = {value}" for name, value in witness.inputs) or "any"
    return [
        Evidence("note", f"inputs: {inputs}", verdict.file, verdict.line),
        Evidence(
            "note", f"before: {_summary(witness.before.to_dict())}", verdict.file, verdict.line
        ),
        Evidence("note", f"after: {_summary(witness.after.to_dict())}", verdict.file, verdict.line),
    ]


def _summary(observation: Mapping[str, object]) -> str:
    parts = []
    if observation.get("fault"):
        parts.append(f"crashes ({observation['fault']})")
    elif observation.get("return") is not None:
        parts.append(f"returns {observation['return']}")
    calls = observation.get("calls")
    if isinstance(calls, list) and calls:
        parts.append(
            "calls " + ", ".join(str(c) for c in calls[:6]) + (" ..." if len(calls) > 6 else "")
        )
    writes = observation.get("writes")
    if isinstance(writes, dict) and writes:
        parts.append("writes " + ", ".join(f"{k} = {v}" for k, v in list(writes.items())[:6]))
    return "; ".join(parts) or "nothing observable"


def check(unit: BehaviourUnit) -> Iterator[Finding]:
    claim = unit.claim
    verdict = unit.verdict
    witness = verdict.witness
    if claim is None or not claim.covers(verdict.function):
        return
    if verdict.verdict != "diverges" or witness is None or witness.output_only:
        return
    crash = witness.observable == "fault"
    yield Finding(
        rule=RULE,
        message=(
            f'the message claims "{claim.phrase}" but {verdict.function}() '
            f"behaves differently: {witness.first_difference}"
            + (
                " (only on inputs that make one version crash, such as a NULL pointer its "
                "callers may never pass)"
                if crash
                else ""
            )
        ),
        # A difference that needs a crash rests on inputs the callers may rule out.
        confidence="low" if crash else "high",
        file=verdict.file,
        line=verdict.line,
        function=verdict.function,
        key=f"{RULE}:{verdict.function}",
        status="introduced",
        evidence=[Evidence("note", f"claim: {claim.text}"), *_witness_evidence(verdict)],
    )
