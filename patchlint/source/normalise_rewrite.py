"""Macro rewrites of the normaliser (see ``normalise.py`` for the contract).

Each handler receives the original text and its mask (comments, literals and
directive lines blanked) and emits same-length edits ``(start, end, text)``
where ``text`` is ``None`` for "blank this span".  Handlers only ever touch
ASCII code characters, so character and byte lengths stay equal.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Callable

from .normalise_dialect import Dialect

Edit = tuple[int, int, "str | None"]
Record = tuple[str, str, tuple[str, ...], int, int]

_WORD_END = re.compile(r"\w*")
_SPACE = re.compile(r"\s*")
_PARENS = re.compile(r"[()]")
_SEPARATORS = re.compile(r"[(){}\[\],]")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_NON_IDENT = re.compile(r"[^\w\n]")
# An argument starting with one of these is a type or a statement, never an
# expression, so it cannot stay inside a `for (;; ...)` head.
_NOT_EXPRESSION = re.compile(
    r"(?:struct|union|enum|const|volatile|unsigned|signed|int|char|long|short|void|bool"
    r"|float|double|size_t|ssize_t|return|goto|break|continue)\b|.*\*$",
    re.S,
)
# Words tree-sitter-c reads as keywords or primitive types, so a type argument
# that is just one of them must be disguised as an identifier.
_TYPE_WORDS = frozenset(
    "struct union enum const volatile unsigned signed int char long short void bool float "
    "double size_t ssize_t ptrdiff_t intptr_t uintptr_t int8_t int16_t int32_t int64_t "
    "uint8_t uint16_t uint32_t uint64_t char16_t char32_t nullptr_t max_align_t".split()
)
_MAX_PAREN_SCAN = 60000
_TYPE_WORDS_MACROS = frozenset({"offsetof", "__alignof__", "__builtin_offsetof"})
_CASE_RANGE = re.compile(r"\.\.\.")
_CASE_LINE = re.compile(r"\bcase\b[^:;{}]*$")
_STORAGE_WORDS = frozenset({"static", "extern", "const"})


def blank(segment: str) -> str:
    """Spaces for ``segment``, keeping newlines and (for byte/char parity) non-ASCII."""
    if segment.isascii():
        if "\n" not in segment:
            return " " * len(segment)
        return "\n".join(" " * len(part) for part in segment.split("\n"))
    return re.sub(r"[\x00-\x09\x0b-\x7f]+", lambda m: " " * len(m.group()), segment)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _next(masked: str, pos: int) -> int:
    """Index of the first non-space character at or after ``pos``."""
    return _SPACE.match(masked, pos).end()  # type: ignore[union-attr]


def _prev(masked: str, pos: int) -> int:
    """Index of the last non-space character before ``pos`` (-1 if none)."""
    pos -= 1
    while pos >= 0 and masked[pos] in " \t\n\r\f\v\\":
        pos -= 1
    return pos


def _close(masked: str, open_pos: int) -> int:
    """Index of the parenthesis matching the one at ``open_pos``, or -1."""
    depth = 0
    for match in _PARENS.finditer(masked, open_pos, open_pos + _MAX_PAREN_SCAN):
        if masked[match.start()] == "(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return match.start()
    return -1


def _split(masked: str, open_pos: int, close_pos: int) -> list[tuple[int, int]]:
    """Top-level argument spans between a pair of parentheses (commas excluded)."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = open_pos + 1
    for match in _SEPARATORS.finditer(masked, open_pos + 1, close_pos):
        ch = masked[match.start()]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif depth == 0:
            spans.append((start, match.start()))
            start = match.start() + 1
    if start < close_pos or spans:
        spans.append((start, close_pos))
    return spans


def _statement_position(masked: str, start: int) -> bool:
    """True when an identifier at ``start`` begins a statement."""
    prev = _prev(masked, start)
    if prev < 0:
        return True
    ch = masked[prev]
    if ch in ";{}):":
        return True
    if _is_word_char(ch):
        word_start = prev
        while word_start > 0 and _is_word_char(masked[word_start - 1]):
            word_start -= 1
        return masked[word_start : prev + 1] in ("else", "do")
    return False


