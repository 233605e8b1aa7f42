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
* type arguments (``container_of(p, struct foo, m)``) become same-length identifiers;
* ``#if`` groups that split braces or statements are flattened to one branch.

Only ASCII characters outside comments and string literals are ever replaced,
and only by ASCII, which is what keeps character and byte offsets aligned.
Every rewrite is recorded in ``Normalised.constructs`` with the original
argument texts so later stages still see the kernel construct.

Speed matters (the whole front end must stay within 70% of raw tree-sitter
throughput), so scanning uses a handful of compiled regexes whose literal
prefixes let ``re`` skip most of the text in C; Python only runs per match.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field

import patchlint.knowledge as _knowledge

from .normalise_dialect import Dialect, FunctionMacro, read_foreach_macros
from .normalise_preproc import Directive, flatten_conditionals
from .normalise_rewrite import Rewriter, blank

__all__ = [
    "Construct",
    "Dialect",
    "FunctionMacro",
    "Normalised",
    "normalise",
    "read_foreach_macros",
]


@dataclass(frozen=True)
class Construct:
    """One kernel construct the normaliser rewrote (or recognised).

    ``start``/``end`` are UTF-8 byte offsets into the original text, the
    convention tree-sitter uses, so ``node.start_byte`` compares directly.
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


# Comments, string and character literals, and preprocessor directive lines
# (with continuations).  The leading "\n" of the directive branch keeps a
# literal first character so `re` can skip ahead quickly; the text is scanned
# with a "\n" prepended for that reason.
_COMMENT = r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/\*.*|//[^\n]*"
# No named groups at the top level: `re` then sees the branches' first
# characters and skips ahead in C, which makes this scan several times faster.
_TOKEN = re.compile(
    r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/\*.*|//[^\n]*"
    r"|\"(?:[^\"\\\n]+|\\.)*\"?|'(?:[^'\\\n]+|\\.)*'?"
    r"|\n[ \t]*\#[ \t]*(\w*)((?:[^\n/\\]+|\\\r?\n|"
    r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|//[^\n]*|/|\\)*)",
    re.S,
)
_DIRECTIVE_COMMENT = re.compile(r"/\*.*?(?:\*/|$)|//.*", re.S)


def _blank_code(segment: str) -> str:
    """Blank code but keep comments verbatim (they may hold non-ASCII text)."""
    if "/" not in segment:
        return blank(segment)
    pieces: list[str] = []
    pos = 0
    for match in _DIRECTIVE_COMMENT.finditer(segment):
        pieces.append(blank(segment[pos : match.start()]))
        pieces.append(match.group())
        pos = match.end()
    pieces.append(blank(segment[pos:]))
    return "".join(pieces)


def _mask(text: str) -> tuple[str, list[Directive]]:
    """Text with comments, literals and directive lines blanked, plus the directives.

    The mask is pure ASCII with one character per original character, so it
    can be turned into bytes whose indices are character offsets.
    """
    pieces: list[str] = []
    directives: list[Directive] = []
    pos = 0
    for match in _TOKEN.finditer("\n" + text):
        # Offsets are shifted by the prepended "\n"; a directive match starts
        # at the newline before it, which itself stays in the text.
        start, end = match.span()
        directive = match.group(1)
        start += -1 if directive is None else 0
        end -= 1
        pieces.append(text[pos:start])
        pieces.append(blank(text[start:end]))
        pos = end
        if directive is not None:
            directives.append((directive, start, end, match.group(2)))
    pieces.append(text[pos:])
    masked = "".join(pieces)
    if not masked.isascii():
        masked = masked.encode("ascii", "replace").decode("ascii")
    return masked, directives


_REWRITERS: dict[tuple, Rewriter] = {}


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


def normalise(text: str, dialect: Dialect | None = None) -> Normalised:
    """Rewrite kernel C into same-length plain C; never raises on odd input."""
    if dialect is None:
        dialect = _default_dialect()
    rewriter = _rewriter(dialect)
    masked, directives = _mask(text)
    records: list[tuple[str, str, tuple[str, ...], int, int]] = []
    blanks: list[tuple[int, int]] = []
    if directives:
        mb = bytearray(masked.encode("ascii"))
        blanks, records = flatten_conditionals(mb, directives)
        if blanks:
            masked = mb.decode("ascii")
    edits = rewriter.rewrite(text, masked, records)
    for start, end in blanks:
        edits.append((start, end, None))
    out = _apply(text, edits)
    return Normalised(out, _constructs(text, records))


def _apply(text: str, edits: list[tuple[int, int, str | None]]) -> str:
    if not edits:
        return text
    edits.sort(key=lambda e: (e[0], -e[1]))
    pieces: list[str] = []
    pos = 0
    for start, end, replacement in edits:
        if start < pos:
            # Overlaps an earlier edit (e.g. a blanked branch containing a
            # directive); the part past the earlier edit still needs blanking.
            if replacement is None and end > pos:
                pieces.append(_blank_code(text[pos:end]))
                pos = end
            continue
        segment = text[start:end]
        if replacement is not None and ("\n" in segment or not segment.isascii()):
            # A malformed invocation can make a handler's span cross a line
            # or a non-ASCII character; the position guarantee wins.
            continue
        pieces.append(text[pos:start])
        pieces.append(_blank_code(segment) if replacement is None else replacement)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def _constructs(
    text: str, records: list[tuple[str, str, tuple[str, ...], int, int]]
) -> list[Construct]:
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
