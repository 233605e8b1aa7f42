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
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .normalise_dialect import Dialect
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
    open_paren,
    prev_char,
    split_args,
    statement_position,
    trie,
    type_arg_edits,
    type_position_edits,
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


_KEYWORD_CALL = re.compile(r"(?:offsetof|alignof__)(?=[ \t]*\()")

# Every pattern starts with a literal (or a small class) so `re` skips ahead in
# C; word boundaries before the literal are checked in Python.
_ASM = re.compile(
    r"asm(?:__)?(?![\w$])"
    r"(?:[ \t\n]+(?:volatile|__volatile__|inline|__inline__|__inline|goto)(?!\w))*[ \t\n]*\("
)
_STRING_NEIGHBOUR = re.compile(r'"[ \t\n]*([A-Za-z_]\w*)[ \t\n]*\(|\)[ \t\n]*"|"')
_TYPE_ARG = re.compile(
    r"[(,][ \t\n]*("
    r"(?:(?:const|volatile)[ \t\n]+)*"
    r"(?:(?:struct|union|enum)[ \t\n]+[A-Za-z_]\w*"
    r"|(?:(?:unsigned|signed|long|short|int|char|bool|_Bool|float|double|void)(?!\w)[ \t\n]*)+"
    r"|[A-Za-z_]\w*(?=[ \t\n]*\*))"
    r"(?:[ \t\n]*(?:const|volatile)(?!\w))*[ \t\n*]*)(?=[,)])"
)
_TYPEOF = re.compile(r"typeof(?:__)?[ \t]*\(")
_TYPE_START = re.compile(
    r"[ \t\n]*(?:(?:struct|union|enum|const|volatile|unsigned|signed|long|short|int|char|bool"
    r"|_Bool|float|double|void)(?!\w)|[A-Za-z_]\w*[ \t\n*]*$)"
)
# A statement line that starts with a call and does not end with `;`, or is
# followed by a word on the same line, or has a statement as an argument.
_STATEMENT_LINE = re.compile(
    r"\n([ \t]*)([A-Za-z_]\w*)[ \t]*(\()(?:[^\n]*+(?<!;)(?=\n)|[^\n]*\)[ \t]+(?=[A-Za-z_])"
    r"|[^\n]*?[(,][ \t]*(?:return|break|continue|goto)(?!\w))"
)
_HEAD = re.compile(
    r"\n([A-Za-z_][\w \t*\n]{0,200}?)(?:[ \t*]|\n)[ \t]*\**[ \t]*([A-Za-z_]\w*)[ \t]*\("
)
# A statement that is a lone word (an object-like macro expanding to statements).
_WORD_LINE = re.compile(r"\n[ \t]*([A-Za-z_]\w*)[ \t]*(?=\n)")
_COMPUTED_GOTO = re.compile(r"goto[ \t\n]*\*")
# An ALL-CAPS word followed by another operand inside an initialiser list: a
# macro expanding to list elements (``&a_ops, TASKS_OPS &b_ops``).
_LIST_MACRO = re.compile(r"[(,{][ \t\n]*([A-Z_][A-Z0-9_]*)[ \t\n]+(?=[A-Za-z_&(])")
_STATEMENT_START = re.compile(
    r"[ \t\n]*(?:if|for|while|do|switch|return|break|continue|goto)(?!\w)"
)
_TOP_LEVEL_MARKS = re.compile(r"[()\[\]{};]")
_UNIT = re.compile(r"[0-9][\w]*[ \t]+([A-Z_][A-Z0-9_]*)(?![\w \t]*[(\w])")
# `X86_CONFIG(.event=0xc0, .umask=1)`: designators as macro arguments.
_DESIGNATOR_ARG = re.compile(r"[(,][ \t\n]*(\.[A-Za-z_]\w*[ \t\n]*=)(?!=)")
# A declaration line: words (and stars) before a declarator and `;`, `=`, `[` or `,`.
_DECLARATION = re.compile(
    r"\n[ \t]*((?:[A-Za-z_]\w*[ \t]+\**[ \t]*){2,})([A-Za-z_]\w*)[ \t]*[;=\[,]"
)
# The same patterns for the first line of the file, which no newline precedes.
_FIRST_LINE = {
    pattern: re.compile(pattern.pattern[2:])
    for pattern in (_STATEMENT_LINE, _HEAD, _WORD_LINE, _DECLARATION)
}
_EMPTY_ARG = re.compile(r",[ \t\n]*(?=[,)])|\([ \t\n]*,")
# Digits then a letter: a number with a suffix, or pasted text (`1371_SMPRATE`).
_DIGIT_TOKEN = re.compile(r"[0-9]+[A-Za-z_]\w*")
# C numbers: a token starting with a digit that is none of these is pasted text.
_NUMBER = re.compile(
    r"(?:0[xX][0-9a-fA-F]*|0[bB][01]+|[0-9]+)(?:[uU](?:ll?|LL?)?|(?:ll?|LL?)[uU]?)?"
    r"|[0-9]*(?:[eE][0-9]*)?[fFlL]?|0[xX][0-9a-fA-F]*[pP][0-9]*[fFlL]?"
)


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


