"""Subject-line parsing: reply markers, bracketed prefixes, version and position."""

from __future__ import annotations

import re

from patchlint.mail.model import SubjectInfo

# Reply/forward markers in the languages seen on kernel lists (Aw: German, Sv: Nordic,
# Antw: Dutch, Odp: Polish, Vs: Finnish, Rif: Italian, Wg: German forward).
_REPLY = re.compile(
    r"^\s*(?:re|aw|sv|antw|odp|vs|rif|res|fw|fwd|wg)(?:\s*\[\d+\])?\s*:\s*", re.IGNORECASE
)
# Any other 2-3 letter marker directly before a bracket ("Ynt: [PATCH]"), as b4 does.
_SHORT_MARKER = re.compile(r"^\s*[^\W\d_]{2,3}\s*:\s*(?=\[)")
_VERSION = re.compile(r"^v(\d{1,4})$", re.IGNORECASE)
_GLUED_VERSION = re.compile(r"^(patch|rfc|resend)v(\d{1,4})$", re.IGNORECASE)
_COUNTER = re.compile(r"^(\d{1,5})/(\d{1,5})$")
_SPACE = re.compile(r"\s+")


def _leading_group(subject: str) -> tuple[str, str] | None:
    """The text of a leading [...] group (inner brackets flattened) and the rest."""
    if not subject.startswith("["):
        return None
    depth = 0
    for pos, char in enumerate(subject):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                inner = subject[1:pos].replace("[", " ").replace("]", " ")
                return inner, subject[pos + 1 :].lstrip()
    return None  # unbalanced: treat as title text


def parse_subject(subject: str) -> SubjectInfo:
    """Parse e.g. "Re: [RFC][PATCH net-next v2 1/3] foo: bar"; never raises."""
    info = SubjectInfo()
    rest = _SPACE.sub(" ", subject or "").strip()
    seen_group = False
    while True:
        match = None if seen_group else (_REPLY.match(rest) or _SHORT_MARKER.match(rest))
        if match:
            info.is_reply = True
            rest = rest[match.end() :]
            continue
        seen_group = True
        group = _leading_group(rest)
        if group is None:
            break
        inner, rest = group
        _read_group(inner, info)
    info.title = rest.strip()
    return info


def _read_group(inner: str, info: SubjectInfo) -> None:
    words = [w.strip(",;:") for w in inner.split()]
    words = [w for w in words if w]
    upper = [w.upper() for w in words]
    if "PULL" in upper:
        info.is_pull = True
    if "GIT" in upper and "PULL" in upper and upper.index("PULL") == upper.index("GIT") + 1:
        pos = upper.index("GIT")
        words[pos : pos + 2] = [words[pos] + " " + words[pos + 1]]
    for word in words:
        glued = _GLUED_VERSION.match(word)
        if glued:
            info.prefixes.append(word[: len(glued.group(1))])
            info.version = int(glued.group(2))
            info.version_explicit = True
            continue
        version = _VERSION.match(word)
        if version:
            info.version = int(version.group(1))
            info.version_explicit = True
            continue
        counter = _COUNTER.match(word)
        if counter:
            info.index, info.total = int(counter.group(1)), int(counter.group(2))
            continue
        info.prefixes.append(word)
