"""Apply a series of patches in memory, the way GNU ``patch`` would.

Patch N sees what patches 1..N-1 produced (an overlay over the tree); the tree
itself is only read.  Hunks are located like GNU patch does: at the position
the header names (shifted by what earlier hunks moved), then nearest first in
both directions over the whole file, then again with fuzz 1 and 2, where fuzz
drops context lines from the edges of the hunk.  Lines are compared without
their terminators so CRLF files match LF diffs; the file's own line endings
are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from patchlint.patch import FilePatch, Hunk, HunkLine, Patch, PatchError

from .paths import UnsafePathError, normalise_relative
from .tree import Tree

MAX_FUZZ = 2  # GNU patch's default --fuzz


@dataclass
class HunkResult:
    index: int  # position in FilePatch.hunks (0-based)
    status: str  # exact|offset|fuzz|failed
    offset: int = 0  # applied line minus the line named in the hunk header
    fuzz: int = 0
    applied_at: int | None = None  # 1-based pre-image line of the hunk's first line

    @property
    def label(self) -> str:
        if self.status in ("offset", "fuzz"):
            return f"{self.status} {self.fuzz if self.status == 'fuzz' else self.offset}"
        return self.status


@dataclass
class AppliedFile:
    path: str
    old_path: str | None
    state: str  # applied|does not apply|added|deleted|no tree|refused|binary
    pre: str | None = None
    post: str | None = None
    hunks: list[HunkResult] = field(default_factory=list)
    error: str | None = None
    pre_source: str = "none"  # tree|blob|series|none

    @property
    def ok(self) -> bool:
        return self.state in ("applied", "added", "deleted")


@dataclass
class AppliedPatch:
    files: list[AppliedFile] = field(default_factory=list)
    # Files of the diff that could not even be parsed: the patch is incomplete.
    parse_errors: list[PatchError] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.parse_errors) or any(not f.ok for f in self.files)

    def file(self, path: str) -> AppliedFile | None:
        for applied in self.files:
            if applied.path == path:
                return applied
        for applied in self.files:
            if applied.old_path == path:
                return applied
        return None


# ---------------------------------------------------------------------------
# Text as lines


def _split(text: str) -> list[str]:
    """Lines with their terminators; only ``\\n`` ends a line."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _key(raw: str) -> str:
    if raw.endswith("\n"):
        raw = raw[:-1]
    if raw.endswith("\r"):
        raw = raw[:-1]
    return raw


def _keys(text: str, lines: list[str]) -> list[str]:
    """``_key`` of every line; a file without CR is split once (the common case)."""
    if "\r" in text:
        return [_key(raw) for raw in lines]
    parts = text.split("\n")
    return parts if parts[-1] else parts[:-1]


def _dominant_eol(text: str) -> str:
    # Only "\n" ends a line: the lines ending in CRLF, against those ending in LF.
    crlf = text.count("\r\n")
    lf = text.count("\n")
    return "\r\n" if crlf * 2 > lf else "\n"


