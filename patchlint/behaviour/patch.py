"""The functions a patch changes, and their verdicts.

A function is compared when its body changes (comments and layout aside) and it
exists before and after; a function whose name changes but whose body does not
(apart from the name) is a rename: it is compared under its new name, and the
other changed functions see calls to the old name and to the new one as the same
callee.  Each function has its own time budget and the patch a cap on how many
functions are compared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from patchlint.source import FunctionDef, SourceFile, parse_c

from . import clock
from .calls import Definition
from .engine import Bounds, Version, compare_versions
from .headers import HeaderLookup
from .model import Explored, FunctionVerdict
from .symbols import Layer, Symbols

Reader = Callable[[str], "str | None"]
C_SUFFIXES = (".c", ".h")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


@dataclass(frozen=True)
class FileChange:
    """One file of a patch: its path before and after and both texts (None: absent)."""

    path: str
    old_path: str
    pre: str | None
    post: str | None


@dataclass(frozen=True)
class BehaviourOptions:
    bounds: Bounds = Bounds()
    # At most this many functions per patch; the rest are reported unknown (not compared).
    max_functions: int = 16
    # A patch stops starting new comparisons past this many seconds.
    patch_seconds: float = 20.0


@dataclass(frozen=True)
class ChangedFunction:
    before: FunctionDef
    after: FunctionDef
    old_name: str | None  # set for a rename


def _tokens(source: SourceFile, fn: FunctionDef, rename: tuple[str, str] | None = None) -> str:
    text = _COMMENT.sub(
        " ", source.normalised_data[fn.start_byte : fn.end_byte].decode("utf-8", "replace")
    )
    if rename is not None:
        text = re.sub(rf"\b{re.escape(rename[0])}\b", rename[1], text)
    return " ".join(re.findall(r"\w+|[^\s\w]", text))


def changed_functions(pre: SourceFile, post: SourceFile) -> list[ChangedFunction]:
    """Functions whose tokens differ (comments and whitespace ignored), and renames."""
    before = {fn.name: fn for fn in pre.functions if fn.body is not None}
    after = {fn.name: fn for fn in post.functions if fn.body is not None}
    out: list[ChangedFunction] = []
    for name, new in after.items():
        old = before.get(name)
        if old is not None and _tokens(pre, old) != _tokens(post, new):
            out.append(ChangedFunction(old, new, None))
    removed = [fn for name, fn in before.items() if name not in after]
    added = [fn for name, fn in after.items() if name not in before]
    for old in removed:
        for new in added:
            if _tokens(pre, old, (old.name, new.name)) == _tokens(post, new):
                out.append(ChangedFunction(old, new, old.name))
                break
    out.sort(key=lambda change: change.after.start_byte)
    return out


def renames(changes: list[ChangedFunction]) -> dict[str, str]:
    return {c.old_name: c.after.name for c in changes if c.old_name is not None}


def behaviour_of_patch(
    files: list[FileChange],
    reader: Reader | None,
    options: BehaviourOptions = BehaviourOptions(),
    series: Mapping[str, str | None] | None = None,
) -> list[FunctionVerdict]:
    """A verdict for every function the patch changes in its C files.

    ``series``: the files the earlier patches of its series changed (path to text, None
    for a deleted file). Their headers are read as changed, and the functions they add
    or change are interpreted like this patch's own: a helper a series introduces in
    patch 4 and uses in patch 5 is compared on meaning."""
    start = clock.now()
    verdicts: list[FunctionVerdict] = []
    compared = 0
    parsed: list[tuple[FileChange, SourceFile, SourceFile, list[ChangedFunction]]] = []
    for change in files:
        if not change.path.endswith(C_SUFFIXES) or change.pre is None or change.post is None:
            continue
        pre = parse_c(change.pre, change.old_path)
        post = parse_c(change.post, change.path)
        parsed.append((change, pre, post, changed_functions(pre, post)))
    patch_renames = {old: new for *_, items in parsed for old, new in renames(items).items()}
    earlier = {p: t for p, t in (series or {}).items() if t is not None}
    overlay_before, overlay_after = _overlays(files, earlier)
    programs = _Programs(parsed, reader, overlay_before, overlay_after, earlier)
    for change, pre, post, items in parsed:
        before_headers = _headers(reader, change, pre, post, overlay_before) if items else None
        after_headers = _headers(reader, change, pre, post, overlay_after) if items else None
        before_program = programs.of("before", change.path)
        after_program = programs.of("after", change.path)
        for item in items:
            name = item.after.name
            if compared >= options.max_functions or clock.now() - start > options.patch_seconds:
                verdicts.append(
                    _skipped(
                        name, change.path, "not compared: the patch's limit on functions or time"
                    )
                )
                continue
            compared += 1
            if item.before.has_errors or item.after.has_errors:
                verdicts.append(_skipped(name, change.path, "the function does not parse cleanly"))
                continue
            verdicts.append(
                compare_versions(
                    Version(pre, item.before, before_headers, before_program),
                    Version(post, item.after, after_headers, after_program),
                    change.path,
                    options.bounds,
                    old_name=item.old_name,
                    renames=patch_renames or None,
                )
            )
    return verdicts


class _Programs:
    """The functions the patch changes, adds or removes in each file, as the other files
    of the patch see them: interpreted (the before or after version), not uninterpreted
    calls, so a refactor that moves code into a new header helper is compared on meaning."""

    def __init__(
        self,
        parsed: list[tuple[FileChange, SourceFile, SourceFile, list[ChangedFunction]]],
        reader: Reader | None,
        overlay_before: dict[str, str],
        overlay_after: dict[str, str],
        earlier: Mapping[str, str],
    ) -> None:
        self._parsed = parsed
        self._reader = reader
        self._overlays = {"before": overlay_before, "after": overlay_after}
        self._earlier = earlier
        self._series: dict[str, Definition] | None = None
        self._cache: dict[tuple[str, str], dict[str, Definition]] = {}

    def of(self, which: str, path: str) -> Callable[[Symbols], dict[str, Definition]]:
        def program(_symbols: Symbols) -> dict[str, Definition]:
            return self._definitions(which, path)

        return program

    def _definitions(self, which: str, excluded: str) -> dict[str, Definition]:
        key = (which, excluded)
        found = self._cache.get(key)
        if found is not None:
            return found
        out: dict[str, Definition] = {}
        for change, pre, post, _items in self._parsed:
            if change.path == excluded:
                continue
            source, other = (pre, post) if which == "before" else (post, pre)
            others = {fn.name: _tokens(other, fn) for fn in other.functions if fn.body is not None}
            headers = _headers(self._reader, change, pre, post, self._overlays[which])
            symbols = Symbols(source, headers)
            for fn in source.functions:
                if fn.body is None or fn.has_errors or fn.name in out:
                    continue
                if others.get(fn.name) != _tokens(source, fn):
                    out[fn.name] = Definition(symbols, fn, source)
        for name, definition in self.series_definitions().items():
            out.setdefault(name, definition)
        self._cache[key] = out
        return out

    def series_definitions(self) -> dict[str, Definition]:
        """Functions the earlier patches of the series added or changed (against the tree),
        except in the files this patch changes (those are in both versions above)."""
        if self._series is not None:
            return self._series
        mine = {change.path for change, *_ in self._parsed}
        out: dict[str, Definition] = {}
        for path, text in self._earlier.items():
            if path in mine or not path.endswith(C_SUFFIXES):
                continue
            source = parse_c(text, path)
            base_text = self._reader(path) if self._reader is not None else None
            base = parse_c(base_text, path) if base_text else None
            known = {fn.name: _tokens(base, fn) for fn in base.functions} if base else {}
            change = FileChange(path, path, base_text, text)
            symbols = Symbols(
                source, _headers(self._reader, change, source, source, self._overlays["after"])
            )
            for fn in source.functions:
                if fn.body is None or fn.has_errors:
                    continue
                if known.get(fn.name) != _tokens(source, fn):
                    out.setdefault(fn.name, Definition(symbols, fn, source))
        self._series = out
        return out


def _headers(
    reader: Reader | None,
    change: FileChange,
    pre: SourceFile,
    post: SourceFile,
    overlay: dict[str, str] | None = None,
) -> HeaderLookup | None:
    """The headers a file of the patch sees: the tree's, and the patch's own headers
    in the version being compared (``overlay``)."""
    if reader is None and not overlay:
        return None
    includes = Layer.build(pre, "file").includes
    for include in Layer.build(post, "file").includes:
        if include not in includes:
            includes.append(include)
    return HeaderLookup(reader or _no_tree, change.path, includes, overlay)


def _no_tree(path: str) -> str | None:
    return None


def _overlays(
    files: list[FileChange], earlier: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The headers as each version sees them: the series' earlier changes, then this
    patch's (path -> text before, path -> text after)."""
    before = {path: text for path, text in earlier.items() if path.endswith(".h")}
    after = dict(before)
    for change in files:
        if change.path.endswith(".h"):
            if change.pre is not None:
                before[change.old_path] = change.pre
            if change.post is not None:
                after[change.path] = change.post
    return before, after


def _skipped(name: str, path: str, reason: str) -> FunctionVerdict:
    return FunctionVerdict(name, path, "unknown", None, Explored(0, False), reason)


def changed_names(files: list[FileChange]) -> Iterator[str]:
    for change in files:
        if change.path.endswith(C_SUFFIXES) and change.pre and change.post:
            for item in changed_functions(
                parse_c(change.pre, change.old_path), parse_c(change.post, change.path)
            ):
                yield item.after.name
