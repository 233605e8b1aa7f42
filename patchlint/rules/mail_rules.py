"""Message-level rules: sign-offs, Fixes: tags, reply trailers, series completeness.

These look only at the mail model (patchlint.mail), never at C.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parseaddr
from typing import Any

from patchlint.findings import Evidence, Finding

_HEX_PREFIX = re.compile(r"^([0-9a-fA-F]+)")
_PERSONAL_TAGS = {"acked-by", "reviewed-by", "tested-by"}


def _address(value: str) -> str:
    return parseaddr(value)[1].strip().lower()


def check_missing_signoff(message: Any) -> Iterable[Finding]:
    author = (message.author_addr or _address(message.author)).lower()
    signers = [t for t in message.trailers if t.tag.lower() == "signed-off-by" and not t.from_reply]
    if any(_address(t.value) == author for t in signers):
        return
    names = {parseaddr(t.value)[0].strip().lower() for t in signers}
    author_name = parseaddr(message.author)[0].strip().lower()
    if author_name and author_name in names:
        # Same person signing from another address is a warning-level matter for
        # checkpatch (FROM_SIGN_OFF_MISMATCH), not a missing DCO.
        return
    evidence = [Evidence("note", f"Signed-off-by: {t.value}") for t in signers]
    yield Finding(
        rule="missing-signoff",
        severity="error",
        message=f"author {message.author} has no Signed-off-by"
        + (" (sign-offs present from others)" if signers else ""),
        key="missing-signoff",
        evidence=evidence,
    )


def check_fixes_short_sha(message: Any) -> Iterable[Finding]:
    for trailer in message.trailers:
        if trailer.tag.lower() != "fixes":
            continue
        match = _HEX_PREFIX.match(trailer.value.strip())
        if match and 6 <= len(match.group(1)) < 12:
            yield Finding(
                rule="fixes-short-sha",
                severity="warning",
                message=f"Fixes: {trailer.value} uses a {len(match.group(1))}-digit commit id; "
                "use at least 12 characters",
                line=trailer.line,
                key=f"fixes:{match.group(1)}",
                evidence=[Evidence("note", f"given by {trailer.given_by}")],
            )


def check_trailer_sender_mismatch(message: Any) -> Iterable[Finding]:
    for trailer in message.trailers:
        if not trailer.from_reply or trailer.tag.lower() not in _PERSONAL_TAGS:
            continue
        given, sender = _address(trailer.value), _address(trailer.given_by)
        if given and sender and given != sender:
            yield Finding(
                rule="trailer-sender-mismatch",
                severity="info",
                message=f"{trailer.tag}: {trailer.value} was sent by {trailer.given_by}",
                key=f"{trailer.tag}:{given}:{sender}",
                evidence=[Evidence("note", f"in reply {trailer.message_id}")],
            )


def check_series(problem: Any) -> Iterable[Finding]:
    yield Finding(
        rule="series-incomplete",
        severity="info",
        message=f"{problem.series}: {problem.message}",
        key=f"{problem.series}:{problem.message}",
    )
