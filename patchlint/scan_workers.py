"""The workers of a whole-tree scan: each analyses one file with the selected rules.

Tree-wide caller lookups are the expensive part of a scan (each is a search of the
whole tree), so they are batched: a first pass records which function names any rule
wanted callers for and treats them as uncalled; one grep (patchlint.scan) then finds
the files mentioning all those names at once; and only the files that asked are
analysed again with the answers at hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from patchlint.findings import Finding, Severity
from patchlint.source import CallSite, Dialect, FunctionDef, FunctionIndex, SourceFile

if TYPE_CHECKING:
    from patchlint.analysis import DeferredFinding, SleepExport
    from patchlint.scan import Progress, Tokens


@dataclass
class _Worker:
    root: Path
    rule_ids: list[str]
    severity: dict[str, Severity]
    tokens: Tokens
    dialect: Dialect
    mentions: dict[str, list[str]] | None = None
    index: FunctionIndex | None = None
    # Per rule, the files mentioning its tokens (patchlint.scan.rule_files), if known.
    present: Mapping[str, frozenset[str]] | None = None

    def wants(self, rule_id: str, relative: str, text: str) -> bool:
        needles = self.tokens.get(rule_id)
        if needles is None:
            return True
        found = self.present.get(rule_id) if self.present is not None else None
        return relative in found if found is not None else any(t in text for t in needles)


_WORKER: list[_Worker] = []


def _worker_init(
    root: str,
    rule_ids: list[str],
    severity: dict[str, Severity],
    tokens: Tokens,
    mentions: dict[str, list[str]] | None = None,
    present: Mapping[str, frozenset[str]] | None = None,
) -> None:
    from patchlint.analysis.constant_returns import keep_directory_listings
    from patchlint.rules import select_rules

    # A scan reads each directory once and caches its own results: the listings kept
    # for one-patch runs would only be written, thousands of them.
    keep_directory_listings(False)
    # Import every rule module now: a broken one fails the scan, not each file.
    for rule in select_rules(enabled=rule_ids):
        rule.load()
    _WORKER[:] = [
        _Worker(
            root=Path(root),
            rule_ids=rule_ids,
            severity=severity,
            tokens=tokens,
            dialect=Dialect.load(Path(root)),
            mentions=mentions,
            present=present,
        )
    ]


class _RecordingIndex:
    """First pass: remember the names asked about, answer "no callers"."""

    def __init__(self, root: Path | None = None) -> None:
        self.asked: set[str] = set()
        self.root = root  # the tree, for knowledge inferred from it as a whole

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]:
        self.asked.add(name)
        return []

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]:
        self.asked.add(name)
        return []

    def source(self, path: str) -> SourceFile | None:
        return None


class _BatchedIndex(FunctionIndex):
    """Second pass: a FunctionIndex whose candidate files come from the batch grep."""

    def __init__(self, root: Path, dialect: Dialect, mentions: Mapping[str, list[str]]) -> None:
        super().__init__(root, dialect=dialect)
        self.mentions = mentions

    def candidates(self, name: str) -> list[str]:
        if name in self.mentions:
            return self.mentions[name]
        return super().candidates(name)


def _answering_index(worker: _Worker) -> FunctionIndex:
    if worker.index is None:
        worker.index = _BatchedIndex(worker.root, worker.dialect, worker.mentions or {})
    return worker.index


@dataclass
class TreeFacts:
    """What one file contributes to tree-wide questions (patchlint.analysis): findings
    that wait for other files' summaries, and its own functions' summaries."""

    deferred: list[DeferredFinding] = field(default_factory=list)
    exports: list[SleepExport] = field(default_factory=list)
    macros: list[str] = field(default_factory=list)  # function-like macros of a header


Outcome = tuple[str, list[Finding], "str | None", list[str], TreeFacts]


def scan_file(relative: str) -> Outcome:
    from patchlint import analysis
    from patchlint.rules import AnalysisUnit, run_rules, select_rules
    from patchlint.source import parse_c

    (worker,) = _WORKER
    try:
        text = (worker.root / relative).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return relative, [], f"unreadable: {error}", [], TreeFacts()
    wanted = [rule_id for rule_id in worker.rule_ids if worker.wants(rule_id, relative, text)]
    if not wanted:
        return relative, [], None, [], TreeFacts()
    recording = _RecordingIndex(worker.root) if worker.mentions is None else None
    index = recording if recording is not None else _answering_index(worker)
    tree = TreeFacts()
    try:
        source = parse_c(text, relative, worker.dialect)
        unit = AnalysisUnit(source=source, path=relative, index=index)
        analysis.defer_tree_questions(unit)
        findings = run_rules(unit, select_rules(enabled=wanted, severity=worker.severity))
        tree.deferred = analysis.deferred_findings(unit)
        if recording is not None:  # the second pass keeps the first one's exports
            tree.exports = analysis.sleep_exports(unit)
            tree.macros = analysis.header_macros(unit)
    except RecursionError:
        return relative, [], "recursion limit while analysing", [], TreeFacts()
    except Exception as error:  # one bad file must not end a whole-tree scan
        from patchlint.rules import RuleError

        if isinstance(error, RuleError):
            raise  # a broken rule is the tool's fault, not the file's: fail loudly
        return relative, [], f"{type(error).__name__}: {error}", [], TreeFacts()
    for finding in findings:
        finding.file = relative
    for item in tree.deferred:
        item.finding.file = relative
    asked = sorted(recording.asked) if recording is not None else []
    return relative, findings, None, asked, tree


def run_files(
    root: Path,
    files: list[str],
    ids: list[str],
    severity: dict[str, Severity],
    tokens: Tokens,
    jobs: int,
    mentions: dict[str, list[str]] | None,
    progress: Progress | None,
    total: int,
    offset: int,
    present: Mapping[str, frozenset[str]] | None = None,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    if jobs == 1 or len(files) < 8:
        from patchlint.analysis.constant_returns import keep_directory_listings

        kept = keep_directory_listings(False)  # _worker_init's, undone for this process
        try:
            _worker_init(str(root), ids, severity, tokens, mentions, present)
            iterator: Iterable[Outcome] = map(scan_file, files)
            for outcome in iterator:
                outcomes.append(outcome)
                if progress is not None:
                    progress(offset + len(outcomes), total)
        finally:
            keep_directory_listings(kept)
        return outcomes
    chunksize = max(1, min(16, len(files) // (jobs * 8) or 1))
    with ProcessPoolExecutor(
        max_workers=jobs,
        initializer=_worker_init,
        initargs=(str(root), ids, severity, tokens, mentions, present),
    ) as pool:
        for outcome in pool.map(scan_file, _heavy_first(root, files), chunksize=chunksize):
            outcomes.append(outcome)
            if progress is not None:
                progress(offset + len(outcomes), total)
    return outcomes


def _heavy_first(root: Path, files: list[str]) -> list[str]:
    """Big files first, so one large file does not finish the run alone."""

    def size(relative: str) -> int:
        try:
            return (root / relative).stat().st_size
        except OSError:
            return 0

    return sorted(files, key=size, reverse=True)
