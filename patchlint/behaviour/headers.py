"""Declarations from the kernel headers a file includes, found by name on demand.

A function's types, constants and prototypes mostly live in headers.  Parsing
every header a driver includes would cost seconds, so the headers are only read
and indexed with a few regular expressions (macro, struct, union, enum, typedef,
extern and prototype names); when the engine misses a name, the one declaration
that defines it is cut out and parsed on its own.  The include search path and
the headers always consulted (errno) are data: rules/behaviour/headers.toml.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from patchlint.knowledge import load_toml
from patchlint.source import parse_c

from .symbols import Layer

Reader = Callable[[str], "str | None"]

_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
_STATEMENT_WORDS = frozenset(
    {"return", "if", "else", "do", "while", "for", "switch", "case", "goto", "typedef"}
)


@dataclass(frozen=True)
class SearchPath:
    include_dirs: tuple[str, ...]
    always: tuple[str, ...]
    max_depth: int
    max_files: int
    false_conditions: tuple[re.Pattern[str], ...]
    true_conditions: tuple[re.Pattern[str], ...]


@functools.cache
def search_path() -> SearchPath:
    data = load_toml("behaviour/headers.toml")
    return SearchPath(
        include_dirs=tuple(data.get("include_dirs", ["include"])),
        always=tuple(data.get("always", [])),
        max_depth=int(data.get("max_depth", 2)),
        max_files=int(data.get("max_files", 200)),
        false_conditions=tuple(re.compile(p) for p in data.get("false_conditions", [])),
        true_conditions=tuple(re.compile(p) for p in data.get("true_conditions", [])),
    )


_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b([^\n]*)", re.M)


def _dead(text: str, index: int) -> bool:
    """True when ``index`` lies in an #if branch an x86-64 kernel build never compiles
    (#ifndef __KERNEL__, #ifdef __i386__ ...; the patterns are in headers.toml)."""
    settings = search_path()
    stack: list[tuple[str, bool]] = []
    for match in _DIRECTIVE.finditer(text, 0, index):
        kind, rest = match.group(1), match.group(2).strip()
        if kind in ("if", "ifdef", "ifndef"):
            stack.append((f"{kind} {rest}", False))
        elif kind in ("else", "elif") and stack:
            stack[-1] = (stack[-1][0], True)
        elif kind == "endif" and stack:
            stack.pop()
    for condition, in_else in stack:
        if not in_else and any(p.search(condition) for p in settings.false_conditions):
            return True
        if in_else and any(p.search(condition) for p in settings.true_conditions):
            return True
    return False


def _matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for index in range(open_at, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _statement_end(text: str, start: int) -> int:
    """The ';' ending the declaration at ``start``, outside braces and parentheses."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == ";" and depth <= 0:
            return index
    return -1


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _in_comment(text: str, index: int) -> bool:
    opened = text.rfind("/*", 0, index)
    return opened >= 0 and text.rfind("*/", opened, index) < 0


def _enclosing_open(text: str, index: int) -> int:
    depth = 0
    for position in range(index - 1, -1, -1):
        char = text[position]
        if char == "}":
            depth += 1
        elif char == "{":
            if depth == 0:
                return position
            depth -= 1
    return -1


def find_span(text: str, kind: str, name: str) -> tuple[int, int] | None:
    """Where ``text`` declares ``name`` in code an x86-64 kernel build compiles."""
    for span in _spans(text, kind, name):
        if not _dead(text, span[0]):
            return span
    return None


def _spans(text: str, kind: str, name: str) -> Iterator[tuple[int, int]]:
    """Every place ``text`` declares ``name`` (a targeted search: one regex per lookup)."""
    word = re.escape(name)
    if kind == "macro":
        for match in re.finditer(rf"^[ \t]*#[ \t]*define[ \t]+{word}\b", text, re.M):
            end = match.end()
            while True:
                newline = text.find("\n", end)
                if newline < 0:
                    yield match.start(), len(text)
                    break
                if text[newline - 1 : newline] == "\\":
                    end = newline + 1
                    continue
                yield match.start(), newline
                break
        return
    if kind == "record":
        tag, _, record_name = name.partition(" ")
        for match in re.finditer(rf"\b{tag}\s+{re.escape(record_name)}\s*\{{", text):
            if _in_comment(text, match.start()):
                continue
            close = _matching_brace(text, match.end() - 1)
            if close > 0:
                yield match.start(), close + 1
        return
    if kind == "enumerator":
        # Comments may sit between enumerators; the comment pattern cannot backtrack.
        gap = r"(?:\s|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|//[^\n]*)*"
        for match in re.finditer(rf"[{{,]{gap}{word}\s*(?=[=,}}]|/[*/])", text):
            opened = _enclosing_open(text, match.start() + 1)
            if opened < 0 or _in_comment(text, match.start()):
                continue
            head = re.search(r"\benum(?:\s+\w+)?\s*$", text[max(0, opened - 80) : opened])
            if head is None:
                continue
            close = _matching_brace(text, opened)
            if close > 0:
                yield opened - (len(text[max(0, opened - 80) : opened]) - head.start()), close + 1
        return
    if kind == "typedef":
        for match in re.finditer(
            rf"(?:\(\s*\*\s*{word}\s*\)|\b{word}\s*(?:\[[^\]]*\]\s*)*;)", text
        ):
            if _in_comment(text, match.start()):
                continue
            begin = text.rfind("typedef", 0, match.start())
            if begin < 0:
                continue
            end = _statement_end(text, begin)
            # The name must end the typedef that starts at `begin` (braces balanced).
            if end >= match.start() and text.find(";", match.start()) == end:
                yield begin, end
        return
    if kind == "variable":
        for match in re.finditer(
            rf"^[ \t]*extern\b[^;(){{}}]*\b{word}\s*(?:\[[^\]]*\]\s*)*;", text, re.M
        ):
            yield match.start(), match.end()
        return
    if kind == "prototype":
        for match in re.finditer(rf"\b{word}\s*\(", text):
            start = _line_start(text, match.start())
            first = re.match(r"[A-Za-z_]\w*", text[start:])
            if (
                first is None
                or first.group() in _STATEMENT_WORDS
                or _in_comment(text, match.start())
            ):
                continue
            end = _statement_end(text, match.end() - 1)
            brace = text.find("{", match.end(), end if end > 0 else len(text))
            stop = brace if brace > 0 else end
            if stop > 0:
                yield start, stop
        return


@dataclass
class HeaderText:
    """One header's text; where each name is declared is searched on demand."""

    path: str
    text: str
    digest: str = ""
    includes: list[tuple[str, str]] = field(default_factory=list)
    spans: dict[tuple[str, str], tuple[int, int] | None] = field(default_factory=dict)
    mentioned: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def index(cls, path: str, text: str, digest: str = "") -> HeaderText:
        header = cls(path, text, digest)
        header.includes = [(m.group(1), m.group(2)) for m in _INCLUDE.finditer(text)]
        return header

    def span(self, kind: str, name: str) -> tuple[int, int] | None:
        key = (kind, name)
        if key not in self.spans:
            # A cheap test first: most headers do not mention the name at all.
            self.spans[key] = find_span(self.text, kind, name) if self.mentions(name) else None
        return self.spans[key]

    def mentions(self, name: str) -> bool:
        found = self.mentioned.get(name)
        if found is None:
            found = self.mentioned[name] = name in self.text
        return found

    def snippet(self, kind: str, name: str) -> str | None:
        span = self.span(kind, name)
        if span is None:
            return None
        text = self.text[span[0] : span[1]]
        if kind == "macro":
            return text + "\n"
        return text.rstrip().rstrip(";") + ";\n"


_TEXTS: OrderedDict[tuple[str, str], HeaderText] = OrderedDict()
# Header texts by tree and path, for the process (the patch's own headers come through
# the overlay instead). A reader is a tree's bound read method: the tree is the key.
_UNREAD = object()
_TREE_TEXTS: OrderedDict[int, tuple[object, dict[str, object]]] = OrderedDict()


def _tree_texts(reader: Reader) -> dict[str, object]:
    owner = getattr(reader, "__self__", reader)
    found = _TREE_TEXTS.get(id(owner))
    if found is None or found[0] is not owner:
        found = _TREE_TEXTS[id(owner)] = (owner, {})
        while len(_TREE_TEXTS) > 4:
            _TREE_TEXTS.popitem(last=False)
    return found[1]


_LAYERS: OrderedDict[tuple[str, str, int], Layer] = OrderedDict()
_CACHE_SIZE = 2048


def _indexed(path: str, text: str) -> HeaderText:
    key = (path, hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest())
    found = _TEXTS.get(key)
    if found is None:
        found = _TEXTS[key] = HeaderText.index(path, text, key[1])
        while len(_TEXTS) > _CACHE_SIZE:
            _TEXTS.popitem(last=False)
    else:
        _TEXTS.move_to_end(key)
    return found


class HeaderLookup:
    """The headers ``path`` includes, searched breadth first and only as far as a name
    needs: each header is read and indexed when the search first reaches it."""

    def __init__(
        self,
        reader: Reader,
        path: str,
        includes: list[str],
        overlay: Mapping[str, str] | None = None,
    ) -> None:
        self._reader = reader
        self._path = path
        self._overlay = dict(overlay or {})
        self._headers: list[HeaderText] = []
        self._seen: set[str] = set()
        self._queue: list[tuple[str, str, str, int]] = []
        settings = search_path()
        for include in includes:
            if include.startswith("<"):
                self._queue.append(("<", include[1:-1], path, 1))
            else:
                self._queue.append(('"', include.strip('"'), path, 1))
        self._queue.extend(("=", always, "", 1) for always in settings.always)
        self._misses: set[tuple[str, str]] = set()
        self._mentions: dict[str, list[HeaderText]] = {}
        self.files_read = 0

    def _read(self, path: str) -> str | None:
        if path in self._overlay:
            return self._overlay[path]
        texts = _tree_texts(self._reader)
        cached = texts.get(path, _UNREAD)
        if cached is not _UNREAD:
            return cached if isinstance(cached, str) else None
        try:
            text = self._reader(path)
        except (OSError, ValueError):
            text = None
        texts[path] = text
        return text

    def _resolve(self, kind: str, target: str, from_path: str) -> tuple[str, str] | None:
        if kind == "=":
            text = self._read(target)
            return (target, text) if text is not None else None
        if kind == '"':
            local = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), target))
            if not local.startswith(".."):
                text = self._read(local)
                if text is not None:
                    return local, text
        for directory in search_path().include_dirs:
            candidate = posixpath.join(directory, target)
            text = self._read(candidate)
            if text is not None:
                return candidate, text
        return None

    def _next_header(self) -> HeaderText | None:
        settings = search_path()
        while self._queue and len(self._headers) < settings.max_files:
            kind, target, from_path, depth = self._queue.pop(0)
            resolved = self._resolve(kind, target, from_path)
            if resolved is None or resolved[0] in self._seen:
                continue
            path, text = resolved
            self._seen.add(path)
            self.files_read += 1
            header = _indexed(path, text)
            self._headers.append(header)
            if depth < settings.max_depth:
                self._queue.extend((k, t, path, depth + 1) for k, t in header.includes)
            return header
        return None

    def _find(self, kind: str, name: str) -> tuple[HeaderText, tuple[int, int]] | None:
        key = (kind, name)
        if key in self._misses:
            return None
        for header in self._mentioning(name):
            span = header.span(kind, name)
            if span is not None:
                return header, span
        self._misses.add(key)
        return None

    def _mentioning(self, name: str) -> list[HeaderText]:
        """The headers (read so far, then all reachable) whose text contains ``name``:
        one scan per name, whatever kind of declaration is looked for."""
        found = self._mentions.get(name)
        if found is None:
            while self._next_header() is not None:
                pass
            found = self._mentions[name] = [h for h in self._headers if h.mentions(name)]
        return found

    def layer(self, kind: str, name: str) -> Layer | None:
        """A parsed layer holding the declaration of ``name`` (kind: macro, record,
        enumerator, typedef, variable, prototype), or None."""
        found = self._find(kind, name)
        if found is None:
            return None
        header, span = found
        key = (header.path, header.digest, span[0])
        layer = _LAYERS.get(key)
        if layer is None:
            snippet = header.snippet(kind, name)
            if snippet is None:
                return None
            layer = Layer.build(parse_c(snippet, header.path), "header")
            _LAYERS[key] = layer
            while len(_LAYERS) > _CACHE_SIZE * 4:
                _LAYERS.popitem(last=False)
        return layer
