"""Conditional groups the file itself decides: dead arms no configuration compiles.

Kernel code must be right in every configuration, so a conditional on a
``CONFIG_`` symbol, or on anything a header or the command line may define,
keeps both arms (the normaliser leaves such groups alone, or flattens them to
their first arm only to make them parse).  Some conditions are not configuration
at all:

```c
#define final_version               /* near the top of the driver */
...
#ifndef final_version
        free_irq(irq, dev);         /* never compiled */
#endif
```

A group is decided here when its every arm condition evaluates, at that point of
the file, from integer literals and from macros the file itself ``#define``s or
``#undef``s on every way to the group: before it, outside any conditional the
group is not also inside, and (for ``#undef``) with no ``#include`` since, which
might define the name again.  ``CONFIG_`` symbols never count, even when the file
defines one.  Anything else (a macro from a header, ``IS_ENABLED(...)``, an
arithmetic comparison) makes the condition unknown and the group stays as it was.

The result maps each decided group's opening directive offset to the index of
the arm that is compiled (-1: none); groups nested in a dead arm map to
``DEAD_GROUP``: the enclosing arm is blanked whole.
"""

from __future__ import annotations

import bisect
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .normalise_mask import SIMPLE_RUN
from .normalise_preproc import NO_ARM, Directive

__all__ = ["DEAD_GROUP", "decide_conditionals"]

DEAD_GROUP = -2

_OPENERS = frozenset({"if", "ifdef", "ifndef"})
_MIDDLES = frozenset({"elif", "else", "elifdef", "elifndef"})
_CONFIGURATION_PREFIX = "CONFIG_"
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_WORD = re.compile(r"[A-Za-z_]\w*")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)|(?P<word>[A-Za-z_]\w*)"
    r"|(?P<op>&&|\|\||[=!<>]=|<(?!<)|>(?!>)|!|\(|\)))"
)
_INTEGER = re.compile(r"\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\Z")

# A name's state at one point: defined (with its integer value when the body is
# one) or undefined, and the stack of undecided arms it was set in.
Arms = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Definition:
    defined: bool
    value: int | None
    arms: Arms


# Truth of a condition: True, False or None (unknown); the value of an expression.
Truth = bool | None
Value = int | None
_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _parse_int(text: str) -> int | None:
    match = _INTEGER.match(text)
    if match is None:
        return None
    digits = match.group(1)
    return int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 10)


class _Condition:
    """A recursive-descent evaluator of ``#if`` expressions over three truth values."""

    def __init__(self, text: str, known: dict[str, _Definition], arms: Arms) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.known = known
        self.arms = arms
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ValueError(text)
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0

    def evaluate(self) -> Truth:
        value = self.disjunction()
        if self.pos != len(self.tokens):
            raise ValueError("trailing tokens")
        return None if value is None else value != 0

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ValueError("unexpected end")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    # Values are integers, None when unknown; && and || decide with one known side.
    def disjunction(self) -> Value:
        value = self.conjunction()
        while self.peek() == "||":
            self.take()
            other = self.conjunction()
            if value is not None and value != 0 or other is not None and other != 0:
                value = 1
            else:
                value = None if value is None or other is None else 0
        return value

    def conjunction(self) -> Value:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            other = self.comparison()
            if value == 0 or other == 0:
                value = 0
            else:
                value = None if value is None or other is None else 1
        return value

    def comparison(self) -> Value:
        value = self.unary()
        while self.peek() in _COMPARISONS:
            symbol = self.take()[1]
            other = self.unary()
            value = (
                None if value is None or other is None else int(_COMPARISONS[symbol](value, other))
            )
        return value

    def unary(self) -> Value:
        if self.peek() == "!":
            self.take()
            value = self.unary()
            return None if value is None else int(value == 0)
        return self.primary()

    def primary(self) -> Value:
        kind, token = self.take()
        if token == "(":
            value = self.disjunction()
            if self.take()[1] != ")":
                raise ValueError("unbalanced")
            return value
        if kind == "number":
            return _parse_int(token)
        if kind != "word":
            raise ValueError(token)
        if token == "defined":
            parenthesised = self.peek() == "("
            if parenthesised:
                self.take()
            name_kind, name = self.take()
            if name_kind != "word" or parenthesised and self.take()[1] != ")":
                raise ValueError("defined")
            return self.is_defined(name)
        if self.peek() == "(":
            # A function-like macro (IS_ENABLED(...)): its value is not the file's.
            self.skip_arguments()
            return None
        definition = self.lookup(token)
        if definition is None:
            return None
        return definition.value if definition.defined else 0

    def skip_arguments(self) -> None:
        depth = 0
        while True:
            token = self.take()[1]
            depth += token == "("
            depth -= token == ")"
            if depth == 0:
                return

    def lookup(self, name: str) -> _Definition | None:
        definition = self.known.get(name)
        if definition is None or self.arms[: len(definition.arms)] != definition.arms:
            return None
        return definition

    def is_defined(self, name: str) -> Value:
        definition = self.lookup(name)
        return None if definition is None else int(definition.defined)


def _truth(name: str, condition: str, known: dict[str, _Definition], arms: Arms) -> Truth:
    condition = _COMMENT.sub(" ", condition).replace("\\\n", " ")
    if name in ("ifdef", "ifndef", "elifdef", "elifndef"):
        word = _WORD.match(condition.strip())
        condition = "defined " + word.group() if word else ""
        if name.endswith("ndef"):
            condition = "!(" + condition + ")"
    if not condition.strip():
        return None
    try:
        return _Condition(condition, known, arms).evaluate()
    except (ValueError, IndexError):
        return None


