"""The result cache of `patchlint scan`: what the last scan of a tree found, per file.

Like git's index, a file is "unchanged" when its size, inode, modification and
change times are those recorded (a file whose times are within two seconds of the
recording is re-read: it may have changed again within the clock's resolution).
The tree's Makefiles are recorded the same way: which files a directory's Makefile
builds as host programs changes what is reported there, so a changed Makefile counts
as a change of every source file beside it.

An unchanged file's results are reused without reading it; a changed or new file
is greped for the rules' tokens and analysed again. Results that consulted other
files (callers found through the tree-wide index) are reused only when no source
file of the tree changed at all. The may-sleep summaries of every file are kept
apart, in the summary table (patchlint.analysis), which a warm scan updates for the
changed files only.

Two pickles per tree and analysis version: the index (every file's stat, the
candidates, the identity of the knowledge inferred from the tree, and the last
scan's final result) and the per-file results. When no file changed and the summary
table is the one the last scan left, the last result is the answer and only the
index is read; the per-file results are read only when something changed.
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
    from patchlint.scan_workers import Outcome

# (mtime_ns, ctime_ns, size, inode)
Stat = tuple[int, int, int, int]
# findings, error, asked names, deferred findings, header macros
Saved = tuple["list[Finding]", "str | None", "list[str]", "list[DeferredFinding]", "list[str]"]


@dataclass
class FinalResult:
    """What a whole scan reported: every finding (deferred ones resolved), every error."""

    files_candidate: int
    files_scanned: int
    findings: list[Finding]
    errors: list[tuple[str, str]]


FORMAT = 2
RACY_NS = 2_000_000_000
SOURCE_SUFFIXES = (".c", ".h")
# Read by the analysis for the sources of their own directory (host-built objects).
BUILD_FILES = ("Makefile", "Kbuild")
INDEX = "index.pickle"
RESULTS = "results.pickle"


def is_source(relative: str) -> bool:
    return relative.endswith(SOURCE_SUFFIXES)


def tree_stats(root: Path) -> dict[str, Stat]:
    """Every C source, header and Makefile under ``root`` (dot directories skipped)."""
    found: dict[str, Stat] = {}
    top = str(root)
    pending = [""]
    while pending:  # plain strings, not Paths: this runs for every file of the tree
        current = pending.pop()
        prefix = f"{current}/" if current else ""
        try:
            entries = os.scandir(f"{top}/{current}" if current else top)
        except OSError:
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(prefix + name)
                    elif name.endswith(SOURCE_SUFFIXES) or name in BUILD_FILES:
                        info = entry.stat()
                        found[prefix + name] = (
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
    # Whether a file's times were within the clock's resolution of the recording.
    racy: bool = True
    # The identity of the knowledge inferred from the whole tree when it was scanned.
    knowledge: str = ""
    final: FinalResult | None = None
    # The summary table file this scan left (size, mtime_ns): another scan of the
    # tree (other rules) may have replaced it since.
    table: tuple[int, int] | None = None
    valid: bool = False
    saved: dict[str, Saved] = field(default_factory=dict)

    @classmethod
    def open(cls, directory: Path) -> ScanCache:
        cache = cls(directory)
        data = _load(directory / INDEX)
        if not isinstance(data, tuple) or len(data) != 8 or data[0] != FORMAT:
            return cache
        _format, written, stats, racy, candidates, knowledge, final, table = data
        if not isinstance(stats, dict) or not isinstance(final, FinalResult | None):
            return cache
        cache.written_ns, cache.stats, cache.racy = written, stats, racy
        cache.candidates = set(candidates)
        cache.knowledge, cache.final, cache.table = knowledge, final, table
        cache.valid = True
        return cache

    def load_results(self) -> bool:
        """Read the per-file results (a scan of an unchanged tree never needs them);
        False, and the cache no longer valid, when they are missing or not the index's."""
        data = _load(self.directory / RESULTS) if self.valid else None
        if isinstance(data, tuple) and len(data) == 2 and data[0] == self.written_ns:
            if isinstance(data[1], dict):
                self.saved = data[1]
                return True
        self.valid = False
        return False

    def unchanged(self, stats: dict[str, Stat]) -> bool:
        """Whether no source file or Makefile changed, appeared or went away."""
        return not self.racy and stats == self.stats

    def changes(self, stats: dict[str, Stat]) -> tuple[set[str], set[str]]:
        """(source files new or changed since the last scan, source files gone since).

        A changed, new or removed Makefile changes every source file of its directory."""
        racy = self.written_ns - RACY_NS
        changed = {
            relative
            for relative, stat in stats.items()
            if self.stats.get(relative) != stat or max(stat[0], stat[1]) >= racy
        }
        removed = set(self.stats) - set(stats)
        directories = {
            relative.rpartition("/")[0] for relative in changed | removed if not is_source(relative)
        }
        if directories:
            changed |= {r for r in stats if r.rpartition("/")[0] in directories}
        return {r for r in changed if is_source(r)}, {r for r in removed if is_source(r)}

    def reuse(self, relative: str, tree_unchanged: bool) -> Outcome | None:
        """The last result for an unchanged candidate file (exports are in the table)."""
        from patchlint.scan_workers import TreeFacts

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
        written_ns: int,
        knowledge: str,
        final: FinalResult,
        table: tuple[int, int] | None,
    ) -> None:
        saved: dict[str, Saved] = {}
        for relative, findings, error, asked, tree in outcomes:
            if findings or error or asked or tree.deferred or tree.macros:
                saved[relative] = (findings, error, asked, tree.deferred, tree.macros)
        newest = max((max(stat[0], stat[1]) for stat in stats.values()), default=0)
        racy = newest >= written_ns - RACY_NS
        index = (FORMAT, written_ns, stats, racy, sorted(candidates), knowledge, final, table)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # The results first: an index is only used with the results it names.
            _store(self.directory / RESULTS, (written_ns, saved))
            _store(self.directory / INDEX, index)
        except OSError:
            pass  # a read-only cache only costs the next scan its head start


def _load(path: Path) -> object:
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        return None
    except (ImportError, IndexError, KeyError):  # written by another version of the code
        return None


def _store(target: Path, data: object) -> None:
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(target)


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
