"""Structural rules of the repair pass: kernel macros recognised by their shape.

They run only inside file-scope declarations that failed to parse (see
``normalise_repair.py``), on the text as the first pass left it.  Each rule
emits same-length edits and a side-table record; a rule's edits for one
construct are taken all or none, and never overlap another rule's.

* ``inline_asm``: macros in an asm template, operand or clobber list
  (``asm volatile(KVM_HYPERCALL : ...)``, ``ASM_CALL_CONSTRAINT``) become
  ``""`` strings or ``""(0)`` operands.
* ``string_macro``: a macro call or a second macro next to a string literal
  (``"@" __stringify(__LINE__) ": "``, ``KERN_ERR PFX "text"``).
* ``type_arg``: a type as a call argument (``btrfs_item_ptr(l, s, struct
  btrfs_inode_item)``, ``PVOP_CALL0(unsigned long, ...)``, ``foo(u8 *, ...)``)
  becomes a same-length identifier; ``[type_args]`` of the dialect names macros
  whose listed positions are converted whatever their shape.
* ``type_macro``: ``typeof(expr) v`` and ``MACRO(args) v;`` declarations.
* statement position: ``NAME(args) {`` is a loop (``iterator``), ``NAME(args)``
  followed by a deeper-indented statement too; at the same indentation it is a
  statement macro missing its ``;`` (``statement_macro``, kept as ``{ }``);
  ``NAME(a, b, stmt; stmt;);`` becomes a block; at file scope a macro
  invocation without ``;`` is blanked (``definition``).
* function heads: more type names than C allows (``STATIC int f(``,
  ``static ieee80211_rx_result debug_noinline f(``) means attribute macros;
  the most macro-looking words are blanked (``attribute``).
* empty macro arguments (``f(a, b,)``) and pasted tokens that start with a
  digit (``ES_REG(e, 1371_SMPRATE)``).

The rules on arguments and expressions live in ``normalise_arguments.py`` (and
``normalise_asm.py``); this module holds the driver and the statement and
declaration rules.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .normalise_arguments import (
    COMPUTED_GOTO,
    DESIGNATOR_ARG,
    DIGIT_TOKEN,
    EMPTY_ARG,
    KEYWORD_CALL,
    LIST_MACRO,
    NUMBER,
    OPERATOR_ARG,
    STRING_NEIGHBOUR,
    TYPE_ARG,
    TYPEOF,
    UNIT,
    ArgumentRules,
    innermost_open,
    keyword_start,
)
from .normalise_asm import ASM_KEYWORD
from .normalise_dialect import Dialect
from .normalise_position import (
    in_initialiser,
    in_struct_body,
    is_statement,
    matching_brace,
    merge_spans,
)
from .normalise_rewrite import iterator_edits
from .normalise_scan import (
    C_WORDS,
    IDENT,
    KEYWORD_CALLS,
    PRIMITIVES,
    QUALIFIERS,
    STATEMENT_KEYWORDS,
    TAGS,
    BraceDepth,
    Edit,
    Record,
    arg_texts,
    call_after,
    close_paren,
    identifier_for,
    indent_width,
    is_word_char,
    next_char,
    split_args,
    statement_position,
    trie,
    word_before,
)

__all__ = ["Region", "Shapes"]


@dataclass(frozen=True)
class Region:
    """A declaration that failed to parse (``start``/``end``) and its neighbours."""

    start: int
    end: int
    wide_start: int
    wide_end: int
    # Spans around the ERROR and MISSING nodes, each starting at a newline.
    windows: tuple[tuple[int, int], ...] = ()


# A statement line that starts with a call and does not end with `;`, or is
# followed by a word on the same line, or has a statement as an argument.
_STATEMENT_LINE = re.compile(
    r"\n([ \t]*)([A-Za-z_]\w*)[ \t]*(\()(?:[^\n]*+(?<!;)(?=\n)|[^\n]*\)[ \t]+(?=[A-Za-z_])"
    r"|[^\n]*?[(,][ \t]*(?:return|break|continue|goto)(?!\w)|[^\n]*?;[ \t]*\))"
)
_HEAD = re.compile(
    r"\n([A-Za-z_][\w \t*\n]{0,200}?)(?:[ \t*]|\n)[ \t]*\**[ \t]*([A-Za-z_]\w*)[ \t]*\("
)
# A statement that is a lone word (an object-like macro expanding to statements).
_WORD_LINE = re.compile(r"\n[ \t]*([A-Za-z_]\w*)[ \t]*(?=\n)")
# A declaration line: words (and stars) before a declarator and `;`, `=`, `[` or `,`.
_DECLARATION = re.compile(
    r"\n[ \t]*((?:[A-Za-z_]\w*[ \t]+\**[ \t]*){2,})([A-Za-z_]\w*)[ \t]*[;=\[,]"
)
# `} NAME(`: perhaps the end of `do { ... } NAME(args);`.
_DO_TAIL = re.compile(r"\}[ \t]*([A-Za-z_]\w*)[ \t]*\(")
# An argument no parameter declaration could be: a number, a string, an operator.
_VALUE_ARG = re.compile(r"[ \t\n]*(?:[-+~!]?[ \t]*[0-9]|[\"'&(-])")
# A directive with its continuation lines (a backslash escapes the newline).
_DEFINE_LINE = re.compile(r"\n[ \t]*#[ \t]*(define|undef)\b(?:[^\n\\]|\\[\s\S])*")
# The same patterns for the first line of the file, which no newline precedes.
_FIRST_LINE = {
    pattern: re.compile(pattern.pattern[2:])
    for pattern in (_STATEMENT_LINE, _HEAD, _WORD_LINE, _DECLARATION)
}


class _Claims:
    """Spans edited so far in this round; a construct's edits go in all or none."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def _free(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.starts, max(end, start + 1))
        return index == 0 or self.ends[index - 1] <= start

    def take(self, local: list[Edit], edits: list[Edit]) -> bool:
        if not local or not all(self._free(a, b) for a, b, _ in local):
            return False
        spans = sorted((a, b) for a, b, _ in local)
        if any(spans[i][1] > spans[i + 1][0] for i in range(len(spans) - 1)):
            return False
        for a, b in spans:
            index = bisect.bisect_left(self.starts, a)
            self.starts.insert(index, a)
            self.ends.insert(index, b)
        edits.extend(local)
        return True


