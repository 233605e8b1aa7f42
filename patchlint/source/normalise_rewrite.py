"""Macro rewrites driven by the dialect's name lists (the normaliser's first pass).

Each handler receives the original text and its mask and emits same-length
edits ``(start, end, text)`` where ``text`` is ``None`` for "blank this span".
Handlers only ever touch ASCII code characters, so character and byte lengths
stay equal.  Macros no list names are left to the repair pass
(``normalise_shapes.py``), which only looks where the parse failed.

Speed: every distinct literal scan is a pass over the whole file, so names are
grouped by a two-character prefix, and names that contain a glob's hint (such
as ``for_``) are found by that hint's scan instead of a scan of their own.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Callable

from .normalise_dialect import Dialect
from .normalise_scan import (
    C_WORDS,
    IDENT,
    BraceDepth,
    Edit,
    Record,
    arg_texts,
    call_after,
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

__all__ = ["Rewriter", "iterator_edits", "not_expression"]

Handler = Callable[[str, str, str, int, int, list[Edit], list[Record]], None]

_WORD_END = re.compile(r"\w*")
# An argument starting with one of these is a type or a statement, never an
# expression, so it cannot stay inside a `for (;; ...)` head.
_NOT_EXPRESSION = re.compile(
    r"(?:struct|union|enum|const|volatile|unsigned|signed|int|char|long|short|void|bool"
    r"|float|double|size_t|ssize_t|return|goto|break|continue)\b|.*\*$",
    re.S,
)
_CASE_RANGE = re.compile(r"\.\.\.")
# `case` may sit on an earlier line than the `...` of its range.
_CASE_BEFORE = re.compile(r"\bcase\b[^:;{}]*$")
_STORAGE_WORDS = frozenset({"static", "extern", "const"})
_TYPE_FIRST = re.compile(
    r"(?:struct|union|enum)[ \t\n]+[A-Za-z_]\w*[ \t\n*]*$|[A-Za-z_]\w*[ \t\n]*\*+$"
)
# A column-0 identifier followed by `(`: file-scope macro invocations and the
# name line of a definition whose return type sits on the line above.
_STRUCT_ARGUMENT = re.compile(r"struct[ \t\n]+[A-Za-z_]\w*[ \t\n*]*(?=[,)])")
_COLUMN0_CALL = re.compile(r"\n([A-Za-z_]\w*)[ \t]*\(")
_FIRST_CALL = re.compile(r"()([A-Za-z_]\w*)[ \t]*\(")


def not_expression(argument: str) -> bool:
    """True for an argument that is a type or a statement, not an expression."""
    return _NOT_EXPRESSION.match(argument.strip()) is not None


def iterator_edits(
    masked: str, start: int, open_pos: int, close_pos: int, edits: list[Edit]
) -> bool:
    """Turn ``NAME(args)`` into ``for(;;  args)`` (or ``if(args)`` for short names).

    Arguments that are types or statements are blanked, with the commas around
    them, so the kept ones form a comma expression.  False when the head is too
    short or crosses a line, in which case nothing is emitted.
    """
    head = open_pos + 1 - start
    if "\n" in masked[start:open_pos]:
        return False
    if head >= 6:
        keyword = "for(;;"
    elif head >= 3:
        keyword = "if("
    else:
        return False
    spans = split_args(masked, open_pos, close_pos)
    good = [not not_expression(masked[a:b]) and masked[a:b].strip() != "" for a, b in spans]
    if keyword == "if(" and not any(good):
        return False
    edits.append((start, open_pos + 1, keyword.ljust(head)))
    last_good = max((i for i, ok in enumerate(good) if ok), default=-1)
    for index, (a, b) in enumerate(spans):
        if not good[index]:
            edits.append((a, b, None))
        # The comma after an argument survives only between kept arguments.
        if b < close_pos and not (good[index] and index < last_good):
            edits.append((b, b + 1, " "))
    return True


class Rewriter:
    """Compiled scanners and handlers for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        handlers: dict[str, Handler] = {}
        for name in dialect.attribute_macros | set(dialect.attribute_replacements):
            handlers[name] = self._attribute
        for name in dialect.attribute_macros_with_args | dialect.annotation_macros_with_args:
            handlers[name] = self._attribute_args
        for name in dialect.declaration_macros:
            handlers[name] = self._declaration
        for name in dialect.iterator_macros | dialect.scoped_guards:
            handlers[name] = self._iterator
        for name in dialect.do_macros:
            handlers[name] = self._do
        for name in dialect.while_macros:
            handlers[name] = self._while
        for name in dialect.guards:
            handlers[name] = self._guard
        hints = set(dialect.scan_hints)
        # Type-argument macros are handled here only when a hint finds them
        # (the common ones); the repair pass handles the rest where they break.
        for name in dialect.type_arg_macros:
            if any(hint in name for hint in hints):
                handlers[name] = self._type_args
        self.handlers = handlers
        # Names and globs are found through the dialect's hints (substrings);
        # a glob with no hint is found through its longest literal chunk.
        self.globs: list[tuple[re.Pattern[str], Handler]] = []
        for patterns, handler in (
            (dialect.iterator_patterns, self._iterator),
            (dialect.variable_patterns, self._variable),
        ):
            for glob in patterns:
                chunks = [c for c in re.split(r"[*?\[\]]", glob) if c]
                if chunks and not any(h in c for c in chunks for h in hints):
                    hints.add(max(chunks, key=len))
            if patterns:
                regex = re.compile("|".join(fnmatch.translate(g) for g in patterns))
                self.globs.append((regex, handler))
        # A hint containing another hint is redundant: the shorter one finds
        # every identifier the longer one would.  Hints sharing a first letter
        # share one scan.
        hints = {h for h in hints if h and not any(o != h and o in h for o in hints)}
        by_letter: dict[str, list[str]] = defaultdict(list)
        for hint in hints:
            by_letter[hint[0]].append(hint)
        self.hint_scanners = [
            re.compile(trie(sorted(group))) for _, group in sorted(by_letter.items())
        ]
        # Names a hint scan already finds need no literal scan of their own.
        groups: dict[str, list[str]] = defaultdict(list)
        for name in handlers:
            if not any(hint in name for hint in hints):
                groups[name[:2]].append(name[2:])
        self.scanners = [
            re.compile(re.escape(prefix) + "(?:" + trie(rests) + r")(?!\w)")
            for prefix, rests in sorted(groups.items())
        ]
        self.function_regex = dialect.function_macro_regex()

    # -- scanning ---------------------------------------------------------

    def rewrite(self, text: str, masked: str, records: list[Record]) -> list[Edit]:
        edits: list[Edit] = []
        seen: set[int] = set()
        handlers = self.handlers
        for scanner in self.scanners:
            for match in scanner.finditer(masked):
                start = match.start()
                if start and is_word_char(masked[start - 1]):
                    continue
                seen.add(start)
                name = match.group()
                handlers[name](text, masked, name, start, match.end(), edits, records)
        for scanner in self.hint_scanners:
            for match in scanner.finditer(masked):
                start = match.start()
                while start > 0 and is_word_char(masked[start - 1]):
                    start -= 1
                if start in seen:
                    continue
                seen.add(start)
                end = _WORD_END.match(masked, match.end())
                stop = end.end() if end is not None else match.end()
                name = masked[start:stop]
                handler = handlers.get(name)
                if handler is None:
                    handler = next((h for regex, h in self.globs if regex.match(name)), None)
                if handler is not None:
                    handler(text, masked, name, start, stop, edits, records)
        if "..." in masked:
            self._case_ranges(masked, edits, records)
        self._column0(text, masked, edits, records)
        self._struct_arguments(text, masked, edits, records)
        return edits

    def _struct_arguments(
        self, text: str, masked: str, edits: list[Edit], records: list[Record]
    ) -> None:
        """``f(req, struct io_rw)`` in a body: a type argument of a macro.

        Cheap to find (the literal ``struct``) and common enough that leaving it
        to the repair pass would cost more; other type arguments are left there.
        """
        depth = BraceDepth(masked)
        recorded: set[int] = set()
        for match in _STRUCT_ARGUMENT.finditer(masked):
            start = match.start()
            if start and is_word_char(masked[start - 1]):
                continue
            before = prev_char(masked, start)
            while before >= 0 and is_word_char(masked[before]):
                word_start, word = word_before(masked, before + 1)
                if word not in ("const", "volatile"):
                    break
                start = word_start
                before = prev_char(masked, start)
            if before < 0 or masked[before] not in "(," or depth.at(start) <= 0:
                continue
            open_pos = before if masked[before] == "(" else open_paren(masked, before)
            if open_pos < 0:
                continue
            name_start, name = word_before(masked, open_pos)
            if not name or name in C_WORDS or name in self.handlers:
                continue
            end = match.end()
            while masked[end - 1] in " \t\n":
                end -= 1
            if masked[start:end] != text[start:end]:
                continue
            edits.extend(type_arg_edits(masked, start, end))
            if open_pos not in recorded:
                recorded.add(open_pos)
                call = call_after(masked, open_pos)
                if call is not None:
                    args = arg_texts(text, call[2])
                    records.append(("type_arg", name, args, name_start, call[1] + 1))

    def _column0(self, text: str, masked: str, edits: list[Edit], records: list[Record]) -> None:
        """File-scope invocations: function-defining and registration macros."""
        first = _FIRST_CALL.match(masked)
        matches = [first] if first is not None else []
        for match in (*matches, *_COLUMN0_CALL.finditer(masked)):
            group = 2 if match.re is _FIRST_CALL else 1
            name = match.group(group)
            start, end = match.start(group), match.end(group)
            if self.function_regex is not None and self.function_regex.fullmatch(name):
                self._function(text, masked, name, start, end, edits, records)
            elif self.dialect.is_registration(name):
                self._registration(text, masked, name, start, end, edits, records)

    # -- handlers ---------------------------------------------------------

    def _attribute(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        replacement = self.dialect.attribute_replacements.get(name)
        edits.append((start, end, replacement.ljust(end - start) if replacement else None))
        records.append(("attribute", name, (), start, end))

    def _attribute_args(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = call_after(masked, end)
        kind = "annotation" if name in self.dialect.annotation_macros_with_args else "attribute"
        if call is None:
            edits.append((start, end, None))
            records.append((kind, name, (), start, end))
            return
        _, close_pos, spans = call
        edits.append((start, close_pos + 1, None))
        records.append((kind, name, arg_texts(text, spans), start, close_pos + 1))

    @staticmethod
    def _loop_head(
        masked: str, start: int, end: int
    ) -> tuple[int, int, list[tuple[int, int]]] | None:
        """The call of a statement-position loop macro, or None if it is not one."""
        if not statement_position(masked, start):
            return None
        call = call_after(masked, end)
        if call is None:
            return None
        after = next_char(masked, call[1] + 1)
        if after < len(masked):
            ch = masked[after]
            if ch in ";,)]}=.?" or masked.startswith("->", after):
                return None
        return call

    def _iterator(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = self._loop_head(masked, start, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        if open_pos + 1 - start < 6 or not iterator_edits(
            masked, start, open_pos, close_pos, edits
        ):
            return
        kind = "scoped_guard" if name in self.dialect.scoped_guards else "iterator"
        records.append((kind, name, arg_texts(text, spans), start, close_pos + 1))

    def _do(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = self._loop_head(masked, start, end)
        if call is None:
            return
        _, close_pos, spans = call
        edits.append((start, start + 2, "do"))
        edits.append((start + 2, close_pos + 1, None))
        records.append(("iterator", name, arg_texts(text, spans), start, close_pos + 1))

    def _while(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = call_after(masked, end)
        if call is None or end - start < 5:
            return
        _, close_pos, spans = call
        edits.append((start, end, "while".ljust(end - start)))
        records.append(("iterator", name, arg_texts(text, spans), start, close_pos + 1))

    def _guard(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = call_after(masked, end)
        if call is None:
            return
        _, close_pos, spans = call
        second = call_after(masked, close_pos + 1)
        if second is None:
            return
        args = arg_texts(text, spans) + arg_texts(text, second[2])
        records.append(("guard", name, args, start, second[1] + 1))

    def _function(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = call_after(masked, end)
        spec = self.dialect.function_macro(name)
        if call is None or spec is None:
            return
        open_pos, close_pos, spans = call
        if not spans:
            return
        fname = masked[spans[0][0] : spans[0][1]].strip()
        if not IDENT.fullmatch(fname) or len(spans) % 2 == 0:
            return
        returns = spec.returns
        local: list[Edit] = []
        if len(spans) == 1:
            width = close_pos + 1 - start
            pad = width - len(returns) - len(fname) - 2
            if pad < 1 or "\n" in masked[start : close_pos + 1]:
                return
            local.append((start, close_pos + 1, returns + " " * pad + fname + "()"))
        else:
            if open_pos + 1 - start <= len(returns):
                return
            local.append((start, open_pos + 1, returns.ljust(open_pos + 1 - start)))
            local.append((spans[0][1], spans[0][1] + 1, "("))
            for a, b in spans[1::2]:
                if not masked[a:b].strip():
                    return
                local.append((b, b + 1, " "))
        edits.extend(local)
        records.append(("definition", name, arg_texts(text, spans), start, close_pos + 1))

    def _type_args(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = call_after(masked, end)
        if call is None:
            return
        _, close_pos, spans = call
        positions = self.dialect.type_arg_macros.get(name, ())
        local = type_position_edits(text, masked, name, start, spans, positions)
        if local:
            edits.extend(local)
            records.append(("type_arg", name, arg_texts(text, spans), start, close_pos + 1))

    def _declaration(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        call = call_after(masked, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        if len(spans) < 2:
            return
        edits.append((start, open_pos + 1, None))
        edits.append((spans[0][1], spans[0][1] + 1, " "))
        edits.append((spans[1][1], close_pos + 1, None))
        records.append(("definition", name, arg_texts(text, spans), start, close_pos + 1))

    @staticmethod
    def _case_ranges(masked: str, edits: list[Edit], records: list[Record]) -> None:
        """GNU ``case A ... B:`` ranges become ``case A  +  B:``."""
        for match in _CASE_RANGE.finditer(masked):
            dots = match.start()
            # The `case` keyword may be a line or two above the dots.
            window = max(masked.rfind(";", 0, dots), masked.rfind("{", 0, dots), dots - 400)
            case = _CASE_BEFORE.search(masked, max(window, 0), dots)
            if case is None:
                continue
            edits.append((dots, dots + 3, "  +"))
            records.append(("case_range", "case", (), case.start(), dots + 3))

    def _registration(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        prev = prev_char(masked, start)
        if prev >= 0 and masked[prev] not in ";})":
            return
        call = call_after(masked, end)
        if call is None:
            return
        _, close_pos, spans = call
        edits.append((start, close_pos + 1, None))
        records.append(("definition", name, arg_texts(text, spans), start, close_pos + 1))

    def _variable(
        self,
        text: str,
        masked: str,
        name: str,
        start: int,
        end: int,
        edits: list[Edit],
        records: list[Record],
    ) -> None:
        if not statement_position(masked, start) and not _after_storage_word(masked, start):
            return
        call = call_after(masked, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        after = next_char(masked, close_pos + 1)
        # Attributes may follow: `static DECLARE_BITMAP(m, 64) __initdata;`.
        while masked.startswith("__", after):
            word = IDENT.match(masked, after)
            after = next_char(masked, word.end()) if word is not None else after + 2
        if not spans or after >= len(masked) or masked[after] not in ";=":
            return
        a, b = spans[0]
        a = next_char(masked, a)
        b = prev_char(masked, b) + 1
        if not IDENT.fullmatch(masked[a:b]):
            # `DEFINE_TEST_OK(struct test_u8, name)`: a type, then the name.
            if len(spans) == 2 and _TYPE_FIRST.match(masked, a, b):
                self._declaration(text, masked, name, start, end, edits, records)
            return
        if open_pos + 1 - start < 4:
            return
        edits.append((start, open_pos + 1, "int".ljust(open_pos + 1 - start)))
        edits.append((b, close_pos + 1, None))
        if a > open_pos + 1:
            edits.append((open_pos + 1, a, None))
        records.append(("definition", name, arg_texts(text, spans), start, close_pos + 1))


def _after_storage_word(masked: str, start: int) -> bool:
    """True when the identifier at ``start`` follows a storage-class word."""
    prev = prev_char(masked, start)
    word_start = prev
    while word_start > 0 and is_word_char(masked[word_start - 1]):
        word_start -= 1
    return prev >= 0 and masked[word_start : prev + 1] in _STORAGE_WORDS
