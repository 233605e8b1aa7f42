"""Trailer extraction from patch commit messages and review replies (b4's rules)."""

from __future__ import annotations

import re

from patchlint.mail.address import Address, address_of, parse_address, same_person
from patchlint.mail.classify import is_diff_start, walk_diff
from patchlint.mail.model import Trailer

_CANONICAL = {
    t.lower(): t
    for t in (
        "Signed-off-by",
        "Co-developed-by",
        "Acked-by",
        "Reviewed-by",
        "Tested-by",
        "Reported-by",
        "Suggested-by",
        "Fixes",
        "Link",
        "Closes",
        "Cc",
        "BugLink",
        "Reported-and-tested-by",
        "Requested-by",
        "Originally-by",
        "Debugged-by",
        "Helped-by",
        "Bisected-by",
        "Analyzed-by",
        "Message-ID",
    )
}
# Tags whose value is not a person; everything else must name one in a reply.
_NON_PERSON = frozenset({"fixes", "link", "closes", "buglink", "message-id"})
_PERSON = frozenset(
    {
        "signed-off-by",
        "co-developed-by",
        "acked-by",
        "reviewed-by",
        "tested-by",
        "reported-by",
        "suggested-by",
    }
)
# In a reply a line is a trailer only where it cannot be prose: a person's trailer
# names an address, a Fixes: starts with a commit id, links are Link:/Closes:/BugLink:.
_LINKS = frozenset({"link", "closes", "buglink"})
# Headers and list metadata that look like trailers but are never given in review.
_NOT_IN_REPLY = frozenset({"cc", "to", "from", "date", "subject", "message-id"})
_URL = re.compile(r"https?://", re.IGNORECASE)
# Unindented: an indented "    Signed-off-by:" is a commit quoted in the text, not a
# trailer given by whoever wrote the mail (b4 reads trailers the same way).
_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):[^\S\n]+(\S.*?)\s*$")
_HAS_ADDRESS = re.compile(r"\S+@\S+\.\S+")
_COMMENT = re.compile(r"^(.*\S)(\s+#[^#]+)$")
_HEX = re.compile(r"^([0-9a-fA-F]+)\b")
_FIXES_IN_REPLY = re.compile(r"^[0-9a-fA-F]{6}")
_OUTLOOK = re.compile(r"^-{3,}\s*Original Message\s*-{3,}\s*$", re.IGNORECASE)
_HEADERISH = re.compile(r"^(Sent|Date|To|Subject|Cc):\s", re.IGNORECASE)


def canonical_tag(tag: str) -> str:
    return _CANONICAL.get(tag.lower(), tag[:1].upper() + tag[1:].lower())


def is_trailer_tag(tag: str) -> bool:
    lower = tag.lower()
    return lower in _CANONICAL or lower.endswith("-by")


def value_address(value: str) -> str | None:
    """The e-mail address a trailer value names, lower-cased, or None."""
    return address_of(value) or None


def fixes_problems(value: str) -> list[str]:
    match = _HEX.match(value)
    if not match:
        return ["Fixes value does not start with a commit sha"]
    if len(match.group(1)) < 12:
        return [f"Fixes sha shorter than 12 characters ({match.group(1)})"]
    return []


def _is_signature(line: str) -> bool:
    return line == "-- " or line == "--"


def _is_forwarded_header(lines: list[str], pos: int) -> bool:
    """A block of mail headers opening an unquoted mail inside the text: an inlined
    patch ("From: / Date: / Subject:") or an Outlook-style original ("From: / Sent:")."""
    if _OUTLOOK.match(lines[pos]):
        return True
    if not lines[pos].startswith("From: "):
        return False
    following = lines[pos + 1 : pos + 4]
    return sum(1 for line in following if _HEADERISH.match(line)) >= 2