class Shapes:
    """The structural rules, compiled for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        names = (
            dialect.repair_attributes
            | dialect.repair_attributes_with_args
            | set(dialect.repair_replacements)
        )
        self.known = re.compile(trie(sorted(names)) + r"(?!\w)") if names else None

    def apply(
        self,
        text: str,
        out: str,
        masked: str,
        regions: list[Region],
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        """Emit the rules' edits for ``regions`` into ``edits`` (records into ``records``)."""
        claims = _Claims()
        run = _Run(self, text, out, masked, claims, edits, records)
        for region in regions:
            run.region(region)


class _Run(ArgumentRules):
    """One application of the rules to one text."""

    def __init__(
        self,
        shapes: Shapes,
        text: str,
        out: str,
        masked: str,
        claims: _Claims,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        self.shapes = shapes
        self.dialect = shapes.dialect
        self.text = text
        self.out = out
        self.masked = masked
        self.claims = claims
        self.edits = edits
        self.records = records
        self.depth = BraceDepth(masked)
        self.typed_calls: set[int] = set()

    def take(self, local: list[Edit], record: Record | None) -> bool:
        if not self.claims.take(local, self.edits):
            return False
        if record is not None:
            self.records.append(record)
        return True

    def region(self, region: Region) -> None:
        masked = self.masked
        for match in ASM_KEYWORD.finditer(masked, region.start, region.end):
            start = keyword_start(masked, match.start())
            if start >= 0:
                self.inline_asm(match, start)
        for start, end in merge_spans(region.windows):
            self.window(start, end)

    def window(self, start: int, end: int) -> None:
        """The rules whose cause lies near the error: ``start`` is a newline."""
        masked = self.masked
        if self.shapes.known is not None:
            for match in self.shapes.known.finditer(masked, start, end):
                if match.start() == 0 or not is_word_char(masked[match.start() - 1]):
                    self.known_attribute(match.group(), match.start(), match.end())
        for match in STRING_NEIGHBOUR.finditer(masked, start, end):
            self.string_neighbour(match)
        for match in _line_starts(_STATEMENT_LINE, masked, start, end):
            self.statement(match)
        for match in _line_starts(_WORD_LINE, masked, start, end):
            self.word_statement(match)
        for match in _DO_TAIL.finditer(masked, start, end):
            self.do_tail(match)
        for match in TYPEOF.finditer(masked, start, end):
            begin = keyword_start(masked, match.start())
            if begin >= 0:
                self.typeof(match, begin)
        for match in KEYWORD_CALL.finditer(masked, start, end):
            begin, word = word_before(masked, match.end())
            if word in KEYWORD_CALLS:
                self.listed_type_args(word, begin, match.end())
        for match in TYPE_ARG.finditer(masked, start, end):
            self.type_arg(match)
        for match in _line_starts(_HEAD, masked, start, end):
            self.head(match)
        for match in COMPUTED_GOTO.finditer(masked, start, end):
            begin = keyword_start(masked, match.start())
            if begin >= 0:
                record = ("computed_goto", "goto", (), begin, match.end())
                self.take([(begin, begin + 4, None)], record)
        for match in LIST_MACRO.finditer(masked, start, end):
            self.list_macro(match)
        for found in _DEFINE_LINE.finditer(self.out, start, end):
            # A #define or #undef inside an initialiser list or an expression:
            # tree-sitter-c only takes directives between declarations or statements.
            # (Matched again without the window's end: the body may run past it.)
            directive = _DEFINE_LINE.match(self.out, found.start())
            if directive is None:
                continue
            begin = directive.start() + 1
            record = ("preprocessor", "#" + directive.group(1), (), begin, directive.end())
            self.take([(begin, directive.end(), None)], record)
        for match in OPERATOR_ARG.finditer(masked, start, end):
            operator = masked[match.start() + 1 : match.end()].strip()
            record = ("operator_arg", operator, (), match.start(), match.end())
            self.take([(match.start(), match.end(), None)], record)
        for match in EMPTY_ARG.finditer(masked, start, end):
            comma = match.start() if masked[match.start()] == "," else match.end() - 1
            self.take([(comma, comma + 1, " ")], None)
        for match in DIGIT_TOKEN.finditer(masked, start, end):
            begin = match.start()
            if begin and (is_word_char(masked[begin - 1]) or masked[begin - 1] == "."):
                continue
            if NUMBER.fullmatch(match.group()) is None:
                self.take([(begin, begin + 1, "_")], None)
        for match in UNIT.finditer(masked, start, end):
            # `16 KB`: a macro used as a unit after a number.
            if match.group(1) not in C_WORDS and not is_word_char(masked[match.start() - 1]):
                record = ("unit_macro", match.group(1), (), match.start(1), match.end(1))
                self.take([(match.start(1), match.end(1), None)], record)
        for match in DESIGNATOR_ARG.finditer(masked, start, end):
            opener = innermost_open(masked, match.start(1))
            if opener >= 0 and masked[opener] == "(" and word_before(masked, opener)[1]:
                self.take([(match.start(1), match.end(1), None)], None)
        for match in _line_starts(_DECLARATION, masked, start, end):
            self.declaration(match)

    # -- statement position -------------------------------------------------

    def statement(self, match: re.Match[str]) -> None:
        masked = self.masked
        name = match.group(2)
        start = match.start(2)
        if name in C_WORDS or not statement_position(masked, start):
            return
        open_pos = match.start(3)
        close = close_paren(masked, open_pos)
        if close < 0:
            return
        after = next_char(masked, close + 1)
        if after >= len(masked):
            return
        ch = masked[after]
        depth = self.depth.at(start)
        if depth > 0 and in_struct_body(masked, start):
            # Members, not statements: no loop or block may stand there.
            self._member_macro(name, start, open_pos, close, after)
            return
        if depth > 0 and ch != "," and in_initialiser(masked, start):
            # `{ a }, ROUTE("x")` then `ROUTE("y")`: a macro expanding to list
            # elements (with their commas); the elements are dropped.
            record = (
                "list_macro",
                name,
                arg_texts(self.text, split_args(masked, open_pos, close)),
                start,
                close + 1,
            )
            self.take([(start, close + 1, None)], record)
            return
        spans = split_args(masked, open_pos, close)
        args = arg_texts(self.text, spans)
        if ch == "{":
            if depth > 0:
                self._loop(name, start, open_pos, close, args)
        elif ch == ";":
            if depth > 0:
                self._statement_arguments(name, start, open_pos, close, spans, args)
        elif ch == "}" and "\n" in masked[close + 1 : after]:
            if depth > 0:
                self._empty_block(name, start, close, args)
        elif ch.isalpha() or ch == "_":
            if "\n" not in masked[close + 1 : after]:
                self._type_macro(name, start, close, after, args)
            elif depth == 0:
                self.take([(start, close + 1, None)], ("definition", name, args, start, close + 1))
            elif indent_width(masked, after) > indent_width(masked, start):
                self._loop(name, start, open_pos, close, args)
            else:
                self._empty_block(name, start, close, args)

    def _member_macro(self, name: str, start: int, open_pos: int, close: int, after: int) -> None:
        """A call-shaped macro among a struct's members with no `;`: a type before a
        member's name on the same line, or else members or an attribute of its own
        (blanked, as the word-shaped ``randomized_struct_fields_start``)."""
        masked = self.masked
        args = arg_texts(self.text, split_args(masked, open_pos, close))
        ch = masked[after]
        if "\n" not in masked[close + 1 : after] and (ch.isalpha() or ch == "_"):
            self._type_macro(name, start, close, after, args)
        elif ch != ";":
            self.take([(start, close + 1, None)], ("attribute", name, args, start, close + 1))

    def _empty_block(self, name: str, start: int, close: int, args: tuple[str, ...]) -> None:
        """A statement macro missing its `;` becomes ``{ }`` (a statement, as it was)."""
        if close > start:
            local: list[Edit] = [(start, start + 1, "{"), (close, close + 1, "}")]
            if close > start + 1:
                local.append((start + 1, close, None))
            self.take(local, ("statement_macro", name, args, start, close + 1))

    def do_tail(self, match: re.Match[str]) -> None:
        """``do { ... } for_each_vma_range(vmi, v, end);``: a macro that expands to
        the ``while`` of a do loop becomes ``while`` (an ``iterator`` record)."""
        masked = self.masked
        name = match.group(1)
        start, end = match.span(1)
        if name in C_WORDS or end - start < 5:
            return
        opener = matching_brace(masked, match.start())
        if opener < 0 or word_before(masked, opener)[1] != "do":
            return
        call = call_after(masked, end)
        if call is None or next_char(masked, call[1] + 1) >= len(masked):
            return
        if masked[next_char(masked, call[1] + 1)] != ";":
            return
        args = arg_texts(self.text, call[2])
        record = ("iterator", name, args, start, call[1] + 1)
        self.take([(start, end, "while".ljust(end - start))], record)

    def word_statement(self, match: re.Match[str]) -> None:
        masked = self.masked
        name = match.group(1)
        start, end = match.span(1)
        if name in C_WORDS or not statement_position(masked, start):
            return
        after = next_char(masked, end)
        if after >= len(masked) or not (masked[after].isalpha() or masked[after] in "_}"):
            return
        if self.depth.at(start) == 0:
            self.take([(start, end, None)], ("definition", name, (), start, end))
        elif in_struct_body(masked, start):
            # `randomized_struct_fields_start` among a struct's members.
            self.take([(start, end, None)], ("attribute", name, (), start, end))
        elif end - start >= 2:
            replacement = "{" + " " * (end - start - 2) + "}"
            self.take([(start, end, replacement)], ("statement_macro", name, (), start, end))

    def _loop(
        self, name: str, start: int, open_pos: int, close: int, args: tuple[str, ...]
    ) -> None:
        local: list[Edit] = []
        if iterator_edits(self.masked, start, open_pos, close, local):
            self.take(local, ("iterator", name, args, start, close + 1))

    def _type_macro(
        self, name: str, start: int, close: int, after: int, args: tuple[str, ...]
    ) -> None:
        masked = self.masked
        word = IDENT.match(masked, after)
        if word is None:
            return
        nxt = next_char(masked, word.end())
        if nxt >= len(masked) or masked[nxt] not in ";=,[)":
            return
        piece = masked[start : close + 1]
        if "\n" in piece or piece != self.out[start : close + 1]:
            return
        record = ("type_macro", name, args, start, close + 1)
        self.take([(start, close + 1, identifier_for(piece))], record)

    def _statement_arguments(
        self,
        name: str,
        start: int,
        open_pos: int,
        close: int,
        spans: list[tuple[int, int]],
        args: tuple[str, ...],
    ) -> None:
        """``NAME(a, b, stmt; stmt;);`` becomes ``{    a, b; stmt; stmt; };``."""
        masked = self.masked
        statements = [is_statement(masked, a, b) for a, b in spans]
        if not any(statements):
            return
        first = statements.index(True)
        for a, b in spans[first:]:
            if not is_statement(masked, a, b) and masked[a:b].strip():
                return
        last = next((masked[a:b].strip() for a, b in reversed(spans) if masked[a:b].strip()), "")
        local: list[Edit] = [(start, open_pos + 1, "{".ljust(open_pos + 1 - start))]
        if first > 0:
            comma = spans[first - 1][1]
            local.append((comma, comma + 1, ";"))
        for a, b in spans[first:-1]:
            # `IO_COND(a, return f(x), return g(x));`: statements without their `;`.
            ended = masked[a:b].strip()[-1:] in (";", "}")
            local.append((b, b + 1, " " if ended else ";"))
        if last[-1:] in (";", "}"):
            local.append((close, close + 1, "}"))
        else:
            # The last statement has no `;` of its own: borrow the macro's.
            semicolon = next_char(masked, close + 1)
            local.append((close, close + 1, ";"))
            local.append((semicolon, semicolon + 1, "}"))
        self.take(local, ("statement_macro", name, args, start, close + 1))

    # -- function heads -----------------------------------------------------

    def head(self, match: re.Match[str]) -> None:
        masked = self.masked
        if self.depth.at(match.start()) != 0:
            return
        open_pos = match.end() - 1
        close = close_paren(masked, open_pos)
        if close < 0:
            return
        after = next_char(masked, close + 1)
        if after < len(masked) and masked[after] in ";=":
            if self._object_macro(match, open_pos, close):
                return
        if after < len(masked) and not (masked[after] in "{;," or masked[after].isalpha()):
            return
        self._blank_extra_type_words(IDENT.finditer(masked, match.start(1), match.end(1)))

    def _object_macro(self, match: re.Match[str], open_pos: int, close: int) -> bool:
        """``static const DECLARE_TLV(name, -9600, 50);``: a macro defining the
        object named by its first argument, with values no prototype could have;
        it becomes ``static const int  name ...;``."""
        masked = self.masked
        spans = split_args(masked, open_pos, close)
        if len(spans) < 2 or not any(_VALUE_ARG.match(masked, a, b) for a, b in spans[1:]):
            return False
        name_start = match.start(2)
        a, b = spans[0]
        a = next_char(masked, a)
        b = a + len(masked[a:b].rstrip())
        if not IDENT.fullmatch(masked[a:b]) or open_pos + 1 - name_start < 4:
            return False
        local: list[Edit] = [(name_start, open_pos + 1, "int".ljust(open_pos + 1 - name_start))]
        if a > open_pos + 1:
            local.append((open_pos + 1, a, None))
        local.append((b, close + 1, None))
        macro = match.group(2)
        args = arg_texts(self.text, spans)
        return self.take(local, ("definition", macro, args, name_start, close + 1))

    def declaration(self, match: re.Match[str]) -> None:
        """``int __outvar valid;``: more type names than C allows in a declaration."""
        masked = self.masked
        if not statement_position(masked, match.start(1)):
            return
        name = match.group(2)
        if self._macro_score(name) >= 2 and IDENT.fullmatch(match.group(1).split()[-1]):
            # `struct hvsi_query packet __ALIGNED__;`: an attribute after the declarator.
            record = ("attribute", name, (), match.start(2), match.end(2))
            self.take([(match.start(2), match.end(2), None)], record)
            return
        self._blank_extra_type_words(IDENT.finditer(masked, match.start(1), match.end(1)))

    def _blank_extra_type_words(self, words: Iterator[re.Match[str]]) -> None:
        unknown: list[re.Match[str]] = []
        has_type = False
        tag_next = False
        for word in words:
            value = word.group()
            if tag_next:
                tag_next = False
            elif value in TAGS:
                has_type = tag_next = True
            elif value in PRIMITIVES:
                has_type = True
            elif value in STATEMENT_KEYWORDS:
                return
            elif value not in QUALIFIERS:
                unknown.append(word)
        if has_type:
            macros = unknown
        elif len(unknown) >= 2:
            scored = [(self._macro_score(w.group()), -i) for i, w in enumerate(unknown)]
            type_index = -min(scored)[1]
            macros = [w for i, w in enumerate(unknown) if i != type_index]
        else:
            return
        for word in macros:
            record = ("attribute", word.group(), (), word.start(), word.end())
            self.take([(word.start(), word.end(), None)], record)

    def _macro_score(self, word: str) -> int:
        """How much ``word`` looks like a macro rather than a type name."""
        score = 0
        if word.upper() == word and any(c.isalpha() for c in word):
            score += 2
        if self.dialect.is_attribute_like(word):
            score += 2
        if word.startswith("__"):
            score += 1
        return score


def _line_starts(
    pattern: re.Pattern[str], masked: str, start: int, end: int
) -> Iterator[re.Match[str]]:
    """Matches of a newline-led ``pattern`` in ``[start, end)``, and on the first line."""
    if start == 0:
        first = _FIRST_LINE[pattern].match(masked, 0, end)
        if first is not None:
            yield first
    yield from pattern.finditer(masked, start, end)
