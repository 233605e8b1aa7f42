"""Function index: enclosing functions, call sites, and tree-wide lookups.

Tree-wide lookups prefilter candidate files by a whole-word token scan
(``grep -rlw`` when available, else a Python scan) and parse only those,
caching parsed files in a bounded LRU for the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from patchlint.knowledge import load_toml
from patchlint.treecache import read_json, tree_cache_file, write_json

from .normalise import Dialect
from .parse import FunctionDef, SourceFile, parse_c
from .protocols import OverlayReader, SourceReader

Reader = SourceReader
_SOURCE_SUFFIXES = (".c", ".h")


@dataclass
class CallSite:
    name: str
    line: int
    node: tree_sitter.Node = field(repr=False, compare=False)


def enclosing_functions(source: SourceFile, lines: Iterable[int]) -> dict[int, str | None]:
    """Map each 1-based line to the name of the function defined around it."""
    result: dict[int, str | None] = {}
    for line in lines:
        fn = source.function_at_line(line)
        result[line] = fn.name if fn is not None else None
    return result


def _walk_calls(node: tree_sitter.Node) -> Iterable[tree_sitter.Node]:
    cursor = node.walk()
    visited_children = False
    while True:
        current = cursor.node
        if not visited_children:
            if current is not None and current.type == "call_expression":
                yield current
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent() and cursor.node != node:
            visited_children = True
        else:
            return


def calls_in(source: SourceFile, fn: FunctionDef) -> list[CallSite]:
    """Direct calls (callee is a plain identifier) inside ``fn``'s body, in order."""
    if fn.body is None:
        return []
    sites: list[CallSite] = []
    for call in _walk_calls(fn.body):
        callee = call.child_by_field_name("function")
        if callee is not None and callee.type == "identifier":
            name = source.node_text(callee)
            sites.append(CallSite(name, call.start_point[0] + 1, call))
    return sites


def callers_in_file(source: SourceFile, name: str) -> list[tuple[FunctionDef, CallSite]]:
    found: list[tuple[FunctionDef, CallSite]] = []
    if name not in source.text:
        return found
    for fn in source.functions:
        for site in calls_in(source, fn):
            if site.name == name:
                found.append((fn, site))
    return found


def _ranked(found: list[tuple[str, FunctionDef]]) -> list[tuple[str, FunctionDef]]:
    def rank(item: tuple[str, FunctionDef]) -> tuple[int, int, str]:
        path, fn = item
        header = path.endswith(".h")
        return (int(header), int(header and not (fn.is_static and fn.is_inline)), path)

    return sorted(found, key=rank)


