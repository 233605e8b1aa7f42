"""missing-signoff: the patch's author has no Signed-off-by.

Why is this bad: the Developer's Certificate of Origin is how the kernel records the
right to submit a change; a maintainer cannot apply a patch without it.

Example: ``From: Carol`` with only ``Signed-off-by: Dave`` is reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.mail import Message
from patchlint.rules.mail_rules import check_missing_signoff

SCOPE = "mail"
FACTS = ("author", "trailers")


def check(unit: Message) -> Iterator[Finding]:
    yield from check_missing_signoff(unit)
