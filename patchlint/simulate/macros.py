"""Expansion of the tree's own ``#define`` macros when code calls one.

Much kernel control code is written in macros (``sig_fatal()``,
``task_is_stopped_or_traced()``).  Rather than modelling them, the simulator
expands the tree's definition textually, the way the preprocessor would, and
evaluates the result in the caller's frame.  Stringizing, token pasting and
variadic macros are not supported: such a macro stops the run instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from patchlint.simulate.preproc import line_activity
from patchlint.simulate.world import Stop


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...] | None  # None for an object-like macro
    body: str
    path: str


def _define_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^[ \t]*#[ \t]*define[ \t]+{re.escape(name)}(\([^)]*\))?[ \t]*(.*)$", re.M)


class MacroTable:
    """Finds macro definitions in a file, its includes and configured headers."""

    def __init__(
        self,
        read: Callable[[str], str | None],
        includes: Callable[[str], list[str]],
        headers: list[str],
        defined: frozenset[str],
        depth: int = 3,
    ) -> None:
        self.read = read
        self.includes = includes
        self.headers = headers
        self.defined = defined
        self.depth = depth
        self._cache: dict[tuple[str, str], Macro | None] = {}

    def find(self, name: str, from_path: str) -> Macro | None:
        key = (name, from_path)
        if key not in self._cache:
            self._cache[key] = self._search(name, from_path)
        return self._cache[key]

    def _paths(self, from_path: str) -> list[str]:
        order: dict[str, None] = {from_path: None}
        frontier = [from_path]
        for _ in range(self.depth):
            nxt = []
            for path in frontier:
                for header in self.includes(path):
                    if header not in order:
                        order[header] = None
                        nxt.append(header)
            frontier = nxt
        for header in self.headers:
            order.setdefault(header, None)
        return list(order)

    def _search(self, name: str, from_path: str) -> Macro | None:
        pattern = _define_pattern(name)
        for path in self._paths(from_path):
            text = self.read(path)
            if not text or name not in text:
                continue
            activity = None
            for match in pattern.finditer(text):
                if activity is None:
                    activity = line_activity(text, self.defined)
                line = text.count("\n", 0, match.start())
                if line < len(activity) and not activity[line]:
                    continue
                body = match.group(2)
                end = match.end()
                while body.endswith("\\"):
                    nxt = text.find("\n", end + 1)
                    nxt = len(text) if nxt < 0 else nxt
                    body = body[:-1] + " " + text[end + 1 : nxt]
                    end = nxt
                body = re.sub(r"/\*.*?\*/|//.*", " ", body, flags=re.S).strip()
                params = None
                if match.group(1) is not None:
                    params = tuple(p.strip() for p in match.group(1)[1:-1].split(",") if p.strip())
                return Macro(name, params, body, path)
        return None


def expand(macro: Macro, args: list[str]) -> str:
    """Substitute ``args`` into a function-like macro's body, as the preprocessor does."""
    if macro.params is None:
        return macro.body
    if "..." in macro.params or "__VA_ARGS__" in macro.body:
        raise Stop(f"variadic macro {macro.name}()", kind="unsupported")
    if "#" in macro.body:
        raise Stop(f"macro {macro.name}() uses # or ##", kind="unsupported")
    if len(args) != len(macro.params) and not (macro.params == () and args == []):
        raise Stop(f"macro {macro.name}() takes {len(macro.params)} arguments", kind="error")
    mapping = dict(zip(macro.params, args, strict=False))
    if not mapping:
        return macro.body

    def substitute(match: re.Match[str]) -> str:
        word = match.group(0)
        return f"({mapping[word]})" if word in mapping else word

    return re.sub(r"\b[A-Za-z_]\w*\b", substitute, macro.body)