def _inlined_patch_end(lines: list[str], pos: int) -> int | None:
    """Where the inlined mail opening at `pos` ends: after its diff, when it is a patch.
    None for a forwarded original (Outlook's "Sent:") or a mail without a diff, whose
    text runs to the end."""
    following = lines[pos : pos + 4]
    if _OUTLOOK.match(lines[pos]) or any(line.startswith("Sent:") for line in following):
        return None
    for start in range(pos + 1, len(lines)):
        if _is_signature(lines[start]):
            return None
        if lines[start][:1] in "dI-" and is_diff_start(lines, start):
            return walk_diff(lines, start)[0]
    return None


def _joined_value(lines: list[str], pos: int, tag: str, value: str) -> tuple[str, int]:
    """Undo the two wraps b4 also repairs: a Fixes title wrapped inside its
    parentheses, and a long name with the <address> on the next line."""
    if pos + 1 >= len(lines):
        return value, pos
    nxt = lines[pos + 1].strip()
    if tag == "fixes" and "(" in value and ")" not in value and nxt.endswith(")"):
        return f"{value} {nxt}", pos + 1
    if "<" not in value and nxt.startswith("<") and nxt.endswith(">") and "@" in nxt:
        return f"{value} {nxt}", pos + 1
    return value, pos


def _reply_accepts(lower: str, value: str) -> bool:
    """b4's test for a trailer given in a reply, with known tag names only."""
    if lower in _NOT_IN_REPLY:
        return False
    if lower == "fixes":
        return bool(_FIXES_IN_REPLY.match(value))
    if lower in _LINKS:
        return True
    return bool(_HAS_ADDRESS.search(value)) and not _URL.search(value)


def parse_trailers(
    text: str,
    *,
    reply: bool,
    given_by: str,
    sender_addr: str,
    message_id: str,
    first_line: int | None = None,
) -> list[Trailer]:
    """Trailers of one message body: unindented `Tag: value` lines outside quotes and
    before a "-- " signature.

    In a reply (`reply=True`) a trailer must name a person by address, or be a Fixes:
    starting with at least 6 hex digits, or a Link:/Closes:/BugLink:; whether the
    person is the sender is recorded in `sender_match`.
    """
    out: list[Trailer] = []
    lines = text.split("\n")
    sender = parse_address(given_by)
    if sender_addr and not sender.addr:
        sender = Address(sender.name, sender_addr)
    pos = -1
    while pos + 1 < len(lines):
        pos += 1
        line = lines[pos]
        if _is_signature(line):
            break
        if reply and _is_forwarded_header(lines, pos):
            # The inlined patch's trailers are its author's sign-offs, not review of
            # this patch; the reply's own text may go on after its diff.
            end = _inlined_patch_end(lines, pos)
            if end is None:
                break
            pos = end - 1
            continue
        match = _LINE.match(line)
        if not match or not is_trailer_tag(match.group(1)):
            continue
        tag, lower = canonical_tag(match.group(1)), match.group(1).lower()
        start = pos
        value, pos = _joined_value(lines, pos, lower, match.group(2))
        comment = ""
        commented = _COMMENT.match(value)
        if commented and lower not in _LINKS:
            value, comment = commented.group(1), commented.group(2).strip()
        if reply and not _reply_accepts(lower, value):
            continue
        problems: list[str] = []
        address = parse_address(value)
        match_kind = "same"
        if lower == "fixes":
            problems = fixes_problems(value)
        elif reply and address.addr and lower not in _LINKS:
            match_kind = same_person(address, sender) if sender.addr else "same"
        elif not reply and lower in _PERSON and not address.addr:
            problems.append("no e-mail address")
        if address.addr and lower not in _LINKS and lower != "fixes":
            value = str(address)
        out.append(
            Trailer(
                tag=tag,
                value=value,
                given_by=given_by,
                from_reply=reply,
                message_id=message_id,
                line=None if first_line is None else first_line + start,
                problems=problems,
                origin="reply" if reply else "patch",
                sender_match=match_kind,
                comment=comment,
            )
        )
    return out
