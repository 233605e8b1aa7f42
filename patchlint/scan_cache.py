"""The result cache of `patchlint scan`: what the last scan of a tree found, per file.

Like git's index, a file is "unchanged" when its size, inode, modification and
change times are those recorded (a file whose times are within two seconds of the
recording is re-read: it may have changed again within the clock's resolution).
An unchanged file's results are reused without reading it; a changed or new file
is greped for the rules' tokens and analysed again. Results that consulted other
files (callers found through the tree-wide index) are reused only when no source
file of the tree changed at all. The may-sleep summaries of every file are kept
apart, in the summary table (patchlint.analysis), which a warm scan updates for the
changed files only.

Everything lives in one pickle per tree and analysis version, so a warm scan reads
one file instead of one per source file.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchlint.analysis import DeferredFinding
    from patchlint.findings import Finding
    from patchlint.scan import Outcome

# (mtime_ns, ctime_ns, size, inode)
Stat = tuple[int, int, int, int]
# findings, error, asked names, deferred findings, header macros
Saved = tuple["list[Finding]", "str | None", "list[str]", "list[DeferredFinding]", "list[str]"]

FORMAT = 1
RACY_NS = 2_000_000_000
SOURCE_SUFFIXES = (".c", ".h")


def tree_stats(root: Path) -> dict[str, Stat]:
    """Every C source and header under ``root`` (dot directories skipped)."""
    found: dict[str, Stat] = {}
    pending = [""]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(root / current if current else root))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{current}/{entry.name}" if current else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(relative)
                elif entry.name.endswith(SOURCE_SUFFIXES):
                    info = entry.stat()
                    found[relative] = (
                        info.st_mtime_ns,
                        info.st_ctime_ns,
                        info.st_size,
                        info.st_ino,
                    )
            except OSError:
                continue
    return found


@dataclass
class ScanCache:
    """The last scan's results for one tree and one version of the analysis."""

    directory: Path
    written_ns: int = 0
    stats: dict[str, Stat] = field(default_factory=dict)
    candidates: set[str] = field(default_factory=set)
    saved: dict[str, Saved] = field(default_factory=dict)
    mentions: dict[str, list[str]] = field(default_factory=dict)
    # The summary table file this scan left (size, mtime_ns): another scan of the
    # tree (other rules) may have replaced it since.
    table: tuple[int, int] | None = None
    valid: bool = False

    @classmethod
    def open(cls, directory: Path) -> ScanCache:
        cache = cls(directory)
        try:
            with (directory / "state.pickle").open("rb") as handle:
                data = pickle.load(handle)
        except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
            return cache
        if not isinstance(data, tuple) or len(data) != 7 or data[0] != FORMAT:
            return cache
        _format, written, stats, candidates, saved, mentions, table = data
        if not all(isinstance(item, dict) for item in (stats, saved, mentions)):
            return cache
        cache.written_ns, cache.stats, cache.saved, cache.mentions = written, stats, saved, mentions
        cache.candidates = set(candidates)
        cache.table = table
        cache.valid = True
        return cache

    def changes(self, stats: dict[str, Stat]) -> tuple[set[str], set[str]]:
        """(files new or changed since the last scan, files gone since)."""
        racy = self.written_ns - RACY_NS
        changed = {
            relative
            for relative, stat in stats.items()
            if self.stats.get(relative) != stat or max(stat[0], stat[1]) >= racy
        }
        return changed, set(self.stats) - set(stats)

    def reuse(self, relative: str, tree_unchanged: bool) -> Outcome | None:
        """The last result for an unchanged candidate file (exports are in the table)."""
        from patchlint.scan import TreeFacts

        if relative not in self.candidates:
            return None
        saved = self.saved.get(relative)
        if saved is None:
            return relative, [], None, [], TreeFacts()
        findings, error, asked, deferred, macros = saved
        if asked and not tree_unchanged:
            return None  # its answers came from other files, which changed
        return relative, list(findings), error, list(asked), TreeFacts(list(deferred), [], macros)

    def save(
        self,
        stats: dict[str, Stat],
        candidates: list[str],
        outcomes: list[Outcome],
        mentions: dict[str, list[str]],
        written_ns: int,
        table: tuple[int, int] | None,
    ) -> None:
        saved: dict[str, Saved] = {}
        for relative, findings, error, asked, tree in outcomes:
            if findings or error or asked or tree.deferred or tree.macros:
                saved[relative] = (findings, error, asked, tree.deferred, tree.macros)
        data = (FORMAT, written_ns, stats, sorted(candidates), saved, mentions, table)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / "state.pickle"
            temporary = target.with_suffix(f".{os.getpid()}.tmp")
            with temporary.open("wb") as handle:
                pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
            temporary.replace(target)
        except OSError:
            pass  # a read-only cache only costs the next scan its head start


def file_stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        info = path.stat() if path is not None else None
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns) if info is not None else None


def grep_files(root: Path, files: set[str], needles: list[str]) -> list[str]:
    """The files among ``files`` that contain one of ``needles``."""
    encoded = [needle.encode() for needle in needles]
    found: list[str] = []
    for relative in sorted(files):
        try:
            data = (root / relative).read_bytes()
        except OSError:
            continue
        if any(needle in data for needle in encoded):
            found.append(relative)
    return found
