"""The claim detector: the many ways a changelog says "no functional change", and the
ways it does not (negated, asked, scoped to part of the patch, another subsystem)."""

from __future__ import annotations

import pytest

from patchlint.behaviour import Explored, FunctionVerdict, behaviour_units, find_claim

CLAIMS = [
    "No functional change intended.",
    "No functional changes.",
    "No functional change(s) intended.",
    "no functional changes intended",
    "There is no functional change.",
    "No functional change is expected.",
    "No behaviour change.",
    "No behavior change expected.",
    "No change in behavior expected.",
    "No behavioral changes intended.",
    "This patch should not change behaviour.",
    "This is a pure cleanup.",
    "Pure cleanup, no functional changes.",
    "Just a refactor, no behavior change expected.",
    "Cleanup only.",
    "Purely cosmetic.",
    "Refactor the loop (NFC).",
    "NFC",
    "NFCI",
    "The new code is functionally equivalent.",
    "This is a no-op.",
    "Non-functional change.",
    "Rename the helper; no functional change.",
    # Wrapped at 72 columns in the middle of the phrase.
    "Move the length check into the helper, so there is no functional\nchange intended.",
    "Both callers already hold the lock, so this should not change\nbehaviour.",
]

NOT_CLAIMS = [
    "This is not a pure cleanup: it also fixes the error path.",
    "Is there no functional change?",
    "No functional change for x86, but arm64 now takes the lock.",
    "No functional change for v1; v2-only kernels drop the unused field.",
    "Other than the debugfs directory, no behavioral change intended.",
    "Besides that, no functional change intended.",
    "Apart from the new message, no functional change.",
    "This changes the behaviour when the device is suspended.",
    "> No functional change intended.",
    "Reviewed-by: A Reviewer <no functional change@example.org>",
    "Add NFC support to the pn533 driver.",
    "NFC: pn533: fix the reset sequence",
    "Fix a NULL dereference in the probe path.",
    "The others override it, therefore this commit doesn't change behaviour for\n"
    "them; DWC_usb31 now writes the threshold.",
]


@pytest.mark.parametrize("text", CLAIMS)
def test_claims_are_found(text: str) -> None:
    claim = find_claim(f"subsys: change something\n\n{text}\n\nSigned-off-by: A <a@b.c>\n")
    assert claim is not None, text
    assert claim.function is None


@pytest.mark.parametrize("text", NOT_CLAIMS)
def test_non_claims_are_not(text: str) -> None:
    assert find_claim(f"subsys: change something\n\n{text}\n") is None, text


def test_a_claim_about_one_function_covers_only_it() -> None:
    claim = find_claim("mm: cursor per memcg\n\nNo functional change intended for shrink_worker().")
    assert claim is not None and claim.function == "shrink_worker"
    assert claim.covers("shrink_worker") and not claim.covers("zswap_cleanup")


def test_the_diff_after_the_separator_is_not_read() -> None:
    message = "subsys: fix\n\nFix the leak.\n---\n v2: no functional change\n"
    assert find_claim(message) is None


def test_a_wrapped_claim_names_its_line_and_reads_as_one_sentence() -> None:
    message = "subsys: tidy\n\nFold the helper into its caller.  There is no\nfunctional change.\n"
    claim = find_claim(message)
    assert claim is not None
    assert (claim.line, claim.text) == (3, "There is no functional change.")


def test_the_subject_is_its_own_paragraph() -> None:
    (unit,) = behaviour_units(
        "thunderbolt: Drop doubled empty line from ctl.h",
        "No functional changes.\n",
        [FunctionVerdict("f", "a.c", "unknown", None, Explored(0, False), "x")],
    )
    assert unit.claim is not None and unit.claim.text == "No functional changes."