class _Run:
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
        for match in _ASM.finditer(masked, region.start, region.end):
            start = _word_start(masked, match.start())
            if start >= 0:
                self.inline_asm(match, start)
        for start, end in _merge(region.windows):
            self.window(start, end)

    def window(self, start: int, end: int) -> None:
        """The rules whose cause lies near the error: ``start`` is a newline."""
        masked = self.masked
        if self.shapes.known is not None:
            for match in self.shapes.known.finditer(masked, start, end):
                if match.start() == 0 or not is_word_char(masked[match.start() - 1]):
                    self.known_attribute(match.group(), match.start(), match.end())
        for match in _STRING_NEIGHBOUR.finditer(masked, start, end):
            self.string_neighbour(match)
        for match in _line_starts(_STATEMENT_LINE, masked, start, end):
            self.statement(match)
        for match in _line_starts(_WORD_LINE, masked, start, end):
            self.word_statement(match)
        for match in _TYPEOF.finditer(masked, start, end):
            begin = _word_start(masked, match.start())
            if begin >= 0:
                self.typeof(match, begin)
        for match in _KEYWORD_CALL.finditer(masked, start, end):
            begin, word = word_before(masked, match.end())
            if word in KEYWORD_CALLS:
                self.listed_type_args(word, begin, match.end())
        for match in _TYPE_ARG.finditer(masked, start, end):
            self.type_arg(match)
        for match in _line_starts(_HEAD, masked, start, end):
            self.head(match)
        for match in _COMPUTED_GOTO.finditer(masked, start, end):
            begin = _word_start(masked, match.start())
            if begin >= 0:
                record = ("computed_goto", "goto", (), begin, match.end())
                self.take([(begin, begin + 4, None)], record)
        for match in _LIST_MACRO.finditer(masked, start, end):
            self.list_macro(match)
        for match in _EMPTY_ARG.finditer(masked, start, end):
            comma = match.start() if masked[match.start()] == "," else match.end() - 1
            self.take([(comma, comma + 1, " ")], None)
        for match in _DIGIT_TOKEN.finditer(masked, start, end):
            begin = match.start()
            if begin and (is_word_char(masked[begin - 1]) or masked[begin - 1] == "."):
                continue
            if _NUMBER.fullmatch(match.group()) is None:
                self.take([(begin, begin + 1, "_")], None)
        for match in _UNIT.finditer(masked, start, end):
            # `16 KB`: a macro used as a unit after a number.
            if match.group(1) not in C_WORDS and not is_word_char(masked[match.start() - 1]):
                record = ("unit_macro", match.group(1), (), match.start(1), match.end(1))
                self.take([(match.start(1), match.end(1), None)], record)
        for match in _DESIGNATOR_ARG.finditer(masked, start, end):
            opener = _innermost_open(masked, match.start(1))
            if opener >= 0 and masked[opener] == "(" and word_before(masked, opener)[1]:
                self.take([(match.start(1), match.end(1), None)], None)
        for match in _line_starts(_DECLARATION, masked, start, end):
            self.declaration(match)

    def known_attribute(self, name: str, start: int, end: int) -> None:
        """The dialect's ``[attributes] repair*`` names: blanked or replaced."""
        replacement = self.dialect.repair_replacements.get(name)
        if replacement is not None:
            if len(replacement) <= end - start:
                record: Record = ("attribute", name, (), start, end)
                self.take([(start, end, replacement.ljust(end - start))], record)
            return
        if name in self.dialect.repair_attributes_with_args:
            call = call_after(self.masked, end)
            if call is not None:
                args = arg_texts(self.text, call[2])
                record = ("attribute", name, args, start, call[1] + 1)
                self.take([(start, call[1] + 1, None)], record)
                return
        self.take([(start, end, None)], ("attribute", name, (), start, end))

    # -- inline asm ---------------------------------------------------------

    def inline_asm(self, match: re.Match[str], start: int) -> None:
        masked = self.masked
        open_pos = match.end() - 1
        close = close_paren(masked, open_pos)
        if close < 0:
            return
        before = prev_char(masked, start)
        if before >= 0 and (is_word_char(masked[before]) or masked[before] in ")]"):
            word = word_before(masked, start)[1]
            if word not in C_WORDS or word in PRIMITIVES:
                # `register int r asm("r0") = x;`: a register name, not a statement.
                record = ("asm_label", "asm", (), start, close + 1)
                self.take([(start, close + 1, None)], record)
                return
        local: list[Edit] = []
        for index, (a, b) in enumerate(_asm_sections(masked, open_pos + 1, close)):
            if index in (0, 3):
                _asm_strings_only(masked, a, b, local)
            elif index in (1, 2):
                _asm_operands(masked, a, b, local)
        if local:
            self.take(local, ("inline_asm", "asm", (), start, close + 1))

    # -- strings ------------------------------------------------------------

    def string_neighbour(self, match: re.Match[str]) -> None:
        masked = self.masked
        if match.group(1) is not None:
            name = match.group(1)
            open_pos = match.end() - 1
            close = close_paren(masked, open_pos)
            if close < 0 or name in C_WORDS:
                return
            spans = split_args(masked, open_pos, close)
            record = ("string_macro", name, arg_texts(self.text, spans), match.start(1), close + 1)
            self.take([(open_pos, close + 1, None)], record)
        elif masked[match.start()] == '"':
            self._macros_before_string(match.start())
        else:
            close = match.start()
            open_pos = open_paren(masked, close)
            if open_pos < 0:
                return
            word_start, name = word_before(masked, open_pos)
            if not name or name in C_WORDS or not IDENT.fullmatch(name):
                return
            spans = split_args(masked, open_pos, close)
            record = ("string_macro", name, arg_texts(self.text, spans), word_start, close + 1)
            self.take([(open_pos, close + 1, None)], record)

    def _macros_before_string(self, quote: int) -> None:
        """``A B "x"``: two words before a string, so the first is a macro (all but the last)."""
        masked = self.masked
        last_start, last = word_before(masked, quote)
        if not last or last in C_WORDS or not IDENT.fullmatch(last):
            return
        local: list[Edit] = []
        start = last_start
        while True:
            word_start, word = word_before(masked, start)
            if not word or word in C_WORDS or not IDENT.fullmatch(word):
                break
            local.append((word_start, word_start + len(word), None))
            start = word_start
        if local:
            name = masked[start : start + len(masked[start:last_start].split()[0])]
            self.take(local, ("string_macro", name, (), start, last_start + len(last)))

    # -- type arguments -----------------------------------------------------

    def listed_type_args(self, name: str, start: int, end: int) -> None:
        masked = self.masked
        call = call_after(masked, end)
        if call is None:
            return
        open_pos, close, spans = call
        positions = self.dialect.type_arg_macros.get(name, ())
        local = type_position_edits(self.out, masked, name, start, spans, positions)
        if local and self.take(local, None):
            self.typed_calls.add(open_pos)
            self.records.append(("type_arg", name, arg_texts(self.text, spans), start, close + 1))

    def type_arg(self, match: re.Match[str]) -> None:
        masked = self.masked
        sep = match.start()
        a, b = match.span(1)
        while b > a and masked[b - 1] in " \t\n":
            b -= 1
        if masked[a:b] != self.out[a:b]:
            return
        open_pos = sep if masked[sep] == "(" else open_paren(masked, sep)
        if open_pos < 0:
            return
        word_start, name = word_before(masked, open_pos)
        if not name or name in C_WORDS or not IDENT.fullmatch(name):
            return
        close = close_paren(masked, open_pos)
        if close < 0:
            return
        if masked[a:b] == "void" and open_pos == sep and next_char(masked, b) == close:
            return  # `f(void)`: a prototype
        if name in self.dialect.type_arg_macros and open_pos not in self.typed_calls:
            self.listed_type_args(name, word_start, word_start + len(name))
        local = type_arg_edits(masked, a, b)
        if not local or not self.take(local, None):
            return
        if open_pos not in self.typed_calls:
            self.typed_calls.add(open_pos)
            spans = split_args(masked, open_pos, close)
            self.records.append(
                ("type_arg", name, arg_texts(self.text, spans), word_start, close + 1)
            )

    def typeof(self, match: re.Match[str], start: int) -> None:
        masked = self.masked
        open_pos = match.end() - 1
        close = close_paren(masked, open_pos)
        if close < 0:
            return
        a = next_char(masked, open_pos + 1)
        b = close
        while b > a and masked[b - 1] in " \t\n":
            b -= 1
        piece = masked[a:b]
        if b <= a or "\n" in piece or piece != self.out[a:b] or _TYPE_START.match(piece):
            return
        args = (" ".join(self.text[a:b].split()),)
        record = ("type_macro", masked[start:open_pos].strip(), args, start, close + 1)
        self.take([(a, b, identifier_for(piece))], record)

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

    def _empty_block(self, name: str, start: int, close: int, args: tuple[str, ...]) -> None:
        """A statement macro missing its `;` becomes ``{ }`` (a statement, as it was)."""
        if close > start:
            local: list[Edit] = [(start, start + 1, "{"), (close, close + 1, "}")]
            if close > start + 1:
                local.append((start + 1, close, None))
            self.take(local, ("statement_macro", name, args, start, close + 1))

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
        elif end - start >= 2:
            replacement = "{" + " " * (end - start - 2) + "}"
            self.take([(start, end, replacement)], ("statement_macro", name, (), start, end))

    def list_macro(self, match: re.Match[str]) -> None:
        masked = self.masked
        name = match.group(1)
        opener = _innermost_open(masked, match.start(1))
        if opener < 0:
            return
        if masked[opener] == "(":
            # A call argument: `printk(KERN_DEFAULT CUT_HERE)` (in a body, where a
            # parenthesis after a name is a call, not a parameter list).
            caller = word_before(masked, opener)[1]
            if not caller or caller in C_WORDS or name in C_WORDS:
                return
            following = IDENT.match(masked, match.end())
            if following is None or following.group() in C_WORDS:
                return
            if self.depth.at(opener) == 0:
                return
        elif masked[opener] == "{":
            before = prev_char(masked, opener)
            if before < 0 or masked[before] not in "=,{":
                return
        else:
            return
        record = ("list_macro", name, (), match.start(1), match.end(1))
        self.take([(match.start(1), match.end(1), None)], record)

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
        statements = [_is_statement(masked, a, b) for a, b in spans]
        if not any(statements):
            return
        first = statements.index(True)
        for a, b in spans[first:]:
            if not _is_statement(masked, a, b) and masked[a:b].strip():
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
        if after < len(masked) and not (masked[after] in "{;," or masked[after].isalpha()):
            return
        self._blank_extra_type_words(IDENT.finditer(masked, match.start(1), match.end(1)))

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


