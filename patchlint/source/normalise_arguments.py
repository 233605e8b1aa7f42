"""Repair rules about arguments and expressions (used by ``normalise_shapes.py``).

* ``inline_asm``: macros in an asm template, operand or clobber list.
* ``string_macro``: a macro call or a second macro next to a string literal
  (``"@" __stringify(__LINE__) ": "``, ``KERN_ERR PFX "text"``).
* ``type_arg``: a type as a call argument (``btrfs_item_ptr(l, s, struct
  btrfs_inode_item)``, ``PVOP_CALL0(unsigned long, ...)``, ``foo(u8 *, ...)``)
  becomes a same-length identifier; ``[type_args]`` of the dialect names macros
  whose listed positions are converted whatever their shape.
* ``type_macro``: ``typeof(expr)`` whose argument is an expression.
* ``list_macro``: an ALL-CAPS macro next to another operand in a list.
* the dialect's ``[attributes] repair*`` names.

The methods belong to ``_Run`` of ``normalise_shapes.py``, which mixes this
class in; the attributes below are set there.
"""

from __future__ import annotations

import re

from .normalise_asm import asm_edits
from .normalise_dialect import Dialect
from .normalise_scan import (
    C_WORDS,
    IDENT,
    PRIMITIVES,
    BraceDepth,
    Edit,
    Record,
    arg_texts,
    call_after,
    close_paren,
    identifier_for,
    is_word_char,
    next_char,
    open_paren,
    prev_char,
    split_args,
    type_arg_edits,
    type_position_edits,
    word_before,
)

__all__ = [
    "COMPUTED_GOTO",
    "DESIGNATOR_ARG",
    "DIGIT_TOKEN",
    "EMPTY_ARG",
    "KEYWORD_CALL",
    "LIST_MACRO",
    "NUMBER",
    "OPERATOR_ARG",
    "STRING_NEIGHBOUR",
    "TYPEOF",
    "TYPE_ARG",
    "UNIT",
    "ArgumentRules",
    "innermost_open",
    "keyword_start",
]

KEYWORD_CALL = re.compile(r"(?:offsetof|alignof__)(?=[ \t]*\()")

# Every pattern starts with a literal (or a small class) so `re` skips ahead in
# C; word boundaries before the literal are checked in Python.
STRING_NEIGHBOUR = re.compile(r'"[ \t\n]*([A-Za-z_]\w*)[ \t\n]*\(|\)[ \t\n]*"|"')
TYPE_ARG = re.compile(
    r"[(,][ \t\n]*("
    r"(?:(?:const|volatile)[ \t\n]+)*"
    r"(?:(?:struct|union|enum)[ \t\n]+[A-Za-z_]\w*"
    r"|(?:(?:unsigned|signed|long|short|int|char|bool|_Bool|float|double|void)(?!\w)[ \t\n]*)+"
    r"|[A-Za-z_]\w*(?=[ \t\n]*\*))"
    r"(?:[ \t\n]*(?:const|volatile)(?!\w))*[ \t\n*]*)(?=[,)])"
)
TYPEOF = re.compile(r"typeof(?:__)?[ \t]*\(")
_TYPE_START = re.compile(
    r"[ \t\n]*(?:(?:struct|union|enum|const|volatile|unsigned|signed|long|short|int|char|bool"
    r"|_Bool|float|double|void)(?!\w)|[A-Za-z_]\w*[ \t\n*]*$)"
)
COMPUTED_GOTO = re.compile(r"goto[ \t\n]*\*")
# An ALL-CAPS word followed by another operand inside an initialiser list: a
# macro expanding to list elements (``&a_ops, TASKS_OPS &b_ops``).
LIST_MACRO = re.compile(r"[(,{][ \t\n]*([A-Z_][A-Z0-9_]*)[ \t\n]+(?=[A-Za-z_&(])")
UNIT = re.compile(r"[0-9][\w]*[ \t]+([A-Z_][A-Z0-9_]*)(?![\w \t]*[(\w])")
# `X86_CONFIG(.event=0xc0, .umask=1)`: designators as macro arguments.
DESIGNATOR_ARG = re.compile(r"[(,][ \t\n]*(\.[A-Za-z_]\w*[ \t\n]*=)(?!=)")
# An operator as a macro argument (`ASSERTCMP(a, ==, b)`): dropped with its comma.
OPERATOR_ARG = re.compile(r",[ \t]*(?:==|!=|<=|>=|<<|>>|&&|\|\||[<>+\-*/%&|^])[ \t]*(?=[,)])")
EMPTY_ARG = re.compile(r",[ \t\n]*(?=[,)])|\([ \t\n]*,")
# Digits then a letter: a number with a suffix, or pasted text (`1371_SMPRATE`).
DIGIT_TOKEN = re.compile(r"[0-9]+[A-Za-z_]\w*")
# C numbers: a token starting with a digit that is none of these is pasted text.
NUMBER = re.compile(
    r"(?:0[xX][0-9a-fA-F]*|0[bB][01]+|[0-9]+)(?:[uU](?:ll?|LL?)?|(?:ll?|LL?)[uU]?)?"
    r"|[0-9]*(?:[eE][0-9]*)?[fFlL]?|0[xX][0-9a-fA-F]*[pP][0-9]*[fFlL]?"
)


class ArgumentRules:
    """Rules on call arguments and expressions, mixed into the repair run."""

    dialect: Dialect
    text: str
    out: str
    masked: str
    records: list[Record]
    typed_calls: set[int]
    depth: BraceDepth

    def take(self, local: list[Edit], record: Record | None) -> bool:
        raise NotImplementedError

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
        local = asm_edits(masked, open_pos, close)
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

    def list_macro(self, match: re.Match[str]) -> None:
        masked = self.masked
        name = match.group(1)
        opener = innermost_open(masked, match.start(1))
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


_BRACKETS = re.compile(r"[()\[\]{}]")


def innermost_open(masked: str, pos: int, limit: int = 100000) -> int:
    """Index of the innermost unclosed bracket (``(``, ``[`` or ``{``) before ``pos``."""
    depth = 0
    floor = max(0, pos - limit)
    high, chunk = pos, 1024
    # Backwards in growing chunks: the bracket is usually close, but a member of
    # `struct task_struct` is thousands of lines from its `{`.
    while high > floor:
        low = max(floor, high - chunk)
        marks = [m.start() for m in _BRACKETS.finditer(masked, low, high)]
        for index in reversed(marks):
            if masked[index] in ")]}":
                depth += 1
            elif depth == 0:
                return index
            else:
                depth -= 1
        high, chunk = low, chunk * 4
    return -1


def keyword_start(masked: str, start: int) -> int:
    """Start of the keyword whose tail matched at ``start`` (``__asm``), -1 mid-word."""
    if masked[max(start - 2, 0) : start] == "__":
        start -= 2
    if start > 0 and is_word_char(masked[start - 1]):
        return -1
    return start