def _live_arm(group: Sequence[Directive], known: dict[str, _Definition], arms: Arms) -> int | None:
    """The index of the arm compiled, NO_ARM when none is, None when unknown."""
    for index, (name, _, _, condition) in enumerate(group[:-1]):
        if name == "else":
            return index
        truth = _truth(name, condition, known, arms)
        if truth is None:
            return None
        if truth:
            return index
    return NO_ARM


# `#define NAME`, `#undef NAME` and `#include` lines inside a directive span; the
# body is read only for the names a condition mentions.
_DEFINING_LINE = re.compile(r"^[ \t]*#[ \t]*(define|undef|include)\b[ \t]*(\w*)", re.M)
_LINE_END = re.compile(r"(?:[^\n\\]|\\\n|\\)*")
# The names conditions mention: only those need the file's definitions.
_CONDITION_NAMES = re.compile(r"[A-Za-z_]\w*")


def _condition_names(directives: Sequence[Directive]) -> set[str]:
    names: set[str] = set()
    for name, _, _, condition in directives:
        if name in _OPENERS or name in _MIDDLES:
            names.update(_CONDITION_NAMES.findall(_COMMENT.sub(" ", condition)))
    names.discard("defined")
    return {name for name in names if not name.startswith(_CONFIGURATION_PREFIX)}


@dataclass(frozen=True)
class _Event:
    offset: int
    kind: str  # define, undef, include
    name: str
    value: int | None


def _events(text: str, directives: Sequence[Directive], names: set[str]) -> list[_Event]:
    events: list[_Event] = []
    for kind, start, end, _ in directives:
        if kind not in ("define", "undef", "include", SIMPLE_RUN):
            continue
        for match in _DEFINING_LINE.finditer(text, start, end):
            defining, name = match.groups()
            if defining == "include":
                events.append(_Event(match.start(), "include", "", None))
                continue
            if name not in names:
                continue
            value = None
            if text.startswith(" ", match.end()) or text.startswith("\t", match.end()):
                body = _LINE_END.match(text, match.end())
                value = _parse_int(_COMMENT.sub(" ", body.group())) if body else None
            events.append(_Event(match.start(), defining, name, value))
    return events


def decide_conditionals(text: str, directives: Sequence[Directive]) -> dict[int, int]:
    """Map the opening offset of each group the file decides to its compiled arm
    (NO_ARM: none; DEAD_GROUP: the group lies in a dead arm)."""
    names = _condition_names(directives)
    literal = any(
        name in ("if", "elif") and _INTEGER.match(_COMMENT.sub(" ", condition))
        for name, _, _, condition in directives
    )
    if not names and not literal:
        return {}
    groups = _groups(directives)
    events = _events(text, directives, names) if names else []
    event_offsets = [event.offset for event in events]
    known: dict[str, _Definition] = {}
    decided: dict[int, int] = {}
    # Frames: (group opener offset, arm index, live arm or None when undecided).
    frames: list[tuple[int, int, int | None]] = []
    dead = 0  # frames whose current arm is not compiled (or that lie in one)
    applied = 0
    for directive in directives:
        name, start = directive[0], directive[1]
        # Definitions up to here run in the current arm.
        upto = bisect.bisect_left(event_offsets, start)
        if not dead and upto > applied:
            arms = _arm_stack(frames)
            for event in events[applied:upto]:
                _apply(event, known, arms)
        applied = max(applied, upto)
        if name in _OPENERS:
            group = groups.get(start)
            if group is None:
                continue
            if dead:
                decided[start] = DEAD_GROUP
                frames.append((start, 0, DEAD_GROUP))
                dead += 1
                continue
            live = _live_arm(group, known, _arm_stack(frames))
            if live is not None:
                decided[start] = live
            frames.append((start, 0, live))
            dead += live is not None and live != 0
        elif name in _MIDDLES and frames:
            opener, arm, live = frames[-1]
            was_dead = live is not None and arm != live
            frames[-1] = (opener, arm + 1, live)
            now_dead = live is not None and arm + 1 != live
            dead += now_dead - was_dead
        elif name == "endif" and frames:
            _, arm, live = frames.pop()
            dead -= live is not None and arm != live
    return decided


def _arm_stack(frames: list[tuple[int, int, int | None]]) -> Arms:
    return tuple((opener, arm) for opener, arm, live in frames if live is None)


def _apply(event: _Event, known: dict[str, _Definition], arms: Arms) -> None:
    if event.kind == "include":
        # A header may define again what the file undefined.
        for name in [name for name, found in known.items() if not found.defined]:
            del known[name]
        return
    known[event.name] = _Definition(event.kind == "define", event.value, arms)


def _groups(directives: Sequence[Directive]) -> dict[int, list[Directive]]:
    """Complete groups by the offset of their opening directive."""
    complete: dict[int, list[Directive]] = {}
    stack: list[list[Directive]] = []
    for directive in directives:
        name = directive[0]
        if name in _OPENERS:
            stack.append([directive])
        elif name in _MIDDLES and stack:
            stack[-1].append(directive)
        elif name == "endif" and stack:
            group = stack.pop()
            group.append(directive)
            complete[group[0][1]] = group
    return complete
