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

from patchlint.knowledge import load_toml
from patchlint.simulate.constants import ConstantResolver
from patchlint.simulate.macros import MacroTable
from patchlint.simulate.preproc import guarded_by_own_name, is_active, line_activity
from patchlint.source import FunctionDef, FunctionIndex, SourceFile, parse_c
from patchlint.treecache import read_json, tree_cache_file, write_json

_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
_INCLUDE_DIRS = ("include", "arch/x86/include", "arch/x86/include/uapi", "include/uapi")
_INCLUDE_DEPTH = 2
# `obj-$(CONFIG_X) += a.o b.o` (also lib-, :=, =) in a Kbuild Makefile.
_OBJ_LINE = re.compile(r"^\s*(?:obj|lib)-(\S+?)\s*[:+]?=\s*(.*)$")


class Resolver:
    """``resolver(name, from_path=None) -> (SourceFile, FunctionDef) | None``."""

    def __init__(
        self,
        index: FunctionIndex,
        overlay: dict[str, str] | None,
        defined: frozenset[str],
        arch: str = "x86",
    ) -> None:
        self.index = index
        self.arch = arch
        self.overlay = dict(overlay or {})
        self.defined = defined
        self._sources: dict[str, SourceFile | None] = {}
        self._cache: dict[tuple[str, str | None], tuple[SourceFile, FunctionDef] | None] = {}
        self._includes: dict[str, list[str]] = {}
        self._overrides: dict[tuple[str, str], bool] = {}
        self._built: dict[str, bool] = {}
        self._texts: dict[str, str | None] = {}
        self._tables: dict[tuple[str, ...], tuple[ConstantResolver, MacroTable]] = {}
        self.locations = _locations(index, defined, arch)

    # -- files ---------------------------------------------------------------------
    def read(self, path: str) -> str | None:
        if path in self.overlay:
            return self.overlay[path]
        if path not in self._texts:
            self._texts[path] = self._read_tree(path)
        return self._texts[path]

    def _read_tree(self, path: str) -> str | None:
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

    def tables(self, headers: list[str]) -> tuple[ConstantResolver, MacroTable]:
        """The constant and macro lookups of this view (shared by its runs: both only
        cache what the tree says)."""
        key = tuple(headers)
        if key not in self._tables:
            self._tables[key] = (
                ConstantResolver(self.read, headers, self.defined),
                MacroTable(self.read, self.includes, headers, self.defined),
            )
        return self._tables[key]

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

    def _active(
        self, path: str, name: str, from_path: str | None = None
    ) -> tuple[SourceFile, FunctionDef] | None:
        text = self.read(path)
        if not text or name not in text:
            return None
        source = self.source(path)
        if source is None or not self.built(path):
            return None
        for fn in source.functions:
            if (
                fn.name == name
                and fn.body is not None
                and is_active(source.text, fn.start_line, self.defined)
                and not self._overridden(source, fn, from_path)
            ):
                return source, fn
        return None

    def built(self, path: str) -> bool:
        """Whether the configured build compiles ``path``: a ``.c`` file listed in its
        Makefile as ``obj-$(CONFIG_X) += name.o`` only when CONFIG_X is defined.  A file
        the Makefile does not name plainly counts as built (never lose a definition)."""
        if path.startswith("arch/") and not path.startswith(f"arch/{self.arch}/"):
            return False
        if not path.endswith(".c"):
            return True
        if path not in self._built:
            self._built[path] = self._makefile_builds(path)
        return self._built[path]

    def _makefile_builds(self, path: str) -> bool:
        directory, _, filename = path.rpartition("/")
        obj = filename[:-2] + ".o"
        for makefile in ("Makefile", "Kbuild"):
            text = self.read(f"{directory}/{makefile}" if directory else makefile)
            if not text or obj not in text:
                continue
            for logical in text.replace("\\\n", " ").split("\n"):
                match = _OBJ_LINE.match(logical)
                if match is None or obj not in match.group(2).split():
                    continue
                selector = match.group(1)
                if selector == "y":
                    return True
                config = re.fullmatch(r"\$\((CONFIG_\w+)\)", selector)
                return config is None or config.group(1) in self.defined
        return True

    def _overridden(self, source: SourceFile, fn: FunctionDef, from_path: str | None) -> bool:
        """A generic definition under ``#ifndef NAME`` that the caller's headers replace by
        ``#define NAME`` (x86's ``enter_lazy_tlb``, ``deactivate_mm``)."""
        if from_path is None or not guarded_by_own_name(source.text, fn.start_line, fn.name):
            return False
        key = (fn.name, from_path)
        if key not in self._overrides:
            self._overrides[key] = self._defines_macro(fn.name, from_path)
        return self._overrides[key]

    def _defines_macro(self, name: str, from_path: str) -> bool:
        pattern = re.compile(rf"^[ \t]*#[ \t]*define[ \t]+{re.escape(name)}\b", re.M)
        order, frontier = [from_path], [from_path]
        for _ in range(_INCLUDE_DEPTH + 1):
            frontier = [h for p in frontier for h in self.includes(p) if h not in order]
            order.extend(dict.fromkeys(frontier))
        for path in order:
            text = self.read(path) or ""
            if name not in text:
                continue
            activity = line_activity(text, self.defined)
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start())
                if line >= len(activity) or activity[line]:
                    return True
        return False

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
            found = self._active(from_path, name, from_path)
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
                        found = self._active(header, name, from_path)
                        if found is not None:
                            return found
                frontier = next_frontier
        overlaid = sorted(self.overlay, key=lambda p: (p.endswith(".h"), p))
        for path in overlaid:
            found = self._active(path, name, from_path)
            if found is not None:
                return found
        if not tree_wide:
            return None
        known = self.locations.get(name, from_path)
        if known is not None:
            found = self._active(known, name, from_path) if known else None
            if found is not None or not known:
                return found
        found = self._search_tree(name, from_path)
        self.locations.put(name, from_path, found[0].path if found is not None else "")
        return found

    def _search_tree(
        self, name: str, from_path: str | None
    ) -> tuple[SourceFile, FunctionDef] | None:
        for path, _ in self.index.definitions(name):
            if path in self.overlay:
                continue  # already looked at the overlaid text above
            found = self._active(path, name, from_path)
            if found is not None:
                return found
        if from_path is not None and self._overrides.get((name, from_path)):
            # The generic definition gave way to the architecture's, which may live
            # outside the directories the index searches first (arch/x86/mm/tlb.c).
            for path in self.index.candidates(name):
                if path.endswith(".c") and path not in self.overlay:
                    found = self._active(path, name, from_path)
                    if found is not None:
                        return found
        return None


