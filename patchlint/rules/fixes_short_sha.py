"""fixes-short-sha: a Fixes: tag names its commit with fewer than 12 hex digits.

What it does: reads every Fixes: trailer of the patch, its own and those given in
replies. Why is this bad: short ids become ambiguous as the history grows
(checkpatch GIT_COMMIT_ID). Example: "Fixes: 1234abcd (\"mm: ...\")".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from patchlint.findings import Evidence, Finding
from patchlint.mail import Message
from patchlint.rules.mail_rules import mail_finding

SCOPE = "mail"
FACTS = ("trailers",)
_HEX_PREFIX = re.compile(r"^([0-9a-fA-F]+)")


def check(unit: Message) -> Iterator[Finding]:
    for trailer in unit.trailers:
        if trailer.tag.lower() != "fixes":
            continue
        match = _HEX_PREFIX.match(trailer.value.strip())
        if match and 6 <= len(match.group(1)) < 12:
            yield mail_finding(
                "fixes-short-sha",
                f"Fixes: {trailer.value} uses a {len(match.group(1))}-digit commit id; "
                "use at least 12 characters",
                f"fixes:{match.group(1)}",
                line=trailer.line,
                evidence=[Evidence("note", f"given by {trailer.given_by}")],
            )
