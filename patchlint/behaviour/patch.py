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
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from patchlint.source import FunctionDef, SourceFile, parse_c

from . import clock
from .engine import Bounds, Version, compare_versions
from .headers import HeaderLookup
from .model import Explored, FunctionVerdict
from .symbols import Layer

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
    files: list[FileChange], reader: Reader | None, options: BehaviourOptions = BehaviourOptions()
) -> list[FunctionVerdict]:
    """A verdict for every function the patch changes in its C files."""
    start = clock.now()
    verdicts: list[FunctionVerdict] = []
    compared = 0
    parsed = []
    for change in files:
        if not change.path.endswith(C_SUFFIXES) or change.pre is None or change.post is None:
            continue
        pre = parse_c(change.pre, change.old_path)
        post = parse_c(change.post, change.path)
        parsed.append((change, pre, post, changed_functions(pre, post)))
    patch_renames = {old: new for *_, items in parsed for old, new in renames(items).items()}
    for change, pre, post, items in parsed:
        headers = _headers(reader, change, pre, post) if items else None
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
                    Version(pre, item.before, headers),
                    Version(post, item.after, headers),
                    change.path,
                    options.bounds,
                    old_name=item.old_name,
                    renames=patch_renames or None,
                )
            )
    return verdicts


def _headers(
    reader: Reader | None, change: FileChange, pre: SourceFile, post: SourceFile
) -> HeaderLookup | None:
    if reader is None:
        return None
    includes = Layer.build(pre, "file").includes
    for include in Layer.build(post, "file").includes:
        if include not in includes:
            includes.append(include)
    return HeaderLookup(reader, change.path, includes)


def _skipped(name: str, path: str, reason: str) -> FunctionVerdict:
    return FunctionVerdict(name, path, "unknown", None, Explored(0, False), reason)


def changed_names(files: list[FileChange]) -> Iterator[str]:
    for change in files:
        if change.path.endswith(C_SUFFIXES) and change.pre and change.post:
            for item in changed_functions(
                parse_c(change.pre, change.old_path), parse_c(change.post, change.path)
            ):
                yield item.after.name
