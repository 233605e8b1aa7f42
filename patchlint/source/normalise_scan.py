"""Text helpers shared by the normaliser's passes.

All of them work on the *mask*: the text with comments, string contents,
character literals and directive lines blanked (string quotes are kept so a
pass can tell "a string stood here").  The mask is pure ASCII with one
character per character of the text, so its indices are the text's indices.
"""

from __future__ import annotations

import re
from typing import TypeAlias

# A same-length edit of the text: (start, end, replacement); None means "blank".
Edit = tuple[int, int, "str | None"]
# A side-table entry before byte conversion: (kind, name, args, start, end).
Record = tuple[str, str, tuple[str, ...], int, int]

_SPACE = re.compile(r"\s*")
_NON_IDENT = re.compile(r"[^\w\n]")
PRIMITIVES = frozenset(
    "unsigned signed short long int char void float double bool _Bool __int128".split()
)
# Words tree-sitter-c reads as keywords or primitive types, so a type argument
# that is just one of them must be disguised as an identifier.
TYPE_WORDS = PRIMITIVES | frozenset(
    "size_t ssize_t ptrdiff_t intptr_t uintptr_t int8_t int16_t int32_t int64_t "
    "uint8_t uint16_t uint32_t uint64_t char16_t char32_t nullptr_t max_align_t".split()
)
TAGS = frozenset({"struct", "union", "enum"})
QUALIFIERS = frozenset(
    "static extern inline __inline __inline__ const volatile register auto _Noreturn "
    "typedef restrict __restrict __restrict__ _Thread_local __thread".split()
)
# C keywords that can stand where a macro name could: a pass that looks for
# "identifier followed by (" must never take one of these for a macro.
STATEMENT_KEYWORDS = frozenset(
    "if for while switch return else do case default goto break continue sizeof typeof "
    "__typeof__ __typeof _Alignof __alignof__ alignof _Generic _Static_assert static_assert "
    "asm __asm__ __asm volatile __volatile__ __attribute__ __attribute defined offsetof "
    "__builtin_offsetof __extension__ __builtin_va_arg".split()
)
C_WORDS = TAGS | PRIMITIVES | QUALIFIERS | STATEMENT_KEYWORDS
# Keywords tree-sitter-c gives a fixed grammar that kernel uses (array members,
# expressions) break; a same-length plain identifier makes them ordinary calls.
KEYWORD_CALLS = frozenset({"offsetof", "__alignof__", "__builtin_offsetof"})
_PARENS = re.compile(r"[()]")
_SEPARATORS = re.compile(r"[(){}\[\],]")
_BLANK_ASCII = str.maketrans({code: " " for code in range(128) if code != ord("\n")})
IDENT = re.compile(r"[A-Za-z_]\w*")
MAX_PAREN_SCAN = 60000


def blank(segment: str) -> str:
    """Spaces for ``segment``, keeping newlines and (for byte/char parity) non-ASCII."""
    if "\n" not in segment and segment.isascii():
        return " " * len(segment)
    # str.translate has a fast path for ASCII mapped to ASCII; other characters stay.
    return segment.translate(_BLANK_ASCII)


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def next_char(masked: str, pos: int) -> int:
    """Index of the first non-space character at or after ``pos``."""
    match = _SPACE.match(masked, pos)
    return match.end() if match is not None else pos


def prev_char(masked: str, pos: int) -> int:
    """Index of the last non-space character before ``pos`` (-1 if none)."""
    pos -= 1
    while pos >= 0 and masked[pos] in " \t\n\r\f\v\\":
        pos -= 1
    return pos


def word_before(masked: str, pos: int) -> tuple[int, str]:
    """The identifier ending just before ``pos`` (skipping spaces): (start, word)."""
    end = prev_char(masked, pos) + 1
    start = end
    while start > 0 and is_word_char(masked[start - 1]):
        start -= 1
    return start, masked[start:end]


def close_paren(masked: str, open_pos: int) -> int:
    """Index of the parenthesis matching the one at ``open_pos``, or -1."""
    depth = 0
    for match in _PARENS.finditer(masked, open_pos, open_pos + MAX_PAREN_SCAN):
        if masked[match.start()] == "(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return match.start()
    return -1


def open_paren(masked: str, pos: int, limit: int = 4000) -> int:
    """Index of the unclosed ``(`` enclosing ``pos``, or -1."""
    depth = 0
    stop = max(-1, pos - limit)
    for index in range(pos - 1, stop, -1):
        ch = masked[index]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                return index
            depth -= 1
        elif ch in ";{}":
            return -1
    return -1


def split_args(masked: str, open_pos: int, close_pos: int) -> list[tuple[int, int]]:
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


def call_after(masked: str, end: int) -> tuple[int, int, list[tuple[int, int]]] | None:
    """``(open, close, args)`` when a parenthesised argument list follows ``end``."""
    open_pos = next_char(masked, end)
    if open_pos >= len(masked) or masked[open_pos] != "(":
        return None
    close_pos = close_paren(masked, open_pos)
    if close_pos < 0:
        return None
    return open_pos, close_pos, split_args(masked, open_pos, close_pos)