class _Output:
    """The post-image being built; a line without terminator gets one when followed."""

    def __init__(self, eol: str) -> None:
        self.parts: list[str] = []
        self.eol = eol

    def add(self, raw: str) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts[-1] += self.eol
        self.parts.append(raw)

    def extend(self, lines: list[str]) -> None:
        """``add`` of each line: only the last line of a file lacks its terminator."""
        if lines:
            self.add(lines[0])
            self.parts.extend(lines[1:])

    def text(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------------------
# Locating and applying hunks


def _context_edges(hunk: Hunk) -> tuple[int, int]:
    """Context lines before the first change and after the last one."""
    kinds = [line.kind for line in hunk.lines]
    prefix = 0
    while prefix < len(kinds) and kinds[prefix] == " ":
        prefix += 1
    suffix = 0
    while suffix < len(kinds) - prefix and kinds[len(kinds) - 1 - suffix] == " ":
        suffix += 1
    return prefix, suffix


def _expected_line(hunk: Hunk) -> int:
    # A hunk that only inserts names the line *after which* it inserts.
    return hunk.old_start + 1 if hunk.old_count == 0 else hunk.old_start


class _Applier:
    def __init__(self, pre: str, patch_has_cr: bool) -> None:
        self.lines = _split(pre)
        self.keys = _keys(pre, self.lines)
        self.eol = _dominant_eol(pre)
        self.patch_has_cr = patch_has_cr
        self.out = _Output(self.eol)
        self.frozen = 0  # input lines already copied or deleted
        self.in_offset = 0

    def _matches(self, where: int, pattern: list[str], head: int, tail: int) -> bool:
        """Does ``pattern``, less ``head``/``tail`` edge lines, match with line 1 at ``where``?"""
        start = where - 1 + head
        stop = len(pattern) - tail
        if start < 0 or start + (stop - head) > len(self.keys):
            return False
        return self.keys[start : start + stop - head] == pattern[head:stop]

    def locate(self, hunk: Hunk, pattern: list[str], fuzz: int) -> int | None:
        """1-based line where the hunk's first old line goes, or None (GNU rules)."""
        first_guess = _expected_line(hunk) + self.in_offset
        pat_lines = len(pattern)
        input_lines = len(self.lines)
        if not pat_lines:
            return first_guess if self.frozen < first_guess <= input_lines + 1 else None
        prefix, suffix = _context_edges(hunk)
        context = max(prefix, suffix)
        # Asymmetric context means diff hit the start or the end of the file: such
        # a hunk may only match there (GNU patch's rule).
        head = fuzz + prefix - context
        tail = fuzz + suffix - context
        max_where = input_lines - (pat_lines - tail) + 1
        min_where = self.frozen + 1
        max_pos = max_where - first_guess
        max_neg = min(first_guess - min_where, first_guess - 1)
        if head < 0 and _expected_line(hunk) <= 1:
            if tail < 0 and (pat_lines != input_lines or prefix < self.frozen):
                return None
            if self.frozen <= prefix and 1 - first_guess <= max_pos:
                if self._matches(1, pattern, 0, max(tail, 0)):
                    return 1
            return None
        head = max(head, 0)
        if tail < 0:
            where = input_lines - pat_lines + 1
            if first_guess - where <= max_neg and self._matches(where, pattern, head, 0):
                return where
            return None
        for distance in range(0, max(max_pos, max_neg) + 1):
            if distance <= max_pos and self._matches(first_guess + distance, pattern, head, tail):
                return first_guess + distance
            if 0 < distance <= max_neg and self._matches(
                first_guess - distance, pattern, head, tail
            ):
                return first_guess - distance
        return None

    def _copy_till(self, upto: int) -> None:
        if self.frozen < upto:
            self.out.extend(self.lines[self.frozen : upto])
            self.frozen = upto

    def _new_line(self, line: HunkLine) -> str:
        if line.no_newline_at_end:
            return line.text
        if line.crlf:
            return line.text + "\r\n"
        # An LF line in a patch that has CRs elsewhere is meant as LF; a patch
        # without any CR lost them in transport (or never had them), so follow
        # the file's convention.
        return line.text + ("\n" if self.patch_has_cr else self.eol)

    def apply(self, hunk: Hunk, where: int) -> None:
        old = 0  # old-side lines of the hunk passed so far
        base = where - 1
        for line in hunk.lines:
            if line.kind == "-":
                self._copy_till(base + old)
                self.frozen += 1
                old += 1
            elif line.kind == "+":
                self._copy_till(base + old)
                self.out.add(self._new_line(line))
            else:
                old += 1

    def finish(self) -> str:
        self._copy_till(len(self.lines))
        return self.out.text()


def apply_hunks(pre: str, hunks: Sequence[Hunk]) -> tuple[str | None, list[HunkResult]]:
    """Apply ``hunks`` in order to ``pre``; post is None when any hunk fails."""
    patch_has_cr = any(line.crlf for hunk in hunks for line in hunk.lines)
    state = _Applier(pre, patch_has_cr)
    results: list[HunkResult] = []
    failed = False
    for index, hunk in enumerate(hunks):
        pattern = [line.text for line in hunk.lines if line.kind != "+"]
        prefix, suffix = _context_edges(hunk)
        where = None
        fuzz = 0
        for fuzz in range(0, min(MAX_FUZZ, max(prefix, suffix)) + 1):
            where = state.locate(hunk, pattern, fuzz)
            if where is not None:
                break
        if where is None:
            failed = True
            results.append(HunkResult(index, "failed"))
            continue
        offset = where - _expected_line(hunk)
        state.in_offset = offset
        state.apply(hunk, where)
        status = "fuzz" if fuzz else ("offset" if offset else "exact")
        results.append(HunkResult(index, status, offset, fuzz, where))
    post = state.finish()
    return (None if failed else post), results


def _hunk_failure(fp: FilePatch, results: list[HunkResult]) -> str:
    bad = [r for r in results if r.status == "failed"]
    where = ", ".join(f"#{r.index + 1} (diff line {fp.hunks[r.index].header_line})" for r in bad)
    if len(bad) == 1:
        return f"hunk {where} of {fp.path} does not apply"
    return f"hunks {where} of {fp.path} do not apply"


# ---------------------------------------------------------------------------
# Files and series


_DELETED = object()


class _Series:
    def __init__(self, tree: Tree | None) -> None:
        self.tree = tree
        self.overlay: dict[str, str | None] = {}  # None: deleted earlier in the series

    def safe(self, path: str) -> str:
        if self.tree is not None:
            return self.tree.resolve_safe(path)
        return normalise_relative(path)

    def lookup(self, path: str, blob: str | None) -> tuple[str | None | object, str]:
        """(text | None | _DELETED, pre_source) for the pre-image of ``path``."""
        if path in self.overlay:
            text = self.overlay[path]
            return (_DELETED if text is None else text), "series"
        if self.tree is None:
            return None, "none"
        if blob and self.tree.kind == "git":
            text = self.tree.read_blob(blob)
            if text is not None:
                return text, "blob"
        text = self.tree.read(path)
        return text, ("tree" if text is not None else "none")

    def exists(self, path: str) -> bool:
        if path in self.overlay:
            return self.overlay[path] is not None
        return self.tree is not None and self.tree.exists(path)

    def apply_file(self, fp: FilePatch) -> AppliedFile:
        try:
            old = self.safe(fp.old_path) if fp.old_path is not None else None
            new = self.safe(fp.new_path) if fp.new_path is not None else None
        except UnsafePathError as exc:
            return AppliedFile(fp.path, fp.old_path, "refused", error=str(exc))
        path = new or old or fp.path
        result = AppliedFile(path, old, "applied")
        if fp.status == "binary":
            result.state = "binary"
            result.error = "binary change: content not available"
            return result
        try:
            if fp.status == "added" or old is None:
                return self._added(fp, result, path)
            return self._changed(fp, result, old, new)
        except UnsafePathError as exc:
            result.state, result.error = "refused", str(exc)
            return result

    def _added(self, fp: FilePatch, result: AppliedFile, path: str) -> AppliedFile:
        if self.exists(path):
            result.state = "does not apply"
            result.error = f"{path} already exists, the patch creates it"
            return result
        post, result.hunks = apply_hunks("", fp.hunks)
        if post is None:
            result.state, result.error = "does not apply", _hunk_failure(fp, result.hunks)
            return result
        result.state, result.post = "added", post
        self.overlay[path] = post
        return result

    def _changed(
        self, fp: FilePatch, result: AppliedFile, old: str, new: str | None
    ) -> AppliedFile:
        pre, result.pre_source = self.lookup(old, fp.old_blob)
        if pre is _DELETED:
            result.state = "does not apply"
            result.error = f"{old} was deleted by an earlier patch of the series"
            return result
        if pre is None:
            if self.tree is None:
                result.state = "no tree"
            else:
                result.state = "does not apply"
                result.error = f"{old} does not exist in the tree"
            return result
        assert isinstance(pre, str)
        result.pre = pre
        if new is not None and new != old and self.exists(new):
            result.state = "does not apply"
            result.error = f"{new} already exists, the patch {fp.status} {old} onto it"
            return result
        post, result.hunks = apply_hunks(pre, fp.hunks)
        if post is None:
            result.state, result.error = "does not apply", _hunk_failure(fp, result.hunks)
            return result
        if new is None:
            if post != "":
                result.state = "does not apply"
                result.error = f"{old} has content the deletion does not remove"
                return result
            result.state = "deleted"
            self.overlay[old] = None
            return result
        result.post = post
        self.overlay[new] = post
        if fp.status == "renamed" and new != old:
            self.overlay[old] = None
        return result


def apply_series(patches: Sequence[Patch], tree: Tree | None) -> list[AppliedPatch]:
    """Apply each patch in order in memory; one AppliedPatch per input patch."""
    series = _Series(tree)
    applied: list[AppliedPatch] = []
    for patch in patches:
        out = AppliedPatch(parse_errors=list(patch.errors))
        for fp in patch.files:
            out.files.append(series.apply_file(fp))
        applied.append(out)
    return applied
