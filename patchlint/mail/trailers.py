"""Trailer extraction from patch commit messages and review replies (b4's rules)."""

from __future__ import annotations

import re

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
# b4 drops URL-valued trailers from replies: they are almost always prose, not tags.
_URL = re.compile(r"https?://", re.IGNORECASE)
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*):[ \t]+(\S.*?)\s*$")
_ADDR_BRACKET = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_ADDR_BARE = re.compile(r"([^\s<>()\"',;]+@[^\s<>()\"',;]+\.[^\s<>()\"',;]+)")
_HEX = re.compile(r"^([0-9a-fA-F]+)\b")
_OUTLOOK = re.compile(r"^-{3,}\s*Original Message\s*-{3,}\s*$", re.IGNORECASE)
_HEADERISH = re.compile(r"^(Sent|Date|To|Subject|Cc):\s", re.IGNORECASE)


def canonical_tag(tag: str) -> str:
    return _CANONICAL.get(tag.lower(), tag[:1].upper() + tag[1:].lower())


def is_trailer_tag(tag: str) -> bool:
    lower = tag.lower()
    return lower in _CANONICAL or lower.endswith("-by")


def value_address(value: str) -> str | None:
    """The e-mail address a trailer value names, lower-cased, or None."""
    match = _ADDR_BRACKET.search(value) or _ADDR_BARE.search(value)
    return match.group(1).lower() if match else None


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
    """An Outlook-style "From: ... / Sent: ..." block starting an unquoted original."""
    if _OUTLOOK.match(lines[pos]):
        return True
    if not lines[pos].startswith("From: "):
        return False
    following = lines[pos + 1 : pos + 4]
    return sum(1 for line in following if _HEADERISH.match(line)) >= 2


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


def parse_trailers(
    text: str,
    *,
    reply: bool,
    given_by: str,
    sender_addr: str,
    message_id: str,
    first_line: int | None = None,
) -> list[Trailer]:
    """Trailers of one message body.

    Quoted lines and everything after a "-- " signature are ignored. In a reply
    (`reply=True`) a trailer must name a person by e-mail address, except Fixes
    which must start with at least 6 hex digits; URL values are dropped, and the
    trailer is flagged when its address is not the sender's.
    """
    out: list[Trailer] = []
    lines = text.split("\n")
    pos = -1
    while pos + 1 < len(lines):
        pos += 1
        line = lines[pos]
        if _is_signature(line):
            break
        if reply and _is_forwarded_header(lines, pos):
            break
        if line.lstrip().startswith(">"):
            continue
        match = _LINE.match(line)
        if not match or not is_trailer_tag(match.group(1)):
            continue
        tag, lower = canonical_tag(match.group(1)), match.group(1).lower()
        start = pos
        value, pos = _joined_value(lines, pos, lower, match.group(2))
        problems: list[str] = []
        address = value_address(value)
        if lower == "fixes":
            problems = fixes_problems(value)
            if reply and not re.match(r"^[0-9a-fA-F]{6}", value):
                continue
        elif reply:
            if lower in _NON_PERSON or address is None or _URL.search(value):
                continue
            if sender_addr and address != sender_addr.lower():
                problems.append("address differs from sender")
        elif lower in _PERSON and address is None:
            problems.append("no e-mail address")
        out.append(
            Trailer(
                tag=tag,
                value=value,
                given_by=given_by,
                from_reply=reply,
                message_id=message_id,
                line=None if first_line is None else first_line + start,
                problems=problems,
            )
        )
    return out