def arg_texts(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    """Argument texts with whitespace runs folded, as the side table keeps them."""
    return tuple(" ".join(text[a:b].split()) for a, b in spans)


def statement_position(masked: str, start: int) -> bool:
    """True when an identifier at ``start`` begins a statement."""
    prev = prev_char(masked, start)
    if prev < 0:
        return True
    ch = masked[prev]
    if ch in ";{}):":
        return True
    if is_word_char(ch):
        return word_before(masked, prev + 1)[1] in ("else", "do")
    return False


# A character trie: each key is one character ("" marks the end of a word).
_Trie: TypeAlias = "dict[str, _Trie]"


def trie(words: list[str]) -> str:
    """A regex alternation shaped as a trie, so `re` does not retry every word."""
    root: _Trie = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        alternatives = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


_DIRECTIVE_COMMENT = re.compile(r"/\*.*?(?:\*/|$)|//.*", re.S)


def blank_code(segment: str) -> str:
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


def apply_edits(text: str, masked: str, edits: list[Edit]) -> tuple[str, str, list[Edit]]:
    """Apply same-length edits to the text and to its mask.

    Returns the new text, the new mask and the edits actually applied (an edit
    overlapping an earlier one, or a replacement that would cross a newline or
    a non-ASCII character, is dropped: the position guarantee wins).
    """
    if not edits:
        return text, masked, []
    edits.sort(key=lambda e: (e[0], -e[1]))
    pieces: list[str] = []
    mask_pieces: list[str] = []
    applied: list[Edit] = []
    pos = 0
    for start, end, replacement in edits:
        if start < pos:
            # Overlaps an earlier edit (e.g. a blanked branch containing a
            # directive); the part past the earlier edit still needs blanking.
            if replacement is None and end > pos:
                pieces.append(blank_code(text[pos:end]))
                mask_pieces.append(blank(masked[pos:end]))
                applied.append((pos, end, None))
                pos = end
            continue
        segment = text[start:end]
        if replacement is not None and (
            "\n" in segment or not segment.isascii() or len(replacement) != end - start
        ):
            continue
        pieces.append(text[pos:start])
        mask_pieces.append(masked[pos:start])
        if replacement is None:
            pieces.append(blank_code(segment))
            mask_pieces.append(blank(masked[start:end]))
        else:
            pieces.append(replacement)
            mask_pieces.append(replacement)
        applied.append((start, end, replacement))
        pos = end
    pieces.append(text[pos:])
    mask_pieces.append(masked[pos:])
    return "".join(pieces), "".join(mask_pieces), applied


def identifier_for(piece: str) -> str:
    """A same-length identifier standing for ``piece`` (which has no newline)."""
    ident = _NON_IDENT.sub("_", piece)
    if ident[:1].isdigit() or ident in TYPE_WORDS:
        ident = "_" + ident[1:]
    return ident


def type_position_edits(
    text: str,
    masked: str,
    name: str,
    start: int,
    spans: list[tuple[int, int]],
    positions: tuple[int, ...],
) -> list[Edit]:
    """Edits turning the arguments at ``positions`` of ``name(...)`` into identifiers."""
    local: list[Edit] = []
    if name in KEYWORD_CALLS:
        local.append((start, start + 1, "_"))
    for index in positions:
        if index >= len(spans):
            continue
        a = next_char(masked, spans[index][0])
        b = spans[index][1]
        while b > a and masked[b - 1] in " \t\n":
            b -= 1
        piece = masked[a:b]
        if b <= a or "\n" in piece or piece != text[a:b]:
            continue
        if IDENT.fullmatch(piece) and piece not in TYPE_WORDS:
            continue
        local.append((a, b, identifier_for(piece)))
    return local


class BraceDepth:
    """Brace depth at a position, counted incrementally for increasing positions."""

    def __init__(self, masked: str) -> None:
        self.masked = masked
        self.pos = 0
        self.depth = 0

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos = self.depth = 0
        masked = self.masked
        self.depth += masked.count("{", self.pos, pos) - masked.count("}", self.pos, pos)
        self.pos = pos
        return self.depth


def indent_width(masked: str, pos: int) -> int:
    line_start = masked.rfind("\n", 0, pos) + 1
    return len(masked[line_start:pos].expandtabs(8))


_TYPE_ARG_WORDS = re.compile(r"[A-Za-z_]\w*|\*")


def type_arg_edits(masked: str, a: int, b: int) -> list[Edit]:
    """Edits that turn the type at ``[a, b)`` into a same-length identifier."""
    local: list[Edit] = []
    primitives: list[re.Match[str]] = []
    for token in _TYPE_ARG_WORDS.finditer(masked, a, b):
        value = token.group()
        if value == "*" or value in TAGS or value in ("const", "volatile"):
            local.append((token.start(), token.end(), None))
        elif value in PRIMITIVES:
            primitives.append(token)
    if primitives:
        first, last = primitives[0].start(), primitives[-1].end()
        piece = masked[first:last]
        if "\n" in piece:
            for token in primitives[:-1]:
                local.append((token.start(), token.end(), None))
            word = primitives[-1]
            local.append((word.start(), word.start() + 1, "_"))
        else:
            local.append((first, last, identifier_for(piece)))
    return local
