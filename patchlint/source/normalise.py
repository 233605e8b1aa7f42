"""Position-preserving normalisation of kernel C for tree-sitter-c.

``normalise(text)`` returns text of exactly the same length (in characters and
in UTF-8 bytes) with every newline at the same offset, in which kernel-only
constructs are rewritten into plain C of identical length:

* iterator macros ``for_each_thread(p, t) {`` become ``for(;;        p, t) {``;
* ``scoped_guard(rcu) {`` becomes a ``for`` head the same way;
* ``do_each_thread(g, t) {...} while_each_thread(g, t);`` becomes ``do {...} while (g, t);``;
* attribute and annotation macros (``__init``, ``__must_hold(&l)``) become spaces;
* ``SYSCALL_DEFINE3(name, int, a, ...)`` becomes ``long name(int  a, ...)``;
* ``DEFINE_PER_CPU(type, name)`` becomes ``type name``;
* ``#if`` groups that split braces or statements are flattened to one branch.

That first pass is driven by the name lists of ``rules/kernel/dialect.toml``.
The text is then parsed; where the parse fails, a repair pass
(``normalise_repair.py``) applies structural rules to the failing declarations
only (type arguments, unknown loop and statement macros, unknown attribute
macros in function heads, macros inside string concatenations and inline asm,
conditionals inside initialisers) and the tree is updated incrementally.

Only ASCII characters outside comments and string literals are ever replaced
(save comments inside multi-line ``#define`` bodies, which tree-sitter-c cannot
lex), and only by ASCII, which is what keeps character and byte offsets aligned.
Every rewrite is recorded in ``Normalised.constructs`` with the original
argument texts so later stages still see the kernel construct.

Speed matters (the whole front end must stay within 70% of raw tree-sitter
throughput), so scanning uses a handful of compiled regexes whose literal
prefixes let ``re`` skip most of the text in C; Python only runs per match,
and the structural rules only run on the declarations that failed to parse.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import patchlint.knowledge as _knowledge

from .normalise_decide import decide_conditionals
from .normalise_dialect import Dialect, FunctionMacro, read_foreach_macros
from .normalise_mask import SIMPLE_RUN, mask
from .normalise_position import in_initialiser
from .normalise_preproc import Directive, Group, flatten_conditionals
from .normalise_rewrite import Rewriter
from .normalise_scan import BraceDepth, Edit, Record, apply_edits

if TYPE_CHECKING:
    import tree_sitter

    from .normalise_repair import Draft

__all__ = [
    "Construct",
    "Dialect",
    "FunctionMacro",
    "Normalised",
    "normalise",
    "normalise_and_parse",
    "read_foreach_macros",
]


@dataclass(frozen=True)
class Construct:
    """One kernel construct the normaliser rewrote (or recognised).

    ``start``/``end`` are UTF-8 byte offsets into the original text, the
    convention tree-sitter uses, so ``node.start_byte`` compares directly.
    Kinds: iterator, scoped_guard, guard, annotation, attribute, definition,
    type_arg, type_macro, statement_macro, string_macro, inline_asm,
    case_range, preprocessor, dead_code (an arm of a conditional the file itself
    decides is never compiled: ``normalise_decide.py``; it is blank in the text).
    """

    kind: str
    name: str
    args: tuple[str, ...]
    start: int
    end: int
    line: int


@dataclass
class Normalised:
    text: str
    constructs: list[Construct] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.constructs.sort(key=lambda c: (c.start, -c.end))
        self._starts = [c.start for c in self.constructs]

    def construct_at(self, offset: int) -> Construct | None:
        """The innermost construct whose span contains byte ``offset``."""
        best: Construct | None = None
        index = bisect.bisect_right(self._starts, offset)
        # Spans nest only shallowly, so a short backwards walk finds the innermost.
        for construct in reversed(self.constructs[max(0, index - 64) : index]):
            if construct.start <= offset < construct.end:
                if best is None or construct.end - construct.start < best.end - best.start:
                    best = construct
        return best

    def constructs_between(self, start: int, end: int) -> list[Construct]:
        """Constructs lying inside the byte span ``[start, end)``."""
        first = bisect.bisect_left(self._starts, start)
        last = bisect.bisect_left(self._starts, end)
        return [c for c in self.constructs[first:last] if c.end <= end]


_REWRITERS: dict[tuple[object, ...], Rewriter] = {}


def _rewriter(dialect: Dialect) -> Rewriter:
    key = dialect.key()
    rewriter = _REWRITERS.get(key)
    if rewriter is None:
        if len(_REWRITERS) > 8:
            _REWRITERS.clear()
        rewriter = _REWRITERS[key] = Rewriter(dialect)
    return rewriter


@functools.cache
def _default_dialect() -> Dialect:
    return Dialect.load()


def _first_pass(text: str, dialect: Dialect) -> Draft:
    # tree-sitter loads only when C is parsed (a run touching no C never loads it).
    from .normalise_repair import Draft

    masked, directives = mask(text)
    records: list[Record] = []
    blanks: list[tuple[int, int]] = []
    groups: list[Group] = []
    if any(name != SIMPLE_RUN for name, _, _, _ in directives):
        mb = bytearray(masked.encode("ascii"))
        decided = decide_conditionals(text, directives)
        blanks, records, groups = flatten_conditionals(mb, directives, decided)
        if blanks:
            masked = mb.decode("ascii")
    edits = _rewriter(dialect).rewrite(text, masked, records)
    edits.extend((start, end, None) for start, end in blanks)
    in_tables = _defines_in_initialisers(text, masked, directives, records)
    edits.extend(in_tables)
    blanked = {start for start, _, _ in in_tables}
    kept = [directive for directive in directives if directive[1] not in blanked]
    edits.extend(_continued_define_comments(text, kept))
    out, out_mask, _ = apply_edits(text, masked, edits)
    return Draft(text, out, out_mask, records, groups, dialect)


_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _continued_define_comments(text: str, directives: list[Directive]) -> list[Edit]:
    """Blank the comments of ``#define`` bodies continued over several lines.

    tree-sitter-c ends a macro body at a comment followed by a line continuation
    (``\t/* Immediate based. */ \\``) and then reads the rest of the body as code,
    which can wreck the parse of the whole file; nothing reads comments there.
    """
    edits: list[Edit] = []
    for name, start, end, _ in directives:
        if name != "define" or "\n" not in text[start:end] or "/*" not in text[start:end]:
            continue
        for match in _BLOCK_COMMENT.finditer(text, start, end):
            comment = match.group()
            if "\n" not in comment and comment.isascii():
                edits.append((match.start(), match.end(), " " * len(comment)))
    return edits


def _defines_in_initialisers(
    text: str, masked: str, directives: list[Directive], records: list[Record]
) -> list[Edit]:
    """Blank ``#define``/``#undef`` lines inside an initialiser list.

    Tables of test cases define their row macros between the rows
    (``lib/test_bpf.c``); tree-sitter-c takes directives only between declarations,
    statements or members, so one such line turns the rest of the table, and the
    functions after it, into an error.  Only the preprocessor reads them.
    """
    edits: list[Edit] = []
    depth = BraceDepth(masked)
    for name, start, end, _ in directives:
        if name not in _DEFINING or depth.at(start) <= 0:
            continue
        if not in_initialiser(masked, start, limit=_TABLE_REACH):
            continue
        edits.append((start, end, None))
        word = _DIRECTIVE_WORD.match(text, start, end)
        records.append(("preprocessor", "#" + (word.group(1) if word else name), (), start, end))
    return edits


_DEFINING = frozenset({"define", "undef", SIMPLE_RUN})
# How far back a table's `{` may be (lib/test_bpf.c's rows run to 500 kB).
_TABLE_REACH = 1_000_000
_DIRECTIVE_WORD = re.compile(r"[ \t]*#[ \t]*(\w+)")


def normalise_and_parse(
    text: str, dialect: Dialect | None = None, previous: Reparse | None = None
) -> tuple[Normalised, tree_sitter.Tree]:
    """Normalise ``text`` and parse it; never raises on odd input.

    The tree is the parse of ``Normalised.text`` encoded as UTF-8. ``previous``: the
    normalised bytes of another version of the file and their plain parse (the
    pre-image of a patch): the parse of this one reuses its unchanged subtrees.
    """
    normalised, tree, _plain = normalise_and_parse_plain(text, dialect, previous)
    return normalised, tree


def normalise_and_parse_plain(
    text: str, dialect: Dialect | None = None, previous: Reparse | None = None
) -> tuple[Normalised, tree_sitter.Tree, Reparse | None]:
    """As ``normalise_and_parse``, and the plain parse when no repair was needed (what
    a later version of the file may be parsed from)."""
    from .language import parse_bytes
    from .normalise_repair import repair

    if dialect is None:
        dialect = _default_dialect()
    draft = _first_pass(text, dialect)
    data = draft.out.encode("utf-8", "surrogatepass")
    tree = _reparse(previous, data) if previous is not None else None
    if tree is None or tree.root_node.has_error:
        # Where the parse needs repairs, they start from the plain parse, as always.
        tree = parse_bytes(data)
    plain = None
    if tree.root_node.has_error:
        tree = repair(draft, tree)
    else:
        plain = Reparse(data, tree)
    return Normalised(draft.out, _constructs(text, draft.records)), tree, plain


@dataclass(frozen=True)
class Reparse:
    """Normalised bytes and their tree as tree-sitter produced it, unrepaired."""

    data: bytes
    tree: tree_sitter.Tree


def _reparse(previous: Reparse, data: bytes) -> tree_sitter.Tree | None:
    """Parse ``data`` incrementally from ``previous``: one edit spanning everything
    between their common prefix and common suffix."""
    from .language import parse_bytes

    old = previous.data
    if old == data:
        return previous.tree.copy()
    prefix = _common_prefix(old, data)
    suffix = _common_suffix(old, data, prefix)
    old_end, new_end = len(old) - suffix, len(data) - suffix
    tree = previous.tree.copy()
    tree.edit(
        start_byte=prefix,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old, prefix),
        old_end_point=_point(old, old_end),
        new_end_point=_point(data, new_end),
    )
    return parse_bytes(data, tree)


def _common_prefix(a: bytes, b: bytes) -> int:
    low, high = 0, min(len(a), len(b))
    view_a, view_b = memoryview(a), memoryview(b)
    while low < high:
        middle = (low + high + 1) // 2
        if view_a[low:middle] == view_b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, prefix: int) -> int:
    low, high = 0, min(len(a), len(b)) - prefix
    view_a, view_b = memoryview(a), memoryview(b)
    while low < high:
        middle = (low + high + 1) // 2
        if view_a[len(a) - middle : len(a) - low] == view_b[len(b) - middle : len(b) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


def normalise(text: str, dialect: Dialect | None = None) -> Normalised:
    """Rewrite kernel C into same-length plain C; never raises on odd input."""
    return normalise_and_parse(text, dialect)[0]


def _constructs(text: str, records: list[Record]) -> list[Construct]:
    """Side-table entries with character offsets converted to UTF-8 byte offsets."""
    records.sort(key=lambda r: r[3])
    ascii_text = text.isascii()
    constructs: list[Construct] = []
    line = 1
    pos = 0
    byte_pos = 0
    for kind, name, args, start, end in records:
        line += text.count("\n", pos, start)
        if ascii_text:
            byte_start, byte_end = start, end
        else:
            byte_pos += len(text[pos:start].encode("utf-8", "surrogatepass"))
            byte_start = byte_pos
            byte_end = byte_start + len(text[start:end].encode("utf-8", "surrogatepass"))
        pos = start
        constructs.append(Construct(kind, name, args, byte_start, byte_end, line))
    return constructs


# User configuration may extend the knowledge data; drop what was derived from it.
_knowledge.on_change(_default_dialect.cache_clear)
