"""trailer-sender-mismatch: a reply's Reviewed-by/Acked-by/Tested-by names another address.

Why is this bad: a trailer stands for the person who sent it; one given for someone
else's address needs a second look before it is applied.

Example: a reply From: a@x.org carrying ``Acked-by: B <b@y.org>`` is reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.mail import Message
from patchlint.rules.mail_rules import check_trailer_sender_mismatch

SCOPE = "mail"
FACTS = ("trailers",)


def check(unit: Message) -> Iterator[Finding]:
    yield from check_trailer_sender_mismatch(unit)
