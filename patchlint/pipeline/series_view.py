"""SeriesView: the tree-wide FunctionIndex as patch N of a series sees it (see
``series_state``); kept apart so that a run touching no C never loads tree-sitter."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cached_property

from patchlint.pipeline.series_state import Overlay
from patchlint.source import (
    CallSite,
    FunctionDef,
    FunctionIndex,
    SourceFile,
    callers_in_file,
    parse_c,
)


class SeriesView(FunctionIndex):
    """The FunctionIndex of the base tree seen through a series overlay (read-only).

    Lookups delegate to ``base`` (whose caches serve the whole run) for the files the
    series did not change, and parse the overlaid ones.
    """

    def __init__(
        self, base: FunctionIndex, overlay: Overlay, digests: TextDigests | None = None
    ) -> None:
        super().__init__(base.root, reader=None, dialect=base.dialect, cache_size=0)
        self.base = base
        self.overlay = dict(overlay)
        self.reader = self.read
        self._parsed: dict[str, SourceFile | None] = {}
        self._digests = digests if digests is not None else TextDigests()

    @cached_property
    def state(self) -> str:
        """Identifies the overlay for caches keyed by path (analysis of other files).

        Computed on first use only, from per-file digests that the views of one series
        share: hashing every overlaid file again for each patch of a long series made
        the views quadratic in the series length."""
        if not self.overlay:
            return ""
        digest = hashlib.blake2b(digest_size=8)
        for path in sorted(self.overlay):
            digest.update(f"{path}\0{self._digests.of(self.overlay[path])}\0".encode())
        return digest.hexdigest()

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
        # A plain search first: a pattern opening with \b is tried at every offset.
        word = re.compile(rf"\b{re.escape(name)}\b")
        for path in self.paths():
            text = self.overlay[path]
            if text and path.endswith((".c", ".h")) and name in text and word.search(text):
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


class TextDigests:
    """Digests of overlay texts, remembered across the views of a series (each view's
    overlay holds the same text objects as the one before, plus the patch's files)."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[str, str]] = {}

    def of(self, text: str | None) -> str:
        if text is None:
            return "deleted"
        known = self._known.get(id(text))
        # The text is kept with its digest, so its id cannot be reused by another.
        if known is not None and known[0] is text:
            return known[1]
        digest = hashlib.blake2b(text.encode(errors="surrogateescape"), digest_size=16)
        self._known[id(text)] = (text, digest.hexdigest())
        return digest.hexdigest()

    def keep_only(self, overlay: Overlay) -> None:
        """Forget the texts no longer in the series state (a new series starts empty)."""
        live = {id(text) for text in overlay.values() if text is not None}
        self._known = {key: value for key, value in self._known.items() if key in live}


def _definition_rank(item: tuple[str, FunctionDef]) -> tuple[int, int, str]:
    """As FunctionIndex.definitions: .c files first, then static inline in headers."""
    path, fn = item
    header = path.endswith(".h")
    return (int(header), int(header and not (fn.is_static and fn.is_inline)), path)
