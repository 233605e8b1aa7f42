"""Where a body's patch is, and what kind of message it is."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_QUOTE_PREFIX = re.compile(r"^(?:\s*>)+ ?")
# Lines that may appear between hunks of a git or plain diff.
_DIFF_HEADERS = (
    "diff ",
    "index ",
    "--- ",
    "+++ ",
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "similarity index ",
    "dissimilarity index ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
    "Binary files ",
    "Index: ",
    "====",
    "GIT binary patch",
)


@dataclass
class BodySplit:
    """Line ranges in a body: commit message is [0, message_end), diff is
    [diff_start, diff_end)."""

    message_end: int
    diff_start: int
    diff_end: int


def is_diff_start(lines: list[str], pos: int) -> bool:
    line = lines[pos]
    if line.startswith("diff --git "):
        return True
    ahead = lines[pos + 1 : pos + 4]
    if line.startswith(("diff -", "Index: ")):
        return any(a.startswith("--- ") for a in ahead)
    if line.startswith("--- ") and len(ahead) >= 2:
        return ahead[0].startswith("+++ ") and bool(_HUNK.match(ahead[1]))
    return False


def walk_diff(lines: list[str], start: int) -> tuple[int, bool]:
    """Follow a diff from `start`; return where diff content stops and whether every
    hunk had the lines its header promised."""
    old = new = 0
    binary = False
    pos = start
    total = len(lines)
    while pos < total:
        line = lines[pos]
        if old > 0 or new > 0:
            head = line[:1]
            if head == " " or line == "":
                old, new = old - 1, new - 1
            elif head == "-":
                old -= 1
            elif head == "+":
                new -= 1
            elif head != "\\":
                return pos, False
            if old < 0 or new < 0:
                return pos, False
            pos += 1
            continue
        if line.startswith("\\ "):
            pos += 1
            continue
        hunk = _HUNK.match(line)
        if hunk:
            old = int(hunk.group(2)) if hunk.group(2) is not None else 1
            new = int(hunk.group(4)) if hunk.group(4) is not None else 1
            binary = False
            pos += 1
            continue
        if line.startswith(_DIFF_HEADERS):
            binary = line.startswith("GIT binary patch") or (
                binary and not line.startswith("diff ")
            )
            pos += 1
            continue
        if binary and (line == "" or line.startswith(("literal ", "delta ")) or line[:1].isalpha()):
            pos += 1
            continue
        break
    return pos, True


def _tail_is_clean(lines: list[str], pos: int) -> bool:
    """Nothing but blank lines or a signature after `pos`."""
    for line in lines[pos:]:
        if line in ("-- ", "--"):
            return True
        if line.strip():
            return False
    return True


def _signature_at(lines: list[str], start: int) -> int:
    for pos in range(start, len(lines)):
        if lines[pos] in ("-- ", "--"):
            return pos
    return len(lines)


def split_body(lines: list[str]) -> BodySplit | None:
    """Locate the patch of a body, or None.

    A diff pasted into the commit message is not the patch: the patch is the first
    diff after the "---" separator, or, without one, the first diff that runs to the
    end of the mail (signature and blank lines aside).
    """
    starts = [
        pos for pos, line in enumerate(lines) if line[:1] in "dI-" and is_diff_start(lines, pos)
    ]
    if not starts:
        return None
    separator = next((pos for pos, line in enumerate(lines) if line.rstrip() == "---"), None)
    chosen: int | None = None
    if separator is not None:
        chosen = next((pos for pos in starts if pos > separator), None)
    if chosen is None:
        separator = None
        for pos in starts:
            end, complete = walk_diff(lines, pos)
            if complete and _tail_is_clean(lines, end):
                chosen = pos
                break
        if chosen is None:
            chosen = starts[0]
    end, complete = walk_diff(lines, chosen)
    if not complete:
        # keep the broken hunk for the patch parser to report, minus the signature
        end = _signature_at(lines, end)
    # Only truly empty trailing lines go: " " is a blank context line, and the patch
    # parser reads hunks by their counts, so trailing blank lines are harmless there.
    while end > chosen and lines[end - 1] == "" and not complete:
        end -= 1
    return BodySplit(separator if separator is not None else chosen, chosen, end)


def quoted_hunks(body: str) -> list[str]:
    """File and hunk headers a reply quotes, e.g. "kernel/freezer.c @@ -40,7"."""
    found: list[str] = []
    current: str | None = None
    file_has_hunk = True
    for line in body.split("\n"):
        if not line.lstrip().startswith(">"):
            continue
        text = _QUOTE_PREFIX.sub("", line, count=1)
        if text.startswith("+++ "):
            path = text[4:].split("\t")[0].strip()
            if path.startswith("b/"):
                path = path[2:]
            if current is not None and not file_has_hunk and current not in found:
                found.append(current)
            current, file_has_hunk = path, False
            continue
        hunk = _HUNK.match(text)
        if hunk and current is not None:
            entry = f"{current} @@ -{hunk.group(1)}"
            if hunk.group(2) is not None:
                entry += f",{hunk.group(2)}"
            if entry not in found:
                found.append(entry)
            file_has_hunk = True
    if current is not None and not file_has_hunk and current not in found:
        found.append(current)
    return found


def has_quoting(body: str) -> bool:
    return any(line.lstrip().startswith(">") for line in body.split("\n"))
