"""trailer-sender-mismatch: a reply gives a person's trailer for someone else.

What it does: for trailers taken from replies (to the patch, to its cover letter, or
carried from another posting of the same patch-id), compares the person the trailer
names with the reply's sender. The same mailbox (up to +extensions and a subdomain)
or the same name at another address is the same person and is not reported.
Why is this bad: b4 does not apply such a trailer, and a maintainer should not either
without checking: it is a tag typed for somebody else, or a quoted one.
Example: a mail from "Alice <alice@x>" saying "Reviewed-by: Bob <bob@y>".
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Evidence, Finding
from patchlint.mail import Message, parse_address
from patchlint.rules.mail_rules import mail_finding

SCOPE = "mail"
FACTS = ("trailers",)


def check(unit: Message) -> Iterator[Finding]:
    for trailer in unit.trailers:
        if not trailer.from_reply or trailer.sender_match != "other":
            continue
        named, sender = parse_address(trailer.value), parse_address(trailer.given_by)
        yield mail_finding(
            "trailer-sender-mismatch",
            f"{trailer.tag}: {trailer.value} was sent by {trailer.given_by}, not by the "
            "person it names; b4 does not apply it",
            f"{trailer.tag}:{named.key}:{sender.key}",
            evidence=[Evidence("note", f"in reply {trailer.message_id}")],
        )
