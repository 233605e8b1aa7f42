"""May-sleep of other files' functions for a patch check, found through the function
index when a finding needs the answer.

A whole-tree scan exports every function's may-sleep facts into a ``SummaryTable``.
A patch check has no such pass: it asks the same questions (``Deferred``: "does one
of these functions of other files sleep?") and answers them here, with a table that
fills its rows on demand: a callee's definitions are found by the index
(``FunctionIndex.complete_definitions``), parsed, and exported exactly as a scan
exports them (``export_of``), then the table's own rule decides (every definition
that is not a configuration's stub sleeps, chains of at most ``MAX_TREE_CHAIN``
calls, ``MAX_TREE_DEPTH`` files deep).

Cost is kept small three ways:

* only calls made where sleeping is forbidden ask (a finding waits on the answer);
* rows are cached per tree in patchlint's cache folder (``callees``), keyed by the
  tree's identity and by the analysis code and data, so later checks read them; the
  rows of a name one of the patch's files mentions are computed afresh;
* each question visits at most ``MAX_NAMES`` functions (cached ones included, so the
  answer is the same cold or warm): beyond that the answer is "unknown", never a
  finding.

A scan's table of the tree, when there is one, gives the rows of the files it saw
unchanged since.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, TypeGuard

from patchlint.analysis.alternatives import config_alternative
from patchlint.analysis.external import (
    Row,
    SummaryTable,
    as_row,
    defer_tree_questions,
    export_of,
)
from patchlint.analysis.facts import FileFacts, TreeIndex
from patchlint.analysis.hostcode import not_kernel_code
from patchlint.analysis.summaries import LockSummary, lock_summary
from patchlint.analysis.version import analysis_version
from patchlint.cachedir import cache_path
from patchlint.source import FunctionDef, SourceFile
from patchlint.treecache import tree_identity

_UNKNOWN = "unknown"  # cached: no summary every definition agrees on
MAX_NAMES = 24  # functions one question may visit
MAX_FILES = 12  # files parsed to find one function's definitions
ROWS_FORMAT = 2
_FILES_KEPT = 8  # parsed definition files kept per table


class CompleteIndex(Protocol):
    root: Path

    def complete_definitions(
        self, name: str, whole_tree: bool = False, max_files: int | None = None
    ) -> list[tuple[str, FunctionDef]] | None: ...

    def is_macro(self, name: str) -> bool: ...

    def source(self, path: str) -> SourceFile | None: ...


class IndexTable(SummaryTable):
    """A SummaryTable whose rows come from the function index, name by name."""

    def __init__(self, index: TreeIndex, scan: SummaryTable | None = None) -> None:
        super().__init__()
        base: object = getattr(index, "base", index)
        overlay = getattr(index, "overlay", None)
        self.index = index
        self.base: CompleteIndex | None = base if _complete(base) else None
        self.overlay: dict[str, str | None] = dict(overlay) if isinstance(overlay, dict) else {}
        self.scan = scan
        self._macro_names: set[str] = set()
        self._locks: dict[str, LockSummary | None] = {}
        self._unknown: set[str] = set()
        self._changed = False  # the last search found a definition the patch changes
        self._facts: OrderedDict[str, FileFacts] = OrderedDict()
        self._visits = 0
        self._exhausted = False
        self._asking = False

    # ---- one question at a time, with its budget ----
    def sleeps_guarded(self, name: str, depth: int = 0) -> tuple[tuple[str, ...], bool] | None:
        if self._asking:
            return super().sleeps_guarded(name, depth)
        self._begin()
        try:
            answer = super().sleeps_guarded(name, depth)
        finally:
            self._asking = False
        return None if self._exhausted else answer

    def allocates_with(self, name: str, positions: tuple[int, ...], depth: int = 0) -> bool:
        if self._asking:
            return super().allocates_with(name, positions, depth)
        self._begin()
        try:
            answer = super().allocates_with(name, positions, depth)
        finally:
            self._asking = False
        # Out of budget: unknown, which is not "it allocates".
        return answer and not self._exhausted

    def _begin(self) -> None:
        """A new question: its own budget, and no answer remembered from another one
        (each is decided from the rows alone, whatever was asked before)."""
        self._memo.clear()
        self._visits, self._exhausted, self._asking = 0, False, True

    # ---- rows ----
    def definitions_of(self, name: str) -> list[Row]:
        if name not in self.rows and name not in self._unknown:
            if self._asking and self._visits >= MAX_NAMES:
                self._exhausted = True
                return []
            found = self._lookup(name)
            if found is None:
                self._unknown.add(name)
            else:
                self.rows[name] = found[0]
                if found[1]:
                    self._macro_names.add(name)
        if self._asking:
            self._visits += 1
        if name in self._unknown:
            self._exhausted = True  # too many files to search: the answer is unknown
            return []
        return self.rows[name]

    def is_macro(self, name: str) -> bool:
        return name in self._macro_names

    def lock_summary_of(self, name: str) -> LockSummary | None:
        """The lock summary every definition of NAME agrees on (computed in its own
        file, as for a callee of the same file), else None (unknown)."""
        if name in self._locks:
            return self._locks[name]
        found: LockSummary | None = None
        touched = self._touched(name)
        cached = None if touched or self.base is None else _read(self.base.root, f"lock:{name}")
        if isinstance(cached, LockSummary) or cached == _UNKNOWN:
            found = cached if isinstance(cached, LockSummary) else None
        elif self.base is not None:
            found = self._lock_summary(name, touched)
            if not touched and not self._changed:
                _write(self.base.root, f"lock:{name}", found if found is not None else _UNKNOWN)
        self._locks[name] = found
        return found

    def _lock_summary(self, name: str, touched: list[str]) -> LockSummary | None:
        assert self.base is not None
        summaries: list[LockSummary] = []
        definitions = self._definitions(name, touched)
        if definitions is None:
            return None
        for path, fn in definitions:
            if fn.body is None or (fn.is_static and not path.endswith(".h")):
                continue
            facts = self._file_facts(path)
            if facts is None or not_kernel_code(facts):
                return None
            summary = lock_summary(facts, fn)
            if summary is None:
                return None
            summaries.append(summary)
        if not summaries or self.base.is_macro(name):
            return None
        first = summaries[0]
        return first if all(other == first for other in summaries[1:]) else None

    def _lookup(self, name: str) -> tuple[list[Row], bool] | None:
        """NAME's rows and whether a header defines it as a macro; None: unknown."""
        if self.base is None:
            return [], False
        touched = self._touched(name)
        if not touched:
            scanned = self._from_scan(name)
            if scanned is not None and not self._stale(scanned[0]):
                return scanned
            cached = _read(self.base.root, name)
            if cached == _UNKNOWN:
                return None
            kept = _as_rows(cached)
            if kept is not None and not self._stale(kept[0]):
                return kept
        definitions = self._definitions(name, touched)
        if definitions is None:
            if not touched:
                _write(self.base.root, name, _UNKNOWN)
            return None
        rows: list[Row] = []
        for path, fn in definitions:
            if fn.body is None or (fn.is_static and not path.endswith(".h")):
                continue  # a static function of another .c file is not what we call
            facts = self._file_facts(path)
            if facts is None or not_kernel_code(facts):
                continue
            rows.append(as_row(export_of(facts, fn)))
        found = (rows, self.base.is_macro(name))
        if not touched and not self._changed:
            _write(self.base.root, name, found)
        return found

    def _stale(self, rows: list[Row]) -> bool:
        """Rows of a file the patch changes (or deletes) are not the patched tree's."""
        return any(row[0] in self.overlay for row in rows)

    def _touched(self, name: str) -> list[str]:
        """The patched files that define ``name`` (their definitions are new). A file
        that only calls it (the caller's own, always) changes nothing here."""
        mention = re.compile(rf"{re.escape(name)}\s*\(")  # a literal prefix: a fast search
        return sorted(
            path
            for path, text in self.overlay.items()
            if path.endswith((".c", ".h")) and text and name in text and _declares(text, mention)
        )

    def _definitions(self, name: str, touched: list[str]) -> list[tuple[str, FunctionDef]] | None:
        """NAME's definitions, with the patched files' own; None: too many files to
        parse for one name (it stays unknown)."""
        assert self.base is not None
        self._changed = False
        found = self.base.complete_definitions(name, max_files=MAX_FILES)
        if found is not None and len(found) == 1 and _alternative(self.base, *found[0]):
            # One configuration's stub, whose other arm only declares it: the
            # definition that configuration builds is elsewhere
            # (drivers/base/power/wakeup.c).
            found = self.base.complete_definitions(name, whole_tree=True, max_files=MAX_FILES)
        if found is None:
            return None
        # A definition the patch changes: the tree's rows are not this state's.
        self._changed = any(p in self.overlay for p, _fn in found)
        found = [(p, fn) for p, fn in found if p not in self.overlay]
        for path in touched:
            source = self.index.source(path)
            if source is not None:
                found.extend((path, fn) for fn in source.functions if fn.name == name)
        return found

    def _from_scan(self, name: str) -> tuple[list[Row], bool] | None:
        """The scan table's rows, if every file they come from is unchanged since."""
        if self.scan is None or self.base is None:
            return None
        rows = self.scan.rows.get(name, [])
        for row in rows:
            stamp = self.scan.stamps.get(row[0])
            try:
                info = (self.base.root / row[0]).stat()
            except OSError:
                return None
            if stamp is None or stamp != (int(info.st_mtime), info.st_size):
                return None
        return list(rows), name in self.scan.macros

    def _file_facts(self, path: str) -> FileFacts | None:
        found = self._facts.get(path)
        if found is not None:
            self._facts.move_to_end(path)
            return found
        source = self.index.source(path)
        if source is None:
            return None
        found = FileFacts(source, path, self.index)
        defer_tree_questions(found)  # its own callees elsewhere are rows of their own
        self._facts[path] = found
        while len(self._facts) > _FILES_KEPT:
            self._facts.popitem(last=False)
        return found