def _after_word(masked: str, start: int) -> bool:
    """True when the identifier at ``start`` follows a storage-class word."""
    prev = _prev(masked, start)
    word_start = prev
    while word_start > 0 and _is_word_char(masked[word_start - 1]):
        word_start -= 1
    return prev >= 0 and masked[word_start : prev + 1] in _STORAGE_WORDS


def _literal_prefix(pattern: str) -> str:
    match = re.match(r"[A-Za-z0-9_]*", pattern)
    return match.group() if match else ""


def _trie(words: list[str]) -> str:
    """A regex alternation shaped as a trie, so `re` does not retry every word."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alternatives = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


class Rewriter:
    """Compiled scanners and handlers for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        handlers: dict[str, Callable[..., None]] = {}
        for name in dialect.attribute_macros:
            handlers[name] = self._attribute
        for name in dialect.attribute_replacements:
            handlers[name] = self._attribute
        for name in dialect.attribute_macros_with_args:
            handlers[name] = self._attribute_args
        for name in dialect.annotation_macros_with_args:
            handlers[name] = self._attribute_args
        for name in dialect.declaration_macros:
            handlers[name] = self._declaration
        for name in dialect.type_arg_macros:
            handlers[name] = self._type_args
        for name in dialect.iterator_macros | dialect.scoped_guards:
            handlers[name] = self._iterator
        for name in dialect.do_macros:
            handlers[name] = self._do
        for name in dialect.while_macros:
            handlers[name] = self._while
        for name in dialect.guards:
            handlers[name] = self._guard
        self.handlers = handlers
        # Group literal names by a two-character prefix: one regex per group
        # lets `re` jump between prefix occurrences instead of trying a big
        # alternation at every position of the file.
        groups: dict[str, list[str]] = defaultdict(list)
        for name in handlers:
            groups[name[:2]].append(name[2:])
        self.scanners = [
            re.compile(re.escape(prefix) + "(?:" + _trie(rests) + r")(?!\w)")
            for prefix, rests in sorted(groups.items())
        ]
        self.function_regex = dialect.function_macro_regex()
        prefixes = {_literal_prefix(p) for p in dialect.definition_macros}
        self.function_scanners = [re.compile(re.escape(p) + r"\w*") for p in sorted(prefixes) if p]
        # Glob rules are found through their longest literal chunk, then the
        # whole identifier is matched against the glob.
        self.globs: list[tuple[re.Pattern[str], Callable[..., None]]] = []
        hints: set[str] = set()
        for patterns, handler in (
            (dialect.iterator_patterns, self._iterator),
            (dialect.variable_patterns, self._variable),
            (dialect.registration_patterns, self._registration),
        ):
            for glob in patterns:
                chunks = [c for c in re.split(r"[*?\[\]]", glob) if c]
                if chunks:
                    hints.add(max(chunks, key=len))
            if patterns:
                regex = re.compile("|".join(fnmatch.translate(g) for g in patterns))
                self.globs.append((regex, handler))
        # A hint containing another hint is redundant: the shorter one finds
        # every identifier the longer one would.
        hints = {h for h in hints if not any(o != h and o in h for o in hints)}
        self.hint_scanners = [re.compile(re.escape(h)) for h in sorted(hints)]

    # -- scanning ---------------------------------------------------------

    def rewrite(self, text: str, masked: str, records: list[Record]) -> list[Edit]:
        edits: list[Edit] = []
        seen: set[int] = set()
        handlers = self.handlers
        for scanner in self.scanners:
            for match in scanner.finditer(masked):
                start = match.start()
                if start and _is_word_char(masked[start - 1]):
                    continue
                seen.add(start)
                name = match.group()
                handlers[name](text, masked, name, start, match.end(), edits, records)
        for scanner in self.hint_scanners:
            for match in scanner.finditer(masked):
                start = match.start()
                while start > 0 and _is_word_char(masked[start - 1]):
                    start -= 1
                if start in seen:
                    continue
                seen.add(start)
                end = _WORD_END.match(masked, match.end()).end()  # type: ignore[union-attr]
                name = masked[start:end]
                for regex, handler in self.globs:
                    if regex.match(name):
                        handler(text, masked, name, start, end, edits, records)
                        break
        if "..." in masked:
            self._case_ranges(masked, edits, records)
        if self.function_regex is not None:
            for scanner in self.function_scanners:
                for match in scanner.finditer(masked):
                    start = match.start()
                    if start and _is_word_char(masked[start - 1]):
                        continue
                    name = match.group()
                    if self.function_regex.fullmatch(name):
                        self._function(text, masked, name, start, match.end(), edits, records)
        return edits

    # -- handlers ---------------------------------------------------------

    @staticmethod
    def _call(masked: str, end: int) -> tuple[int, int, list[tuple[int, int]]] | None:
        """``(open, close, args)`` when a parenthesised argument list follows."""
        open_pos = _next(masked, end)
        if open_pos >= len(masked) or masked[open_pos] != "(":
            return None
        close_pos = _close(masked, open_pos)
        if close_pos < 0:
            return None
        return open_pos, close_pos, _split(masked, open_pos, close_pos)

    @staticmethod
    def _args(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
        return tuple(" ".join(text[a:b].split()) for a, b in spans)

    def _attribute(self, text, masked, name, start, end, edits, records) -> None:
        replacement = self.dialect.attribute_replacements.get(name)
        edits.append((start, end, replacement.ljust(end - start) if replacement else None))
        records.append(("attribute", name, (), start, end))

    def _attribute_args(self, text, masked, name, start, end, edits, records) -> None:
        call = self._call(masked, end)
        kind = "annotation" if name in self.dialect.annotation_macros_with_args else "attribute"
        if call is None:
            edits.append((start, end, None))
            records.append((kind, name, (), start, end))
            return
        _, close_pos, spans = call
        edits.append((start, close_pos + 1, None))
        records.append((kind, name, self._args(text, spans), start, close_pos + 1))

    def _loop_head(self, masked: str, name: str, start: int, end: int):
        """The call of a statement-position loop macro, or None if it is not one."""
        if not _statement_position(masked, start):
            return None
        call = self._call(masked, end)
        if call is None:
            return None
        after = _next(masked, call[1] + 1)
        if after < len(masked):
            ch = masked[after]
            if ch in ";,)]}=.?" or masked.startswith("->", after):
                return None
        return call

    def _iterator(self, text, masked, name, start, end, edits, records) -> None:
        call = self._loop_head(masked, name, start, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        head = open_pos + 1 - start
        if head < 6 or "\n" in masked[start:open_pos]:
            return
        edits.append((start, open_pos + 1, "for(;;".ljust(head)))
        good = [not _NOT_EXPRESSION.match(masked[a:b].strip()) for a, b in spans]
        last_good = max((i for i, ok in enumerate(good) if ok), default=-1)
        for index, (a, b) in enumerate(spans):
            if not good[index]:
                edits.append((a, b, None))
            # The comma after an argument survives only between kept arguments.
            if b < close_pos and not (good[index] and index < last_good):
                edits.append((b, b + 1, " "))
        kind = "scoped_guard" if name in self.dialect.scoped_guards else "iterator"
        records.append((kind, name, self._args(text, spans), start, close_pos + 1))

    def _do(self, text, masked, name, start, end, edits, records) -> None:
        call = self._loop_head(masked, name, start, end)
        if call is None:
            return
        _, close_pos, spans = call
        edits.append((start, start + 2, "do"))
        edits.append((start + 2, close_pos + 1, None))
        records.append(("iterator", name, self._args(text, spans), start, close_pos + 1))

    def _while(self, text, masked, name, start, end, edits, records) -> None:
        call = self._call(masked, end)
        if call is None or end - start < 5:
            return
        _, close_pos, spans = call
        edits.append((start, end, "while".ljust(end - start)))
        records.append(("iterator", name, self._args(text, spans), start, close_pos + 1))

    def _guard(self, text, masked, name, start, end, edits, records) -> None:
        call = self._call(masked, end)
        if call is None:
            return
        _, close_pos, spans = call
        second = self._call(masked, close_pos + 1)
        if second is None:
            return
        args = self._args(text, spans) + self._args(text, second[2])
        records.append(("guard", name, args, start, second[1] + 1))

    def _function(self, text, masked, name, start, end, edits, records) -> None:
        call = self._call(masked, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        if not spans:
            return
        fname = masked[spans[0][0] : spans[0][1]].strip()
        if not _IDENT.fullmatch(fname) or len(spans) % 2 == 0:
            return
        spec = next(s for p, s in self.dialect.definition_macros.items() if re.fullmatch(p, name))
        returns = spec.returns
        if len(spans) == 1:
            width = close_pos + 1 - start
            pad = width - len(returns) - len(fname) - 2
            if pad < 1 or "\n" in masked[start : close_pos + 1]:
                return
            edits.append((start, close_pos + 1, returns + " " * pad + fname + "()"))
        else:
            if open_pos + 1 - start <= len(returns):
                return
            edits.append((start, open_pos + 1, returns.ljust(open_pos + 1 - start)))
            edits.append((spans[0][1], spans[0][1] + 1, "("))
            for a, b in spans[1::2]:
                if not masked[a:b].strip():
                    return
                edits.append((b, b + 1, " "))
        records.append(("definition", name, self._args(text, spans), start, close_pos + 1))

    def _declaration(self, text, masked, name, start, end, edits, records) -> None:
        call = self._call(masked, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        if len(spans) < 2:
            return
        edits.append((start, open_pos + 1, None))
        edits.append((spans[0][1], spans[0][1] + 1, " "))
        edits.append((spans[1][1], close_pos + 1, None))
        records.append(("definition", name, self._args(text, spans), start, close_pos + 1))

    def _case_ranges(self, masked: str, edits: list[Edit], records: list[Record]) -> None:
        """GNU ``case A ... B:`` ranges become ``case A  +  B:``."""
        for match in _CASE_RANGE.finditer(masked):
            dots = match.start()
            line_start = masked.rfind("\n", 0, dots) + 1
            case = _CASE_LINE.search(masked, line_start, dots)
            if case is None:
                continue
            edits.append((dots, dots + 3, "  +"))
            records.append(("case_range", "case", (), case.start(), dots + 3))

    def _registration(self, text, masked, name, start, end, edits, records) -> None:
        prev = _prev(masked, start)
        if prev >= 0 and masked[prev] not in ";})":
            return
        call = self._call(masked, end)
        if call is None:
            return
        _, close_pos, spans = call
        edits.append((start, close_pos + 1, None))
        records.append(("definition", name, self._args(text, spans), start, close_pos + 1))

    def _variable(self, text, masked, name, start, end, edits, records) -> None:
        if not _statement_position(masked, start) and not _after_word(masked, start):
            return
        call = self._call(masked, end)
        if call is None:
            return
        open_pos, close_pos, spans = call
        after = _next(masked, close_pos + 1)
        if not spans or after >= len(masked) or masked[after] not in ";=":
            return
        a, b = spans[0]
        a = _next(masked, a)
        b = _prev(masked, b) + 1
        if not _IDENT.fullmatch(masked[a:b]) or open_pos + 1 - start < 4:
            return
        edits.append((start, open_pos + 1, "int".ljust(open_pos + 1 - start)))
        edits.append((b, close_pos + 1, None))
        if a > open_pos + 1:
            edits.append((open_pos + 1, a, None))
        records.append(("definition", name, self._args(text, spans), start, close_pos + 1))

    def _type_args(self, text, masked, name, start, end, edits, records) -> None:
        call = self._call(masked, end)
        if call is None:
            return
        _, close_pos, spans = call
        if name in _TYPE_WORDS_MACROS:
            # tree-sitter-c gives these keywords a fixed grammar that kernel
            # uses (array members, expressions) break; a same-length plain
            # identifier makes them ordinary calls.
            edits.append((start, start + 1, "_"))
        changed = False
        for index in self.dialect.type_arg_macros.get(name, ()):
            if index >= len(spans):
                continue
            a, b = spans[index]
            a = _next(masked, a)
            b = _prev(masked, b) + 1
            piece = masked[a:b]
            if b <= a or "\n" in piece or masked[a:b] != text[a:b]:
                continue
            if _IDENT.fullmatch(piece) and piece not in _TYPE_WORDS:
                continue
            ident = _NON_IDENT.sub("_", piece)
            if ident in _TYPE_WORDS or not _IDENT.fullmatch(ident):
                ident = "_" + ident[1:]
            edits.append((a, b, ident))
            changed = True
        if changed:
            records.append(("type_arg", name, self._args(text, spans), start, close_pos + 1))
