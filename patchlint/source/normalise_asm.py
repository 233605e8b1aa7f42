"""Inline asm in a failing declaration: macros standing for strings and operands.

Kernel asm statements build templates, constraints and operand lists from
macros (``asm volatile(KVM_HYPERCALL : ...)``, ``ASM_CALL_CONSTRAINT``,
``CC_OUT(c) (v)``), which tree-sitter-c cannot read.  Here they become empty
strings or ``""(0)`` operands of the same length; the statement stays an
asm statement (the verdict reports the function as "not analysed").
"""

from __future__ import annotations

import re

from .normalise_scan import IDENT, Edit, close_paren, next_char, split_args

__all__ = ["ASM_KEYWORD", "asm_edits"]

# `asm`, `__asm` and `__asm__` are found by their `asm` (word boundaries are
# checked by the caller), then qualifiers and the opening parenthesis.
ASM_KEYWORD = re.compile(
    r"asm(?:__)?(?![\w$])"
    r"(?:[ \t\n]+(?:volatile|__volatile__|inline|__inline__|__inline|goto)(?!\w))*[ \t\n]*\("
)


def asm_edits(masked: str, open_pos: int, close: int) -> list[Edit]:
    """Edits for the asm statement whose parentheses are at ``open_pos``/``close``."""
    local: list[Edit] = []
    for index, (a, b) in enumerate(_asm_sections(masked, open_pos + 1, close)):
        if index in (0, 3):
            _asm_strings_only(masked, a, b, local)
        elif index in (1, 2):
            _asm_operands(masked, a, b, local)
    return local


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