def _is_statement(masked: str, a: int, b: int) -> bool:
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


def _line_starts(
    pattern: re.Pattern[str], masked: str, start: int, end: int
) -> Iterator[re.Match[str]]:
    """Matches of a newline-led ``pattern`` in ``[start, end)``, and on the first line."""
    if start == 0:
        first = _FIRST_LINE[pattern].match(masked, 0, end)
        if first is not None:
            yield first
    yield from pattern.finditer(masked, start, end)


def _merge(spans: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _innermost_open(masked: str, pos: int, limit: int = 20000) -> int:
    """Index of the innermost unclosed bracket (``(``, ``[`` or ``{``) before ``pos``."""
    depth = 0
    for index in range(pos - 1, max(-1, pos - limit), -1):
        ch = masked[index]
        if ch in ")]}":
            depth += 1
        elif ch in "([{":
            if depth == 0:
                return index
            depth -= 1
    return -1


def _word_start(masked: str, start: int) -> int:
    """Start of the keyword whose tail matched at ``start`` (``__asm``), -1 mid-word."""
    if masked[max(start - 2, 0) : start] == "__":
        start -= 2
    if start > 0 and is_word_char(masked[start - 1]):
        return -1
    return start


def _asm_sections(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """The template, outputs, inputs, clobbers and labels of an asm statement."""
    sections: list[tuple[int, int]] = []
    depth = 0
    section_start = start
    for index in range(start, end):
        ch = masked[index]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == ":" and depth == 0:
            sections.append((section_start, index))
            section_start = index + 1
    sections.append((section_start, end))
    return sections


def _asm_strings_only(masked: str, start: int, end: int, local: list[Edit]) -> None:
    """Macros in a template or clobber list become empty strings."""
    pos = start
    while True:
        word = IDENT.search(masked, pos, end)
        if word is None:
            return
        span_end = word.end()
        nxt = next_char(masked, span_end)
        if nxt < end and masked[nxt] == "(":
            close = close_paren(masked, nxt)
            if close < 0 or close >= end:
                return
            span_end = close + 1
        if word.end() - word.start() >= 2:
            local.append((word.start(), word.start() + 2, '""'))
            if span_end > word.start() + 2:
                local.append((word.start() + 2, span_end, None))
        else:
            local.append((word.start(), span_end, None))
        pos = span_end


def _asm_operands(masked: str, start: int, end: int, local: list[Edit]) -> None:
    """Macros standing for operands or constraints become strings.

    ``ASM_INPUT_RM (x)`` and ``CC_OUT(c) (v)`` are constraint macros before an
    operand: they become ``""``.  ``ASM_CALL_CONSTRAINT`` or
    ``EAX_EDX_RET(v, l, h)`` stand for whole operands: ``""(0)`` when there is
    room, else they are blanked with their comma.  A macro glued to a
    constraint string (``"=" REG_OUT (res)``) is blanked.
    """
    operands = split_args(masked, start - 1, end) if end > start else []
    for number, (a, b) in enumerate(operands):
        pos = next_char(masked, a)
        if pos >= b:
            continue
        if masked[pos] == "[":
            bracket = masked.find("]", pos, b)
            if bracket < 0:
                continue
            pos = next_char(masked, bracket + 1)
        if masked[pos] == '"':
            quote = masked.find('"', pos + 1, b)
            word = IDENT.match(masked, next_char(masked, quote + 1), b) if quote > 0 else None
            if word is not None:
                local.append((word.start(), word.end(), None))
            continue
        word = IDENT.match(masked, pos, b)
        if word is None:
            continue
        span_end = word.end()
        nxt = next_char(masked, span_end)
        has_args = nxt < b and masked[nxt] == "("
        if has_args:
            close = close_paren(masked, nxt)
            if close < 0 or close >= b:
                continue
            after = next_char(masked, close + 1)
            several = len(split_args(masked, nxt, close)) > 1
            if after < b and masked[after] == "(":
                span_end = close + 1  # CC_OUT(c) (v)
            elif not several:
                span_end = word.end()  # ASM_INPUT_RM (x)
            else:
                span_end = close + 1  # EAX_EDX_RET(v, l, h): whole operands
                _asm_whole_operand(masked, word.start(), span_end, operands, number, local)
                continue
            _asm_string(word.start(), span_end, local)
        else:
            _asm_whole_operand(masked, word.start(), word.end(), operands, number, local)


def _asm_string(start: int, end: int, local: list[Edit]) -> None:
    if end - start >= 2:
        local.append((start, start + 2, '""'))
        if end > start + 2:
            local.append((start + 2, end, None))


def _asm_whole_operand(
    masked: str,
    start: int,
    end: int,
    operands: list[tuple[int, int]],
    number: int,
    local: list[Edit],
) -> None:
    if end - start >= 5 and "\n" not in masked[start:end]:
        local.append((start, end, '""(0)'.ljust(end - start)))
        return
    # Blank it with the comma that separates it from its neighbour.
    if number + 1 < len(operands):
        local.append((start, operands[number][1] + 1, None))
    elif number > 0:
        local.append((operands[number - 1][1], end, None))
    else:
        local.append((start, end, None))
