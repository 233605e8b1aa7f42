"""Flattening of preprocessor conditionals that tree-sitter-c cannot parse.

tree-sitter-c accepts ``#if`` groups whose branches are whole declarations or
statements.  Kernel code also splits braces, parentheses, ``else`` arms and
function headers across branches; those groups are flattened: the directive
lines are blanked, the first live branch is kept and the others are blanked.
Groups that parse already are left alone so code in ``#else`` arms (often
stub functions) stays visible to the function index.
"""

from __future__ import annotations

from collections.abc import Iterable

# Directive spans are (name, start, end, condition) with offsets into the text.
Directive = tuple[str, int, int, str]

_OPENERS = frozenset({"if", "ifdef", "ifndef"})
_MIDDLES = frozenset({"elif", "else", "elifdef", "elifndef"})
# A branch that ends in one of these bytes is a complete statement/declaration
# (or an initialiser element, which flattening could not improve anyway).
_GOOD_LAST = frozenset(b";}{,:")
_BLANK_TABLE = bytes(b if b == 0x0A else 0x20 for b in range(256))


def _needs_flattening(mb: bytearray, branches: list[tuple[int, int]]) -> bool:
    for start, end in branches:
        if mb.count(b"{", start, end) != mb.count(b"}", start, end):
            return True
        if mb.count(b"(", start, end) != mb.count(b")", start, end):
            return True
        body = mb[start:end].strip()
        if not body:
            continue
        if body[-1] not in _GOOD_LAST:
            return True
        if body.startswith(b"else") and (len(body) == 4 or not _is_word(body[4])):
            return True
        if body[0] in b"|&?:+-.=<>!/%^":
            return True
    return False


def _is_word(byte: int) -> bool:
    return byte == 0x5F or 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def flatten_conditionals(
    mb: bytearray, directives: Iterable[Directive]
) -> tuple[list[tuple[int, int]], list[tuple[str, str, tuple[str, ...], int, int]]]:
    """Decide which conditional groups to flatten.

    ``mb`` is the masked text (comments, strings and directive lines already
    blank) as ASCII bytes whose indices equal character offsets; it is blanked
    in place for every flattened region so enclosing groups see the result.
    Returns the regions to blank and construct records
    ``(kind, name, args, start, end)``.
    """
    blanks: list[tuple[int, int]] = []
    records: list[tuple[str, str, tuple[str, ...], int, int]] = []
    stack: list[list[Directive]] = []
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
            _process_group(mb, group, blanks, records)
    return blanks, records


def _process_group(
    mb: bytearray,
    group: list[Directive],
    blanks: list[tuple[int, int]],
    records: list[tuple[str, str, tuple[str, ...], int, int]],
) -> None:
    branches = [(group[i][2], group[i + 1][1]) for i in range(len(group) - 1)]
    if not _needs_flattening(mb, branches):
        return
    keep = 0
    if group[0][0] == "if" and group[0][3].strip() == "0":
        keep = 1 if len(branches) > 1 else -1
    for _, start, end, _ in group:
        blanks.append((start, end))
    for index, (start, end) in enumerate(branches):
        if index != keep and end > start:
            blanks.append((start, end))
            mb[start:end] = mb[start:end].translate(_BLANK_TABLE)
    records.append(
        ("preprocessor", "#" + group[0][0], (group[0][3].strip(),), group[0][1], group[-1][2])
    )
