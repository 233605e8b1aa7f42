"""Resolve kernel constants (``TASK_FROZEN``, ``TIF_MEMDIE``, enum members) from the tree.

Values come from ``#define NAME value`` lines and enum declarations in the
headers the simulated code uses, evaluated in the configured build (so x86-64's
``_NSIG_BPW`` is 64, not the i386 branch's 32).  A value may be an expression
over other constants.  Nothing is hard-coded: a name that cannot be found gets a
distinct symbolic bit, and the resolver records that so the report can say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from patchlint.simulate.preproc import line_activity
from patchlint.source import c_integer

Reader = Callable[[str], "str | None"]

_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$")
_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b|(?P<id>[A-Za-z_]\w*)"
    r"|(?P<op><<|>>|[()|&^~+\-*/%]))"
)
# Function-like macros that only wrap a number; what each means is plain C.
_WRAPPERS: dict[str, Callable[[list[int]], int]] = {
    "BIT": lambda a: 1 << a[0],
    "BIT_ULL": lambda a: 1 << a[0],
    "_BITUL": lambda a: 1 << a[0],
    "_BITULL": lambda a: 1 << a[0],
    "_AC": lambda a: a[0],
    "_UL": lambda a: a[0],
    "_ULL": lambda a: a[0],
    "UL": lambda a: a[0],
    "ULL": lambda a: a[0],
    "U": lambda a: a[0],
}
_SYMBOLIC_BASE = 48  # symbolic bits live above every real kernel flag word


class ConstantResolver:
    """Look constants up by name in a list of headers plus the caller's includes."""

    def __init__(
        self,
        reader: Reader,
        headers: Iterable[str],
        defined: frozenset[str],
        include_dirs: Iterable[str] = (
            "include",
            "arch/x86/include",
            "arch/x86/include/generated",
            "include/uapi",
            "arch/x86/include/uapi",
        ),
    ) -> None:
        self._reader = reader
        self._headers = list(headers)
        self._include_dirs = list(include_dirs)
        self._defined = defined
        self._cache: dict[str, int] = {}
        self._misses: set[tuple[str, tuple[str, ...]]] = set()
        self._texts: dict[str, str | None] = {}
        self.symbolic: dict[str, int] = {}
        self._resolving: set[str] = set()
        self._local: dict[str, int] = {}
        self._context: tuple[str, ...] = ()

    # -- public ------------------------------------------------------------
    def lookup(self, name: str, context_paths: Iterable[str] = ()) -> int | None:
        """The value of ``name``, or ``None`` if no header defines it."""
        context = tuple(context_paths)
        if name in self._cache:
            return self._cache[name]
        if (name, context) in self._misses or name in self._resolving:
            return None
        self._resolving.add(name)
        saved, self._context = self._context, context or self._context
        try:
            value = self._search(name, list(self._context))
        finally:
            self._resolving.discard(name)
            self._context = saved
        if value is None:
            self._misses.add((name, context))
        else:
            self._cache[name] = value
        return value

    def value(self, name: str, context_paths: Iterable[str] = ()) -> int:
        """Like ``lookup`` but never fails: unknown names get a distinct symbolic bit."""
        found = self.lookup(name, context_paths)
        if found is not None:
            return found
        if name not in self.symbolic:
            self.symbolic[name] = 1 << (_SYMBOLIC_BASE + len(self.symbolic))
        return self.symbolic[name]

    # -- search ------------------------------------------------------------
    def _text(self, path: str) -> str | None:
        if path not in self._texts:
            try:
                self._texts[path] = self._reader(path)
            except (OSError, ValueError):
                self._texts[path] = None
        return self._texts[path]

    def _candidates(self, context_paths: list[str]) -> list[str]:
        paths = list(context_paths)
        for path in context_paths:
            paths.extend(self._includes_of(path))
        paths.extend(self._headers)
        seen: dict[str, None] = {}
        for path in paths:
            seen.setdefault(path, None)
        return list(seen)

    def _includes_of(self, path: str) -> list[str]:
        text = self._text(path) or ""
        found = []
        for match in re.finditer(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', text, re.M):
            target = match.group(1)
            for base in self._include_dirs:
                candidate = f"{base}/{target}"
                if self._text(candidate) is not None:
                    found.append(candidate)
                    break
        return found

    def _search(self, name: str, context_paths: list[str]) -> int | None:
        if name not in self._defined and name.startswith("CONFIG_"):
            return None
        for path in self._candidates(context_paths):
            text = self._text(path)
            if not text or name not in text:
                continue
            value = self._from_defines(name, text)
            if value is None:
                value = self._from_enums(name, text)
            if value is not None:
                return value
        return None

    def _from_defines(self, name: str, text: str) -> int | None:
        pattern = re.compile(rf"^[ \t]*#[ \t]*define[ \t]+{re.escape(name)}[ \t]+(.*)$", re.M)
        activity = None
        for match in pattern.finditer(text):
            if activity is None:
                activity = line_activity(text, self._defined)
            line = text.count("\n", 0, match.start())
            if line < len(activity) and not activity[line]:
                continue
            body = _join_continuations(text, match)
            value = self.evaluate(body)
            if value is not None:
                return value
        return None

    def _from_enums(self, name: str, text: str) -> int | None:
        # Enum bodies are matched textually; members are comma separated, with an
        # optional `= expr`, and an implicit value is the previous one plus one.
        for body in re.finditer(r"\benum\b[^{;]*\{(.*?)\}", text, re.S):
            inner = re.sub(r"/\*.*?\*/|//[^\n]*", " ", body.group(1), flags=re.S)
            if not re.search(rf"\b{re.escape(name)}\b", inner):
                continue
            previous = -1
            members: dict[str, int] = {}
            for item in _split_top_level(inner):
                item = item.strip()
                if not item or item.startswith("#"):
                    continue
                member, _, expr = item.partition("=")
                member = member.strip()
                if expr.strip():
                    value = self.evaluate(expr.strip(), local=members)
                    if value is None:
                        return None
                else:
                    value = previous + 1
                previous = value
                members[member] = value
                if member == name:
                    return value
        return None

    # -- evaluation ---------------------------------------------------------
    def evaluate(self, expr: str, local: dict[str, int] | None = None) -> int | None:
        """Evaluate a constant C expression; ``None`` if any part is unknown."""
        expr = re.sub(r"/\*.*?\*/|//.*", " ", expr, flags=re.S).strip()
        if not expr:
            return None
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(expr):
            match = _EXPR_TOKEN.match(expr, pos)
            if match is None or match.end() == pos:
                return None
            pos = match.end()
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
        saved, self._local = self._local, local or {}
        try:
            value, rest = self._parse_or(tokens, 0)
        except (ValueError, IndexError, ZeroDivisionError):
            return None
        finally:
            self._local = saved
        return value if rest == len(tokens) else None

    # A small precedence-climbing parser: | ^ & shift additive multiplicative unary.
    _LEVELS: list[dict[str, Callable[[int, int], int]]] = [
        {"|": lambda a, b: a | b},
        {"^": lambda a, b: a ^ b},
        {"&": lambda a, b: a & b},
        {"<<": lambda a, b: a << b, ">>": lambda a, b: a >> b},
        {"+": lambda a, b: a + b, "-": lambda a, b: a - b},
        {"*": lambda a, b: a * b, "/": lambda a, b: int(a / b), "%": lambda a, b: a % b},
    ]

    def _parse_or(self, tokens: list[tuple[str, str]], i: int, level: int = 0) -> tuple[int, int]:
        if level == len(self._LEVELS):
            return self._parse_unary(tokens, i)
        left, i = self._parse_or(tokens, i, level + 1)
        ops = self._LEVELS[level]
        while i < len(tokens) and tokens[i][0] == "op" and tokens[i][1] in ops:
            op = tokens[i][1]
            right, i = self._parse_or(tokens, i + 1, level + 1)
            left = ops[op](left, right)
        return left, i

    def _parse_unary(self, tokens: list[tuple[str, str]], i: int) -> tuple[int, int]:
        kind, text = tokens[i]
        if kind == "op" and text in "~-+":
            value, i = self._parse_unary(tokens, i + 1)
            return {"~": ~value, "-": -value, "+": value}[text], i
        if kind == "num":
            return c_integer(text) or 0, i + 1
        if kind == "op" and text == "(":
            # A cast like `(unsigned long)` is skipped: the value is what matters.
            j = i + 1
            while j < len(tokens) and tokens[j][0] == "id" and tokens[j][1] in _TYPE_WORDS:
                j += 1
            if j > i + 1 and j < len(tokens) and tokens[j][1] == ")":
                return self._parse_unary(tokens, j + 1)
            value, i = self._parse_or(tokens, i + 1)
            if tokens[i][1] != ")":
                raise ValueError("unbalanced")
            return value, i + 1
        if kind == "id":
            if i + 1 < len(tokens) and tokens[i + 1][1] == "(" and text in _WRAPPERS:
                args = []
                i += 2
                while True:
                    value, i = self._parse_or(tokens, i)
                    args.append(value)
                    if tokens[i][1] == ")":
                        return _WRAPPERS[text](args), i + 1
                    if tokens[i][1] != ",":
                        raise ValueError("bad macro call")
                    i += 1
            found = self._local.get(text)
            if found is None:
                found = self.lookup(text, self._context)
            if found is None:
                raise ValueError(f"unknown {text}")
            return found, i + 1
        raise ValueError(f"unexpected {text}")


_TYPE_WORDS = {
    "unsigned",
    "signed",
    "long",
    "int",
    "short",
    "char",
    "u8",
    "u16",
    "u32",
    "u64",
    "s32",
    "s64",
    "__u32",
    "__u64",
    "size_t",
    "gfp_t",
    "__force",
}


def _join_continuations(text: str, match: re.Match[str]) -> str:
    body = match.group(1)
    end = match.end()
    while body.endswith("\\"):
        nxt = text.find("\n", end + 1)
        line = text[end + 1 : nxt if nxt >= 0 else len(text)]
        body = body[:-1] + " " + line
        end = nxt if nxt >= 0 else len(text)
    return body


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