def _alternative(index: CompleteIndex, path: str, fn: FunctionDef) -> bool:
    source = index.source(path)
    return source is not None and config_alternative(source.text, fn.name, fn.start_line)


def _complete(index: object) -> TypeGuard[CompleteIndex]:
    return all(
        callable(getattr(index, name, None))
        for name in ("complete_definitions", "is_macro", "source")
    ) and isinstance(getattr(index, "root", None), Path)


_TABLES: weakref.WeakKeyDictionary[object, IndexTable] = weakref.WeakKeyDictionary()


def index_table(index: TreeIndex, scan: SummaryTable | None) -> IndexTable:
    """The on-demand table of this index (one per index: a patch's pre and post views
    each have theirs, and the tree's own index serves every patch of the run)."""
    found = _TABLES.get(index)
    if found is None or found.scan is not scan:
        found = IndexTable(index, scan)
        _TABLES[index] = found
    return found


# ---- the cache folder ----
def _version() -> str:
    """The analysis code and data the rows were computed with."""
    return f"{ROWS_FORMAT}-{analysis_version()}"


_IDENTITY: dict[Path, str] = {}


def _cache_file(root: Path, name: str) -> Path | None:
    identity = _IDENTITY.get(root)
    if identity is None:
        identity = _IDENTITY[root] = hashlib.blake2b(
            "\0".join([*tree_identity(root), _version()]).encode(), digest_size=10
        ).hexdigest()
    return cache_path("callees", identity, f"{name}.pickle")


def _as_rows(data: object) -> tuple[list[Row], bool] | None:
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], list):
        rows: list[Row] = data[0]
        return rows, bool(data[1])
    return None


def _read(root: Path, name: str) -> object:
    path = _cache_file(root, name)
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            data: object = pickle.load(handle)
    except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        return None
    return data


def _write(root: Path, name: str, found: object) -> None:
    path = _cache_file(root, name)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(found, handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)
    except OSError:
        pass  # a read-only cache only costs speed


def _declares(text: str, mention: re.Pattern[str]) -> bool:
    """Whether a line of ``text`` declares or defines the name ``mention`` finds: the
    name opens the line, or the line starts with a word and holds no ``;{}`` before
    it (``static int name(``, ``void *\nname(``). A search per mention, not a regular
    expression anchored at every line: the series' overlay is searched once per name."""
    for found in mention.finditer(text):
        start = text.rfind("\n", 0, found.start()) + 1
        prefix = text[start : found.start()]
        if not prefix:
            return True
        if prefix[-1].isalnum() or prefix[-1] == "_":
            continue  # a longer name ending in this one
        if (prefix[0].isalpha() or prefix[0] == "_") and not any(c in prefix for c in ";{}"):
            return True
    return False
