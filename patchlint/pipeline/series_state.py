"""The tree as patch N of a series sees it: the base tree with patches 1..N-1 applied.

Every stage of patch N reads files through a :class:`SeriesView`: the rules' tree-wide
lookups (callers, definitions), the analysis of other files, and the simulation. A
function that patch 1/2 adds to file B is therefore defined for 2/2 even when 2/2
touches only file A. The view is a thin layer over one long-lived
``FunctionIndex`` of the base tree, so the tree-wide searches done for one patch
serve every later one; only the files the series changed are read from the overlay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from patchlint.source import (
    AppliedFile,
    AppliedPatch,
    CallSite,
    FunctionDef,
    FunctionIndex,
    SourceFile,
    callers_in_file,
    parse_c,
)

# path -> text after the patches so far, or None where they deleted the file.
Overlay = Mapping[str, "str | None"]


def advance(state: Overlay, applied: AppliedPatch) -> dict[str, str | None]:
    """The series state after ``applied`` (a patch applied on top of ``state``).

    Files of the patch that did not apply leave the state as it was, as they do in
    ``apply_series``: later patches see what the earlier ones really produced.
    """
    after = dict(state)
    for file in applied.files:
        if not file.ok:
            continue
        old = file.old_path or file.path
        if file.state == "deleted":
            after[old] = None
            continue
        after[file.path] = file.post
        if old != file.path:
            after[old] = None
    return after


class SeriesView(FunctionIndex):
    """The FunctionIndex of the base tree seen through a series overlay (read-only).

    Lookups delegate to ``base`` (whose caches serve the whole run) for the files the
    series did not change, and parse the overlaid ones.
    """

    def __init__(self, base: FunctionIndex, overlay: Overlay) -> None:
        super().__init__(base.root, reader=None, dialect=base.dialect, cache_size=0)
        self.base = base
        self.overlay = dict(overlay)
        self.reader = self.read
        self._parsed: dict[str, SourceFile | None] = {}
        # Identifies the overlay for caches keyed by path (analysis of other files).
        digest = hashlib.blake2b(digest_size=8)
        for path in sorted(self.overlay):
            digest.update(f"{path}\0{self.overlay[path]}\0".encode(errors="surrogateescape"))
        self.state = digest.hexdigest() if self.overlay else ""

    def read(self, path: str) -> str | None:
        """Text of ``path`` in this state; a file the series deleted reads as empty."""
        if path in self.overlay:
            return self.overlay[path] or ""
        if self.base.reader is not None:
            return self.base.reader(path)
        return None

    def paths(self) -> list[str]:
        return sorted(path for path, text in self.overlay.items() if text is not None)

    def source(self, path: str) -> SourceFile | None:
        if path not in self.overlay:
            return self.base.source(path)
        if path not in self._parsed:
            text = self.overlay[path]
            self._parsed[path] = parse_c(text, path, self.dialect) if text else None
        return self._parsed[path]

    def _overlaid_sources(self, name: str) -> Iterable[tuple[str, SourceFile]]:
        for path in self.paths():
            text = self.overlay[path]
            if text and name in text and path.endswith((".c", ".h")):
                source = self.source(path)
                if source is not None:
                    yield path, source

    def candidates(self, name: str) -> list[str]:
        found = {p for p in self.base.candidates(name) if p not in self.overlay}
        found.update(path for path, _source in self._overlaid_sources(name))
        return sorted(found)

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]:
        found = [(p, fn) for p, fn in self.base.definitions(name) if p not in self.overlay]
        for path, source in self._overlaid_sources(name):
            found.extend((path, fn) for fn in source.functions if fn.name == name)
        found.sort(key=_definition_rank)
        return found

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]:
        found = [item for item in self.base.callers(name) if item[0] not in self.overlay]
        for path, source in self._overlaid_sources(name):
            found.extend((path, fn, site) for fn, site in callers_in_file(source, name))
        found.sort(key=lambda item: (item[0], item[2].line))
        return found


def _definition_rank(item: tuple[str, FunctionDef]) -> tuple[int, int, str]:
    """As FunctionIndex.definitions: .c files first, then static inline in headers."""
    path, fn = item
    header = path.endswith(".h")
    return (int(header), int(header and not (fn.is_static and fn.is_inline)), path)


def carried_files(state: Overlay, touched: Iterable[AppliedFile]) -> list[AppliedFile]:
    """Files the earlier patches changed and this one does not, as unchanged
    AppliedFiles: handed to the simulator with the patch's own files so that both its
    before and after views read them (and their #includes) in the series state."""
    own = set()
    for file in touched:
        own.add(file.path)
        own.add(file.old_path or file.path)
    return [
        AppliedFile(path, path, "applied", pre=text, post=text, pre_source="series")
        for path, text in sorted(state.items())
        if text is not None and path not in own
    ]
