"""Flattening of preprocessor conditionals that tree-sitter-c cannot parse.

tree-sitter-c accepts ``#if`` groups whose branches are whole declarations or
statements.  Kernel code also splits braces, parentheses, ``else`` arms and
function headers across branches; those groups are flattened: the directive
lines are blanked, the first live branch is kept and the others are blanked.
Groups of list elements (after a ``{`` or ``,``, each branch ending in a
comma) are flattened too: tree-sitter-c takes no directive inside an
initialiser list.  Groups that parse already are left alone so code in
``#else`` arms (often stub functions) stays visible to the function index.  The groups left alone
are returned: the repair pass flattens those that lie inside a declaration
that still fails to parse (an ``#ifdef`` inside an initialiser list, after a
label, ...), where keeping both arms cannot be right anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .normalise_scan import Record

__all__ = ["NO_ARM", "Directive", "Group", "flatten_conditionals", "flatten_group"]

# Directive spans are (name, start, end, condition) with offsets into the text.
Directive = tuple[str, int, int, str]
# One #if ... #endif group: its directives in order.
Group = list[Directive]

NO_ARM = -1
_OPENERS = frozenset({"if", "ifdef", "ifndef"})
_MIDDLES = frozenset({"elif", "else", "elifdef", "elifndef"})
# A branch that ends in one of these bytes is a complete statement/declaration
# (or an initialiser element, which flattening could not improve anyway).
_GOOD_LAST = frozenset(b";}{,:")
_BLANK_TABLE = bytes(b if b == 0x0A else 0x20 for b in range(256))
# A goto label needs a statement after it; a branch ending in one cannot stand alone.
_LABEL_AT_END = re.compile(rb"(?:^|[;{}\n])[ \t]*([A-Za-z_]\w*)[ \t]*:\Z")


def _needs_flattening(mb: bytearray, branches: list[tuple[int, int]]) -> bool:
    for start, end in branches:
        if _unbalanced(mb, start, end, b"{", b"}") or _unbalanced(mb, start, end, b"(", b")"):
            return True
        body = mb[start:end].strip()
        if not body:
            continue
        if body[-1] not in _GOOD_LAST:
            return True
        if body[-1] == 0x3A and _ends_with_label(body):
            return True
        if body.startswith(b"else") and (len(body) == 4 or not _is_word(body[4])):
            return True
        if body[0] in b"|&?:+-.=<>!/%^":
            return True
    return False


def _unbalanced(mb: bytearray, start: int, end: int, opener: bytes, closer: bytes) -> bool:
    """Counts differ, or the branch closes before it opens (``} else {``)."""
    closes = mb.count(closer, start, end)
    if mb.count(opener, start, end) != closes:
        return True
    if not closes:
        return False
    first_open = mb.find(opener, start, end)
    return first_open < 0 or mb.find(closer, start, end) < first_open


def _list_elements(mb: bytearray, start: int, branches: list[tuple[int, int]]) -> bool:
    """A group of list elements after a ``{`` or ``,``: tree-sitter-c takes no
    directive inside an initialiser list."""
    before = mb[max(start - 200, 0) : start].rstrip()
    if not before or before[-1] not in b",{":
        return False
    bodies = [mb[a:b].strip() for a, b in branches]
    return any(bodies) and all(body.endswith(b",") for body in bodies if body)


def _ends_with_label(body: bytes | bytearray) -> bool:
    match = _LABEL_AT_END.search(body)
    return match is not None and match.group(1) not in (b"default", b"case")


def _is_word(byte: int) -> bool:
    return byte == 0x5F or 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def flatten_conditionals(
    mb: bytearray, directives: Iterable[Directive], decided: Mapping[int, int] | None = None
) -> tuple[list[tuple[int, int]], list[Record], list[Group]]:
    """Decide which conditional groups to flatten.

    ``mb`` is the masked text (comments, strings and directive lines already
    blank) as ASCII bytes whose indices equal character offsets; it is blanked
    in place for every flattened region so enclosing groups see the result.
    Returns the regions to blank, construct records ``(kind, name, args,
    start, end)`` and the complete groups left alone.  ``decided`` maps the
    opening offset of a group the file itself decides to the arm compiled (-1:
    none, -2: the group lies in a dead arm, which is blanked whole).
    """
    blanks: list[tuple[int, int]] = []
    records: list[Record] = []
    kept: list[Group] = []
    stack: list[Group] = []
    for directive in directives:
        name = directive[0]
        if name in _OPENERS:
            stack.append([directive])
        elif name in _MIDDLES:
            if stack:
                stack[-1].append(directive)
        elif name == "endif" and stack:
            group = stack.pop()
            group.append(directive)
            live = decided.get(group[0][1]) if decided else None
            if live is not None:
                _decided_group(mb, group, live, blanks, records)
                continue
            branches = _branches(group)
            if _needs_flattening(mb, branches) or _list_elements(mb, group[0][1], branches):
                flatten_group(mb, group, blanks, records)
            else:
                kept.append(group)
    return blanks, records, kept


def _decided_group(
    mb: bytearray,
    group: Group,
    live: int,
    blanks: list[tuple[int, int]],
    records: list[Record],
) -> None:
    """Blank the arms of a group the file decides (normalise_decide.py) that are never
    compiled.  Where no arm is, the group parses as it is and follows a ``)``, its
    directive lines stay: an empty ``#if 0`` group still ends ``static
    DEF_SCSI_QCMD(blogic_qcmd)``, which has no ``;``.  Otherwise the group is
    flattened to the compiled arm (an ``#elif`` left empty, or an empty group after a
    label, does not parse: fealnx.c, btrfs/extent-tree.c)."""
    if live < NO_ARM:
        return  # in a dead arm of an enclosing group, blanked with it
    branches = _branches(group)
    records.extend(
        ("dead_code", "#" + group[index][0], (group[index][3].strip(),), start, end)
        for index, (start, end) in enumerate(branches)
        if index != live and end > start
    )
    before = mb[max(group[0][1] - 200, 0) : group[0][1]].rstrip()
    if live != NO_ARM or not before.endswith(b")") or _needs_flattening(mb, branches):
        flatten_group(mb, group, blanks, records, keep=live)
        return
    for index, (start, end) in enumerate(branches):
        if index != live and end > start:
            blanks.append((start, end))
            mb[start:end] = mb[start:end].translate(_BLANK_TABLE)


def _branches(group: Group) -> list[tuple[int, int]]:
    return [(group[i][2], group[i + 1][1]) for i in range(len(group) - 1)]


def flatten_group(
    mb: bytearray,
    group: Group,
    blanks: list[tuple[int, int]],
    records: list[Record],
    keep: int | None = None,
) -> None:
    """Blank the directives and every branch but ``keep`` (by default the first
    live one; -1: none)."""
    if keep is None:
        keep = 0
        if group[0][0] == "if" and group[0][3].strip() == "0":
            keep = 1 if len(group) > 2 else -1
    for _, start, end, _ in group:
        blanks.append((start, end))
    for index, (start, end) in enumerate(_branches(group)):
        if index != keep and end > start:
            blanks.append((start, end))
            mb[start:end] = mb[start:end].translate(_BLANK_TABLE)
    records.append(
        ("preprocessor", "#" + group[0][0], (group[0][3].strip(),), group[0][1], group[-1][2])
    )
