"""Finding the C body a call runs: pre- or post-image, same file, includes, then the tree.

The simulator must run what a configured kernel would build, so a definition
only counts when its ``#if`` context is active (``freezing()`` has a real body
and a ``!CONFIG_FREEZER`` stub in the same header).  Overlaid files (a patch's
post-image, or a mutated copy) replace the tree's text everywhere, including in
the tree-wide index lookups.
"""

from __future__ import annotations

import re
from pathlib import Path

import tree_sitter

from patchlint.simulate.preproc import is_active
from patchlint.source import FunctionDef, FunctionIndex, SourceFile, parse_c

_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
_INCLUDE_DIRS = ("include", "arch/x86/include", "arch/x86/include/uapi", "include/uapi")
_INCLUDE_DEPTH = 2


class Resolver:
    """``resolver(name, from_path=None) -> (SourceFile, FunctionDef) | None``."""

    def __init__(
        self, index: FunctionIndex, overlay: dict[str, str] | None, defined: frozenset[str]
    ) -> None:
        self.index = index
        self.overlay = dict(overlay or {})
        self.defined = defined
        self._sources: dict[str, SourceFile | None] = {}
        self._cache: dict[tuple[str, str | None], tuple[SourceFile, FunctionDef] | None] = {}
        self._includes: dict[str, list[str]] = {}

    # -- files ---------------------------------------------------------------------
    def read(self, path: str) -> str | None:
        if path in self.overlay:
            return self.overlay[path]
        if not _inside(self.index.root, path):
            return None
        if self.index.reader is not None:
            text = self.index.reader(path)
            if text is not None:
                return text
        try:
            return (self.index.root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def source(self, path: str) -> SourceFile | None:
        if path in self.overlay:
            if path not in self._sources:
                self._sources[path] = parse_c(self.overlay[path], path, self.index.dialect)
            return self._sources[path]
        if path not in self._sources:
            if not _inside(self.index.root, path):
                self._sources[path] = None
            else:
                self._sources[path] = self.index.source(path)
        return self._sources[path]

    def includes(self, path: str) -> list[str]:
        """Headers ``path`` includes directly, resolved against the x86 include paths."""
        if path in self._includes:
            return self._includes[path]
        text = self.read(path) or ""
        found: list[str] = []
        for match in _INCLUDE.finditer(text):
            quote, target = match.group(1), match.group(2)
            bases = ([str(Path(path).parent)] if quote == '"' else []) + list(_INCLUDE_DIRS)
            for base in bases:
                candidate = f"{base}/{target}" if base not in ("", ".") else target
                if candidate in self.overlay or (
                    _inside(self.index.root, candidate) and (self.index.root / candidate).is_file()
                ):
                    found.append(candidate)
                    break
        self._includes[path] = found
        return found

    # -- lookup -----------------------------------------------------------------------
    def __call__(
        self, name: str, from_path: str | None = None
    ) -> tuple[SourceFile, FunctionDef] | None:
        key = (name, from_path)
        if key not in self._cache:
            self._cache[key] = self._find(name, from_path)
        return self._cache[key]

    def _active(self, path: str, name: str) -> tuple[SourceFile, FunctionDef] | None:
        text = self.read(path)
        if not text or name not in text:
            return None
        source = self.source(path)
        if source is None:
            return None
        for fn in source.functions:
            if (
                fn.name == name
                and fn.body is not None
                and is_active(source.text, fn.start_line, self.defined)
            ):
                return source, fn
        return None

    def local(
        self, name: str, from_path: str | None = None
    ) -> tuple[SourceFile, FunctionDef] | None:
        """Like calling the resolver, without the tree-wide search (cheap, no grep)."""
        key = (name, f"local:{from_path}")
        if key not in self._cache:
            self._cache[key] = self._find(name, from_path, tree_wide=False)
        return self._cache[key]

    def _find(
        self, name: str, from_path: str | None, tree_wide: bool = True
    ) -> tuple[SourceFile, FunctionDef] | None:
        if from_path:
            found = self._active(from_path, name)
            if found is not None:
                return found
            frontier, seen = [from_path], {from_path}
            for _ in range(_INCLUDE_DEPTH):
                next_frontier: list[str] = []
                for path in frontier:
                    for header in self.includes(path):
                        if header in seen:
                            continue
                        seen.add(header)
                        next_frontier.append(header)
                        found = self._active(header, name)
                        if found is not None:
                            return found
                frontier = next_frontier
        overlaid = sorted(self.overlay, key=lambda p: (p.endswith(".h"), p))
        for path in overlaid:
            found = self._active(path, name)
            if found is not None:
                return found
        if not tree_wide:
            return None
        for path, _ in self.index.definitions(name):
            if path in self.overlay:
                continue  # already looked at the overlaid text above
            found = self._active(path, name)
            if found is not None:
                return found
        return None


def _inside(root: Path, path: str) -> bool:
    """Only relative paths without `..`: scenario and include text must not leave ``root``."""
    return bool(path) and not path.startswith("/") and ".." not in Path(path).parts


def make_resolver(
    index: FunctionIndex,
    overlay: dict[str, str] | None = None,
    defined: frozenset[str] | None = None,
) -> Resolver:
    """A resolver over ``index`` with ``overlay`` (path -> text) replacing the tree's files.

    Use the patch's pre-images as overlay for the before view and its post-images
    for the after view.
    """
    if defined is None:
        from patchlint.knowledge import load_toml

        defined = frozenset(load_toml("simulate/primitives.toml")["config"]["defined"])
    return Resolver(index, overlay, defined)


Snippet = tuple[SourceFile, FunctionDef, tree_sitter.Node]
_SNIPPETS: dict[tuple[str, str, str], Snippet] = {}


def parse_snippet(text: str, path: str = "<snippet>", kind: str = "expression") -> Snippet:
    """Parse scenario C text: an expression node, or a function body for ``kind='body'``."""
    key = (text, path, kind)
    if key not in _SNIPPETS:
        if kind == "body":
            source = parse_c(f"void __patchlint_snippet(void)\n{{\n{text}\n}}\n", path)
        else:
            source = parse_c(f"void __patchlint_snippet(void)\n{{\n({text});\n}}\n", path)
        fn = source.function("__patchlint_snippet")
        if fn is None or fn.body is None or fn.has_errors:
            raise ValueError(f"cannot parse {kind} {text!r}")
        if kind == "body":
            node = fn.body
        else:
            statement = fn.body.named_children[0]
            node = statement.named_children[0].named_children[0]
        _SNIPPETS[key] = (source, fn, node)
        if len(_SNIPPETS) > 4096:  # scenario text is small; macro expansions can be many
            del _SNIPPETS[next(iter(_SNIPPETS))]
    return _SNIPPETS[key]
