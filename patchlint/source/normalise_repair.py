"""The normaliser's repair pass: structural rules where the parse failed.

The first pass rewrites what the dialect's name lists know.  Kernel code has
far more macros than any list names, so after parsing, each file-scope
declaration that still holds an ERROR or MISSING node is handed to the
structural rules of ``normalise_shapes.py`` (and its conditional groups are
flattened); the tree is then updated incrementally, so only the edited
declarations are parsed again.  At most ``MAX_ROUNDS`` rounds run.

Because the rules only ever look inside declarations that did not parse, a
rule cannot damage code tree-sitter already understood: that is what lets
them recognise macros by shape (a call followed by ``{`` is a loop, a
``struct`` tag as an argument is a type argument) rather than by name.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import tree_sitter

from .language import parse_bytes
from .normalise_dialect import Dialect
from .normalise_preproc import Group, flatten_group
from .normalise_scan import Edit, Record, apply_edits
from .normalise_shapes import Region, Shapes

__all__ = ["MAX_ROUNDS", "Draft", "repair"]

# Reparses at most (each after a round of edits).
MAX_ROUNDS = 4
# Lines around an ERROR or MISSING node where the shape rules look for its cause.
WINDOW_BEFORE = 3
WINDOW_AFTER = 2
NODE_START_BEFORE = 8
MAX_WINDOWS_PER_NODE = 24
# The last round looks this far into an ERROR node (macro tables run to thousands of lines).
LONG_WINDOW_LINES = 200

# Containers whose children are still at file scope.
_TRANSPARENT = frozenset(
    {
        "translation_unit",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
    }
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# A function body as kernel style writes it: `{` alone at column 0 after the head's `)`.
_BODY_AFTER_HEAD = re.compile(rb"\)[ \t]*\n\{\n")
# Anything that may be a function: a body's `{` at column 0 after a `)`, or a head
# starting at column 0 with its `{` on the same line.
_FUNCTION_SHAPE = re.compile(rb"\)[ \t]*\n\{|\n[A-Za-z_][^\n;{}]*\)[ \t]*\{")


@dataclass
class Draft:
    """One normalisation in progress: the text, its rewrite so far and its mask."""

    text: str
    out: str
    masked: str
    records: list[Record]
    groups: list[Group]
    dialect: Dialect


class _Offsets:
    """Character <-> UTF-8 byte offsets of one text (identity for ASCII)."""

    def __init__(self, text: str) -> None:
        self.char_marks: list[int] = []
        self.byte_marks: list[int] = []
        self.extra: list[int] = []
        if text.isascii():
            return
        extra = 0
        for match in _NON_ASCII.finditer(text):
            run = match.group()
            extra += len(run.encode("utf-8", "surrogatepass")) - len(run)
            self.char_marks.append(match.end())
            self.byte_marks.append(match.end() + extra)
            self.extra.append(extra)

    def to_char(self, byte: int) -> int:
        index = bisect.bisect_right(self.byte_marks, byte)
        return byte - self.extra[index - 1] if index else byte

    def to_byte(self, char: int) -> int:
        index = bisect.bisect_right(self.char_marks, char)
        return char + self.extra[index - 1] if index else char


def _error_nodes(root: tree_sitter.Node, data: bytes) -> list[list[tree_sitter.Node]]:
    """File-scope nodes holding errors, each with its siblings (for context).

    Only nodes up to the last one that may be (part of) a function are repaired
    (see ``_holds_function``): an error there can make tree-sitter swallow the
    functions that follow, but a broken data table or struct definition after
    the last function affects none, and repairing kernel macro soup (trace event
    headers, test tables) would cost much and bring nothing.  When the root
    itself is an ERROR the file collapsed, and everything is repaired if the
    file has anything shaped like a function.
    """
    found: list[tuple[int, bool, list[tree_sitter.Node]]] = []
    # A collapsed file with no function shape at all (a header of table rows
    # included into an array, `sound/usb/quirks-table.h`) has nothing to win.
    collapsed = root.type == "ERROR" and _FUNCTION_SHAPE.search(data) is not None
    stack = [root]
    while stack:
        node = stack.pop()
        children = node.children
        for index, child in enumerate(children):
            if not child.has_error:
                continue
            if child.type in _TRANSPARENT:
                stack.append(child)
                continue
            lo = children[index - 1] if index else child
            hi = children[index + 1] if index + 1 < len(children) else child
            relevant = collapsed or _holds_function(children, index, data)
            found.append((child.start_byte, relevant, [child, lo, hi]))
    found.sort(key=lambda item: item[0])
    last = max((i for i, (_, relevant, _) in enumerate(found) if relevant), default=-1)
    return [nodes for _, _, nodes in found[: last + 1]]


def _holds_function(children: list[tree_sitter.Node], index: int, data: bytes) -> bool:
    """Whether the failing file-scope node ``children[index]`` may be (part of) a function:
    a definition, something holding a function body, or something at column 0 just
    before a definition or a body (a broken head, a macro missing its ``;``)."""
    child = children[index]
    if child.type == "function_definition":
        return True
    if _BODY_AFTER_HEAD.search(data, child.start_byte, child.end_byte) is not None:
        return True
    if child.type == "compound_statement":
        return _is_body(child, data)
    after = children[index + 1] if index + 1 < len(children) else None
    if after is None or not _at_column_0(child, data):
        return False
    return after.type == "function_definition" or (
        after.type == "compound_statement" and _is_body(after, data)
    )


def _at_column_0(node: tree_sitter.Node, data: bytes) -> bool:
    return node.start_byte == 0 or data[node.start_byte - 1 : node.start_byte] == b"\n"


def _is_body(node: tree_sitter.Node, data: bytes) -> bool:
    """A compound statement opening at column 0 right after a ``)``: kernel style
    for a function body."""
    if not _at_column_0(node, data):
        return False
    return data[max(node.start_byte - 200, 0) : node.start_byte].rstrip().endswith(b")")


def _error_spans(node: tree_sitter.Node) -> list[tuple[int, int]]:
    """Byte spans of the ERROR and MISSING nodes inside ``node``."""
    spans: list[tuple[int, int]] = []
    stack = [node]
    while stack and len(spans) < MAX_WINDOWS_PER_NODE:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            spans.append((current.start_byte, current.end_byte))
        elif current.has_error:
            stack.extend(reversed(current.children))
    return spans


def _window(
    text: str, start: int, end: int, cut: bool, before: int = WINDOW_BEFORE
) -> tuple[int, int, bool]:
    """From the newline WINDOW_BEFORE lines above ``start`` to WINDOW_AFTER below ``end``.

    With ``cut``, a long ERROR node is cut to its first lines: the parse
    usually went wrong where it starts.  A round that found nothing so is
    followed by one that looks further.
    """
    stop = start
    for _ in range(WINDOW_AFTER + 1 if cut else LONG_WINDOW_LINES):
        stop = text.find("\n", stop + 1)
        if stop < 0:
            break
    was_cut = 0 <= stop < end
    if was_cut:
        end = stop
    for _ in range(before + 1):
        start = text.rfind("\n", 0, start)
        if start <= 0:
            start = 0
            break
    for _ in range(WINDOW_AFTER + 1):
        found = text.find("\n", end + 1)
        if found < 0:
            end = len(text)
            break
        end = found
    return start, end, was_cut


def _regions(
    root: tree_sitter.Node, offsets: _Offsets, text: str, data: bytes, cut: bool
) -> tuple[list[Region], bool]:
    """The failing declarations, and whether any window was cut short."""
    length = len(text)
    regions: list[Region] = []
    any_cut = False
    for node, lo, hi in _error_nodes(root, data):
        windows = []
        # A declaration with more errors than this is not kernel dialect but a
        # table of macro soup; its first errors are looked at, the rest left.
        for a, b in _error_spans(node):
            start, end, was_cut = _window(text, offsets.to_char(a), offsets.to_char(b), cut)
            windows.append((start, end))
            any_cut = any_cut or was_cut
        # Where the node starts too, and the lines before it: an unknown macro in a
        # function head, or in the declaration before a table, or directives the
        # node follows, often break the parse far below.
        at = offsets.to_char(node.start_byte)
        windows.append(_window(text, at, at, cut=True, before=NODE_START_BEFORE)[:2])
        core = (offsets.to_char(node.start_byte), min(offsets.to_char(node.end_byte), length))
        wide = (offsets.to_char(lo.start_byte), min(offsets.to_char(hi.end_byte), length))
        regions.append(Region(core[0], core[1], wide[0], wide[1], tuple(windows)))
    regions.sort(key=lambda r: r.wide_start)
    merged: list[Region] = []
    for region in regions:
        if merged and region.wide_start <= merged[-1].wide_end:
            last = merged[-1]
            merged[-1] = Region(
                min(last.start, region.start),
                max(last.end, region.end),
                last.wide_start,
                max(last.wide_end, region.wide_end),
                last.windows + region.windows,
            )
        else:
            merged.append(region)
    return merged, any_cut


def _flatten_inside(draft: Draft, regions: list[Region], edits: list[Edit]) -> None:
    """Flatten the conditional groups lying inside a declaration that failed."""
    inside: list[Group] = []
    kept: list[Group] = []
    for group in draft.groups:
        start, end = group[0][1], group[-1][2]
        if any(r.start <= start and end <= r.end for r in regions):
            inside.append(group)
        else:
            kept.append(group)
    if not inside:
        return
    draft.groups = kept
    mb = bytearray(draft.masked.encode("ascii"))
    blanks: list[tuple[int, int]] = []
    for group in inside:
        flatten_group(mb, group, blanks, draft.records)
    edits.extend((start, end, None) for start, end in blanks)


_SHAPES: dict[tuple[object, ...], Shapes] = {}


def _shapes(dialect: Dialect) -> Shapes:
    key = dialect.key()
    shapes = _SHAPES.get(key)
    if shapes is None:
        if len(_SHAPES) > 8:
            _SHAPES.clear()
        shapes = _SHAPES[key] = Shapes(dialect)
    return shapes


def repair(draft: Draft, tree: tree_sitter.Tree) -> tree_sitter.Tree:
    """Apply the structural rules where ``tree`` has errors; return the new tree.

    ``draft`` is updated in place (text, mask, records).
    """
    shapes = _shapes(draft.dialect)
    for _ in range(MAX_ROUNDS):
        offsets = _Offsets(draft.out)
        data = draft.out.encode("utf-8", "surrogatepass")
        before = draft.out
        applied: list[Edit] = []
        # Near where each error starts first; where that finds nothing, further.
        for cut in (True, False):
            regions, any_cut = _regions(tree.root_node, offsets, draft.out, data, cut)
            if not regions:
                break
            applied = _repair_round(draft, regions, shapes)
            if applied or not any_cut:
                break
        if not applied:
            break
        applied.sort(key=lambda e: e[0])
        _tell_tree(tree, before, offsets, applied)
        tree = parse_bytes(draft.out.encode("utf-8", "surrogatepass"), tree)
        if not tree.root_node.has_error:
            break
    return tree


def _repair_round(draft: Draft, regions: list[Region], shapes: Shapes) -> list[Edit]:
    """Flatten and rewrite in ``regions``; update ``draft``; return the applied edits."""
    # Flattening first: the shape rules then see the branch that stays.
    flattened: list[Edit] = []
    _flatten_inside(draft, regions, flattened)
    out, masked, applied = apply_edits(draft.out, draft.masked, flattened)
    edits: list[Edit] = []
    shapes.apply(draft.text, out, masked, regions, edits, draft.records)
    out, masked, more = apply_edits(out, masked, edits)
    draft.out, draft.masked = out, masked
    return applied + more


def _tell_tree(tree: tree_sitter.Tree, text: str, offsets: _Offsets, edits: list[Edit]) -> None:
    """Report same-length edits to tree-sitter so the reparse is incremental."""
    row = 0
    counted = 0
    for start, end, _ in edits:
        row += text.count("\n", counted, start)
        counted = start
        line_start = text.rfind("\n", 0, start) + 1
        start_byte, end_byte = offsets.to_byte(start), offsets.to_byte(end)
        column = start_byte - offsets.to_byte(line_start)
        end_row = row + text.count("\n", start, end)
        end_line_start = text.rfind("\n", 0, end) + 1
        end_column = end_byte - offsets.to_byte(end_line_start)
        tree.edit(
            start_byte=start_byte,
            old_end_byte=end_byte,
            new_end_byte=end_byte,
            start_point=(row, column),
            old_end_point=(end_row, end_column),
            new_end_point=(end_row, end_column),
        )