class FunctionIndex:
    """Definitions and callers across a tree, parsing only candidate files."""

    def __init__(
        self,
        root: Path,
        reader: Reader | None = None,
        dialect: Dialect | None = None,
        cache_size: int = 64,
    ) -> None:
        self.root = Path(root)
        self.reader = reader
        self.dialect = dialect if dialect is not None else Dialect.load(self.root)
        self.cache_size = cache_size
        self._sources: OrderedDict[str, SourceFile | None] = OrderedDict()
        self._candidates: dict[str, list[str]] = {}
        self._all_files: list[str] | None = None
        self._definition_files: dict[str, list[str]] = {}
        self._macros: set[str] = set()
        self._search_order: list[str] = list(
            load_toml("kernel/dialect.toml").get("index", {}).get("definition_search_order", [])
        )

    # -- files ------------------------------------------------------------

    def _read(self, path: str) -> str | None:
        if self.reader is not None:
            text = self.reader(path)
            if text is not None:
                return text
        try:
            return (self.root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def source(self, path: str) -> SourceFile | None:
        """The parsed file, cached per run (LRU bounded by ``cache_size``)."""
        if path in self._sources:
            self._sources.move_to_end(path)
            return self._sources[path]
        text = self._read(path)
        parsed = parse_c(text, path, self.dialect) if text is not None else None
        self._sources[path] = parsed
        while len(self._sources) > self.cache_size:
            self._sources.popitem(last=False)
        return parsed

    def _files(self) -> list[str]:
        if self._all_files is None:
            self._all_files = sorted(
                str(p.relative_to(self.root))
                for p in self.root.rglob("*")
                if p.suffix in _SOURCE_SUFFIXES and p.is_file()
            )
        return self._all_files

    def candidates(self, name: str) -> list[str]:
        """Files that mention ``name`` as a whole word (cached per name)."""
        cached = self._candidates.get(name)
        if cached is not None:
            return cached
        paths = self._cached_grep(name)
        if paths is None:
            pattern = re.compile(rf"\b{re.escape(name)}\b")
            paths = []
            for path in self._files():
                text = self._read(path)
                if text and name in text and pattern.search(text):
                    paths.append(path)
        elif self.reader is not None:
            # Overlaid (patched) files may mention the name where the tree does not.
            extra = [p for p in self._overlay_paths() if self._mentions(p, name)]
            paths = sorted(set(paths) | set(extra))
        self._candidates[name] = paths
        return paths

    def _cached_grep(self, name: str) -> list[str] | None:
        """``_grep`` over the whole tree, kept in the cache folder between runs: the
        tree's files change only with its identity (release Makefile, checkout HEAD),
        and patched files are overlaid by the caller."""
        cache = tree_cache_file("mentions", self.root, name)
        cached = read_json(cache)
        if isinstance(cached, list) and all(isinstance(p, str) for p in cached):
            return [str(p) for p in cached]
        paths = self._grep(name)
        if paths is not None:
            write_json(cache, paths)
        return paths

    def _overlay_paths(self) -> list[str]:
        reader = self.reader
        return list(reader.paths()) if isinstance(reader, OverlayReader) else []

    def _mentions(self, path: str, name: str) -> bool:
        text = self._read(path)
        return bool(text and re.search(rf"\b{re.escape(name)}\b", text))

    def _grep(self, name: str, dirs: Sequence[str] = (".",)) -> list[str] | None:
        grep = shutil.which("grep")
        if grep is None or not re.fullmatch(r"\w+", name):
            return None
        dirs = [d for d in dirs if d == "." or (self.root / d).is_dir()]
        if not dirs:
            return []
        try:
            proc = subprocess.run(
                [grep, "-rlw", "--include=*.c", "--include=*.h", "-e", name, "--", *dirs],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if proc.returncode not in (0, 1):
            return None
        return sorted(line[2:] if line.startswith("./") else line for line in proc.stdout.split())

    # -- lookups ----------------------------------------------------------
    def _definition_candidates(self, name: str, whole_tree: bool = False) -> list[str]:
        """Files that may define ``name``: they mention it at the start of a declarator
        line (kernel style puts definitions at column 0, calls are indented). The
        common directories are searched first; the whole tree when they fail, or with
        ``whole_tree`` (they held declarations only)."""
        key = f"{name}\0whole" if whole_tree else name
        cached = self._definition_files.get(key)
        if cached is not None:
            return cached
        declarator = re.compile(rf"^(?:[A-Za-z_][^;{{}}]*\W)?{re.escape(name)}\s*\(", re.M)
        if whole_tree:
            # One line only: the prefix may not run across lines into a call (a
            # driver's hundred files of `mt76_wr(` calls are not its definitions).
            declarator = re.compile(rf"^(?:[A-Za-z_][^;{{}}\n]*\W)?{re.escape(name)}\s*\(", re.M)
        function_macro = re.compile(rf"^\s*#\s*define\s+{re.escape(name)}\(", re.M)
        overlay = [p for p in self._overlay_paths() if self._has(p, declarator)]
        found: list[str] = []
        tiered = None if whole_tree else self._grep(name, self._search_order)
        if tiered is not None:
            found = [p for p in tiered if self._has(p, declarator)]
            if any(p.endswith(".h") and self._has(p, function_macro) for p in tiered):
                self._macros.add(name)
            macro = re.compile(rf"^\s*#\s*define\s+{re.escape(name)}\b", re.M)
            if not found and any(self._has(p, macro) for p in tiered):
                # A macro in the shared headers: there is no C body to find elsewhere.
                found = []
            elif not found:
                found = self._whole_tree_definitions(name, declarator, function_macro)
        else:
            found = self._whole_tree_definitions(name, declarator, function_macro)
        result = sorted(set(found) | set(overlay))
        self._definition_files[key] = result
        return result

    def _whole_tree_definitions(
        self, name: str, declarator: re.Pattern[str], macro: re.Pattern[str]
    ) -> list[str]:
        paths = self.candidates(name)
        if any(p.endswith(".h") and self._has(p, macro) for p in paths):
            self._macros.add(name)
        return [p for p in paths if self._has(p, declarator)]

    def is_macro(self, name: str) -> bool:
        """Whether a header among the files searched for ``name``'s definitions defines
        it as a function-like macro (known after ``definitions(name)``)."""
        return name in self._macros

    def _has(self, path: str, pattern: re.Pattern[str]) -> bool:
        text = self._read(path)
        return bool(text and pattern.search(text))

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]:
        """Definitions of ``name``: .c files first, then ``static inline`` in headers."""
        found = self._parsed_definitions(name, self._definition_candidates(name))
        return _ranked(found)

    def complete_definitions(
        self, name: str, whole_tree: bool = False, max_files: int | None = None
    ) -> list[tuple[str, FunctionDef]] | None:
        """``definitions``, searching the whole tree when the common directories hold
        declarations only (include/linux/usb.h declares usb_kill_urb(),
        drivers/usb/core/urb.c defines it), or with ``whole_tree``. None when more
        than ``max_files`` files would have to be parsed."""
        candidates = self._definition_candidates(name)
        if max_files is not None and len(candidates) > max_files:
            return None
        found = self._parsed_definitions(name, candidates)
        if candidates and (whole_tree or not any(fn.body is not None for _p, fn in found)):
            wider = [
                p for p in self._definition_candidates(name, whole_tree=True) if p not in candidates
            ]
            if max_files is not None and len(candidates) + len(wider) > max_files:
                return None
            found += self._parsed_definitions(name, wider)
        return _ranked(found)

    def _parsed_definitions(self, name: str, paths: list[str]) -> list[tuple[str, FunctionDef]]:
        found: list[tuple[str, FunctionDef]] = []
        for path in paths:
            source = self.source(path)
            if source is None:
                continue
            for fn in source.functions:
                if fn.name == name:
                    found.append((path, fn))
        return found

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]:
        found: list[tuple[str, FunctionDef, CallSite]] = []
        # A file that names the function but never calls it is not worth a parse.
        call = re.compile(rf"\b{re.escape(name)}\s*\(")
        for path in self.candidates(name):
            if path not in self._sources and not self._has(path, call):
                continue
            source = self.source(path)
            if source is None:
                continue
            for fn, site in callers_in_file(source, name):
                found.append((path, fn, site))
        return found
