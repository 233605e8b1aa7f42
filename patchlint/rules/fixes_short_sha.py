"""fixes-short-sha: a Fixes: tag with a commit id shorter than 12 hex digits.

Why is this bad: short ids become ambiguous as the history grows (checkpatch
GIT_COMMIT_ID).

Example: ``Fixes: 1234567 ("...")`` is reported; ``Fixes: 123456789abc ("...")`` is not.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.mail import Message
from patchlint.rules.mail_rules import check_fixes_short_sha

SCOPE = "mail"
FACTS = ("trailers",)


def check(unit: Message) -> Iterator[Finding]:
    yield from check_fixes_short_sha(unit)
