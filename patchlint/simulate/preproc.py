"""Just enough of the C preprocessor to pick the configured branch of ``#if`` blocks.

Kernel headers define the same function or constant several times under
different ``CONFIG_`` options (``freezing()`` has a real body and a stub); the
simulator must run the one a configured kernel would build.  Conditions are
evaluated against the scenario's set of defined symbols; an undefined symbol is
0, as in C.  A condition this module cannot read counts as true, so a definition
is never lost because of it.
"""

from __future__ import annotations

import functools
import re

from patchlint.source import c_integer

_DIRECTIVE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<id>[A-Za-z_]\w*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|<<|>>|[()!<>+\-*/%&|^~?:,]))"
)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//.*", " ", text)


def eval_condition(condition: str, defined: frozenset[str]) -> bool:
    """Evaluate an ``#if`` expression; unreadable conditions are true."""
    text = _strip_comments(condition).strip()
    out: list[str] = []
    pos = 0
    tokens: list[tuple[str, str]] = []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            return True
        pos = match.end()
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "id" and value in ("defined", "IS_ENABLED", "IS_BUILTIN", "IS_REACHABLE"):
            # `defined X` or `defined(X)`
            j = i + 1
            if j < len(tokens) and tokens[j][1] == "(":
                if j + 2 >= len(tokens) or tokens[j + 2][1] != ")":
                    return True
                name, i = tokens[j + 1][1], j + 3
            elif j < len(tokens):
                name, i = tokens[j][1], j + 1
            else:
                return True
            out.append("1" if name in defined else "0")
            continue
        if kind == "id":
            out.append("1" if value in defined else "0")
        elif kind == "num":
            out.append(str(c_integer(value) or 0))
        elif value == "&&":
            out.append(" and ")
        elif value == "||":
            out.append(" or ")
        elif value == "!":
            out.append(" not ")
        elif value in ("?", ":", ","):
            return True
        else:
            out.append(value)
        i += 1
    try:
        return bool(eval("".join(out), {"__builtins__": {}}, {}))  # noqa: S307 - digits and operators only
    except Exception:
        return True


@functools.lru_cache(maxsize=256)
def line_activity(text: str, defined: frozenset[str]) -> tuple[bool, ...]:
    """For every line of ``text``, whether a configured build would compile it."""
    active: list[bool] = []
    # Each frame: (parent active, this branch active, some branch already taken)
    stack: list[tuple[bool, bool, bool]] = []
    current = True
    lines = text.split("\n")
    continued = ""
    for raw in lines:
        line = continued + raw
        if line.endswith("\\"):
            continued = line[:-1] + " "
            active.append(current)
            continue
        continued = ""
        match = _DIRECTIVE.match(line)
        if match is None:
            active.append(current)
            continue
        word, rest = match.group(1), match.group(2)
        if word in ("if", "ifdef", "ifndef"):
            if word == "if":
                cond = eval_condition(rest, defined)
            else:
                name = rest.strip().split()[0] if rest.strip() else ""
                cond = (name in defined) == (word == "ifdef")
            stack.append((current, current and cond, cond))
            current = current and cond
        elif word == "elif" and stack:
            parent, _, taken = stack[-1]
            cond = not taken and eval_condition(rest, defined)
            stack[-1] = (parent, parent and cond, taken or cond)
            current = parent and cond
        elif word == "else" and stack:
            parent, _, taken = stack[-1]
            stack[-1] = (parent, parent and not taken, True)
            current = parent and not taken
        elif word == "endif" and stack:
            parent = stack.pop()[0]
            current = parent
        active.append(current)
    return tuple(active)


def is_active(text: str, line: int, defined: frozenset[str]) -> bool:
    """Whether 1-based ``line`` of ``text`` is compiled in the configured build."""
    lines = line_activity(text, defined)
    return lines[line - 1] if 0 < line <= len(lines) else True


def open_groups(text: str, line: int) -> list[tuple[str, str]]:
    """The ``#if`` groups open at 1-based ``line``: (directive, condition) from the outside in.

    A group inside its ``#else`` branch is reported as ("else", condition of its ``#if``).
    """
    stack: list[tuple[str, str]] = []
    for raw in text.split("\n")[: max(line - 1, 0)]:
        match = _DIRECTIVE.match(raw)
        if match is None:
            continue
        word, rest = match.group(1), _strip_comments(match.group(2)).strip()
        if word in ("if", "ifdef", "ifndef"):
            stack.append((word, rest))
        elif word in ("elif", "else") and stack:
            stack[-1] = ("else", stack[-1][1])
        elif word == "endif" and stack:
            stack.pop()
    return stack


def guarded_by_own_name(text: str, line: int, name: str) -> bool:
    """``#ifndef name`` (or ``#if !defined(name)``) around a definition of ``name``: the
    asm-generic pattern an architecture overrides by defining the macro ``name``."""
    pattern = re.compile(rf"!\s*defined\s*\(?\s*{re.escape(name)}\s*\)?$")
    for word, condition in open_groups(text, line):
        if word == "ifndef" and condition.split()[:1] == [name]:
            return True
        if word == "if" and pattern.fullmatch(condition):
            return True
    return False