class Locations:
    """Where the tree defines a function (by name and calling file), kept per tree on
    disk: the tree-wide search behind a miss greps the whole tree.  An entry is a hint,
    checked again on use; "" records that the tree has no definition."""

    def __init__(self, index: FunctionIndex, config: str) -> None:
        tree = getattr(index.reader, "__self__", None)
        revision = str(getattr(tree, "rev", ""))
        # A view of the tree with a series' earlier patches applied (`state`) can
        # define what the tree does not: it keeps its lookups in memory only.
        series_state = str(getattr(index, "state", ""))
        self.file = (
            None if series_state else tree_cache_file("definitions", index.root, revision, config)
        )
        loaded = read_json(self.file)
        self.entries: dict[str, str] = (
            {k: v for k, v in loaded.items() if isinstance(v, str)}
            if isinstance(loaded, dict)
            else {}
        )

    @staticmethod
    def _key(name: str, from_path: str | None) -> str:
        return f"{name}\0{from_path or ''}"

    def get(self, name: str, from_path: str | None) -> str | None:
        return self.entries.get(self._key(name, from_path))

    def put(self, name: str, from_path: str | None, path: str) -> None:
        key = self._key(name, from_path)
        if self.entries.get(key) != path:
            self.entries[key] = path
            write_json(self.file, self.entries)


_LOCATIONS: dict[tuple[int, str], Locations] = {}


def _locations(index: FunctionIndex, defined: frozenset[str], arch: str) -> Locations:
    config = f"{arch}:{','.join(sorted(defined))}"
    key = (id(index), config)
    if key not in _LOCATIONS:
        if len(_LOCATIONS) > 16:
            _LOCATIONS.clear()
        _LOCATIONS[key] = Locations(index, config)
    return _LOCATIONS[key]


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
    config = load_toml("simulate/primitives.toml").get("config", {})
    if defined is None:
        defined = frozenset(config.get("defined", []))
    return Resolver(index, overlay, defined, str(config.get("arch", "x86")))


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
