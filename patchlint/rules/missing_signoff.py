"""missing-signoff: the patch's author did not sign off.

What it does: looks for the author's Signed-off-by (the in-body From: when there is
one, else the mail's From:) among the trailers of the commit message, comparing
addresses with the mail stage's one address parser (names with commas or brackets).
Why is this bad: the Developer's Certificate of Origin needs the author's sign-off;
a sign-off below the `---` line is dropped by `git am`, so it is reported as such.
Example: "From: Carol <carol@x>" with only "Signed-off-by: Dave <dave@x>".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from patchlint.findings import Evidence, Finding
from patchlint.mail import Message, parse_address, same_address, same_name
from patchlint.rules.mail_rules import mail_finding

SCOPE = "mail"
FACTS = ("trailers",)
RULE = "missing-signoff"
_SIGNOFF = re.compile(r"^Signed-off-by:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def check(unit: Message) -> Iterator[Finding]:
    author = parse_address(unit.author)
    if not author.addr:
        return
    signers = [t for t in unit.trailers if t.origin == "patch" and t.tag == "Signed-off-by"]
    for trailer in signers:
        signer = parse_address(trailer.value)
        # The same person signing from another address is checkpatch's
        # FROM_SIGN_OFF_MISMATCH, a warning there, not a missing certificate.
        if same_address(signer.addr, author.addr) or same_name(signer.name, author.name):
            return
    below = [
        value
        for value in _SIGNOFF.findall(unit.notes)
        if same_address(parse_address(value).addr, author.addr)
    ]
    evidence = [Evidence("note", f"Signed-off-by: {t.value}") for t in signers]
    if below:
        yield mail_finding(
            RULE,
            f"author {author} signs off below the '---' line, where git am drops it: "
            "move the Signed-off-by above '---'",
            "missing-signoff:below-separator",
            evidence=[Evidence("note", f"below '---': Signed-off-by: {below[0]}"), *evidence],
        )
        return
    others = " (sign-offs present from others)" if signers else ""
    yield mail_finding(
        RULE, f"author {author} has no Signed-off-by{others}", "missing-signoff", evidence=evidence
    )
