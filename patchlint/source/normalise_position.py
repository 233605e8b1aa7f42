"""Where a position of the masked text lies: in a struct or union's member list, in
an initialiser list, in a statement; matching braces.  Shared by the repair pass's
shape rules (``normalise_shapes``)."""

from __future__ import annotations

import re

from .normalise_arguments import innermost_open
from .normalise_scan import prev_char

_TOP_LEVEL_MARKS = re.compile(r"[()\[\]{};]")
_STATEMENT_START = re.compile(
    r"[ \t\n]*(?:if|for|while|do|switch|return|break|continue|goto)(?!\w)"
)


def is_statement(masked: str, a: int, b: int) -> bool:
    """An argument holding a statement: a top-level `;` or a leading statement keyword."""
    if _STATEMENT_START.match(masked, a, b):
        return True
    depth = 0
    for mark in _TOP_LEVEL_MARKS.finditer(masked, a, b):
        ch = mark.group()
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            return True
    return False


def matching_brace(masked: str, close: int, limit: int = 40000) -> int:
    """Index of the ``{`` matching the ``}`` at ``close``, or -1."""
    depth = 0
    for index in range(close, max(-1, close - limit), -1):
        ch = masked[index]
        if ch == "}":
            depth += 1
        elif ch == "{":
            depth -= 1
            if depth == 0:
                return index
    return -1


_STRUCT_BODY_START = re.compile(r"(?:struct|union)(?:[ \t\n]+[A-Za-z_]\w*)?[ \t\n]*$")


def in_struct_body(masked: str, pos: int) -> bool:
    """Whether ``pos`` lies directly inside the member list of a struct or union."""
    opener = innermost_open(masked, pos)
    if opener < 0 or masked[opener] != "{":
        return False
    before = masked[max(opener - 120, 0) : opener]
    return _STRUCT_BODY_START.search(before) is not None


def in_initialiser(masked: str, pos: int, limit: int = 3000) -> bool:
    """Whether ``pos`` lies directly inside the braces of an initialiser list (whose
    ``{`` is at most ``limit`` characters back)."""
    opener = innermost_open(masked, pos, limit=limit)
    if opener < 0 or masked[opener] != "{":
        return False
    before = prev_char(masked, opener)
    return before >= 0 and masked[before] in "=,{"


def merge_spans(spans: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
