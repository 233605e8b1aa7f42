"""Summaries of functions defined in other files of the tree.

Two providers answer "what does calling NAME do?" for a callee that is not in
the file being analysed:

* ``TableSummaries``: a table of every exported function's may-sleep summary,
  built by ``patchlint scan`` (``SummaryTable``) and cached per tree, so a patch
  check looks a callee up in a dictionary;
* ``DeferringSummaries``: inside a whole-tree scan, where every file is being
  analysed anyway: the question is recorded and answered once all files have
  exported their summaries.

Only may-sleep crosses files today; a callee's lock effects are taken from the
same file (and from the data), which keeps a scan's files independent.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from patchlint.analysis.alternatives import config_alternative
from patchlint.analysis.facts import FileFacts
from patchlint.analysis.gfp import Forward, allocating_gfp_params, gfp_forwards
from patchlint.analysis.guards import NEVER, Condition, Conjunction, decide
from patchlint.analysis.hostcode import not_kernel_code
from patchlint.analysis.sleep import Deferred, Flagged, SleepSummary
from patchlint.analysis.summaries import LockSummary
from patchlint.analysis.version import analysis_version
from patchlint.cachedir import summary_table_path
from patchlint.source import FunctionDef

MAX_TREE_DEPTH = 3  # functions followed across files
MAX_TREE_CHAIN = 3  # calls between the caller and the sleeping primitive, at most
TREE_KEY = "tree-summaries"


class TreeSummaries(Protocol):
    def lock_summary(self, name: str) -> LockSummary | None: ...

    def sleep_summary(self, name: str) -> SleepSummary | Deferred | None: ...

    def flagged_sleep(
        self, name: str, positions: tuple[int, ...]
    ) -> SleepSummary | Deferred | None: ...


@dataclass(frozen=True)
class SleepExport:
    """One function's may-sleep facts, as a whole-tree scan exports them."""

    name: str
    path: str
    chain: tuple[str, ...] | None  # sleeps by itself (same-file callees included)
    externals: tuple[str, ...] = ()  # other files' functions it calls outside its sections
    guarded: bool = False  # its own sleep is on paths its inputs choose
    constant: tuple[str, ...] = ()  # externals it calls with a constant argument only
    gfp_params: tuple[int, ...] = ()  # its gfp_t parameters that reach an allocation
    flagged: Flagged = ()  # externals it passes blocking GFP flags (Deferred.flagged)
    gfp_forwards: tuple[Forward, ...] = ()  # gfp_t parameters passed to same-file callees
    # One configuration's choice: another arm of its #if declares or defines it too
    # (patchlint.analysis.alternatives); it does not veto the other definitions.
    alternative: bool = False
    # When its own sleep is guarded: the tests of its parameters on the way to each
    # sleeping call (SleepSummary.when), so that a caller's arguments judge it.
    when: Condition = None


# One definition as the table keeps it (a tuple: a table holds ~200,000 of them and
# loads in a fraction of a second): path, chain, externals, guarded, constant,
# gfp_params, flagged, gfp_forwards, alternative, when.
Row = tuple[
    str,
    "tuple[str, ...] | None",
    "tuple[str, ...]",
    bool,
    "tuple[str, ...]",
    "tuple[int, ...]",
    Flagged,
    "tuple[Forward, ...]",
    bool,
    Condition,
]
TABLE_FORMAT = 6


def table_version() -> str:
    """The table's format and the analysis that computed its rows: a table another
    version of the analysis wrote is not read (the next scan writes this one's)."""
    return f"{TABLE_FORMAT}.{analysis_version()}"


def as_row(item: SleepExport) -> Row:
    return (
        item.path,
        item.chain,
        item.externals,
        item.guarded,
        item.constant,
        item.gfp_params,
        item.flagged,
        item.gfp_forwards,
        item.alternative,
        item.when,
    )


@dataclass
class SummaryTable:
    """Every exported function's summary, by name; answers may-sleep tree-wide.

    A name defined as a macro by some header is not answered: which definition a
    call reaches depends on what the caller includes."""

    # Dicts, or read from the index beside a saved table (table_index.IndexedTable).
    rows: MutableMapping[str, list[Row]] = field(default_factory=dict)
    stamps: MutableMapping[str, tuple[int, int]] = field(
        default_factory=dict
    )  # path -> (mtime, size)
    header_macros: dict[str, tuple[str, ...]] = field(default_factory=dict)  # path -> names
    _macros: set[str] | None = field(default=None, repr=False)
    # (name, depth) -> complete answers of sleeps_guarded; the names being answered.
    _memo: dict[tuple[str, int], tuple[tuple[str, ...], bool] | None] = field(
        default_factory=dict, repr=False
    )
    _active: set[str] = field(default_factory=set, repr=False)
    _cycles_cut: int = field(default=0, repr=False)

    def add(self, items: Iterable[SleepExport], macros: Iterable[str] = (), path: str = "") -> None:
        for item in items:
            self.rows.setdefault(item.name, []).append(as_row(item))
        names = tuple(macros)
        if names:
            self.header_macros[path] = tuple(
                sorted(set(self.header_macros.get(path, ())) | set(names))
            )
        self._macros = None
        self._memo.clear()

    def forget(self, paths: set[str]) -> None:
        """Drop what the given files exported (they changed or went away)."""
        if not paths:
            return
        for name in list(self.rows):
            kept = [row for row in self.rows[name] if row[0] not in paths]
            if kept:
                self.rows[name] = kept
            else:
                del self.rows[name]
        for path in paths:
            self.header_macros.pop(path, None)
            self.stamps.pop(path, None)
        self._macros = None
        self._memo.clear()

    @property
    def macros(self) -> set[str]:
        if self._macros is None:
            self._macros = {name for names in self.header_macros.values() for name in names}
        return self._macros

    @property
    def exports(self) -> dict[str, list[SleepExport]]:
        """The definitions by name, as SleepExport (for reading, not for speed)."""
        return {name: [SleepExport(name, *row) for row in rows] for name, rows in self.rows.items()}

    def sleeps(self, name: str) -> tuple[str, ...] | None:
        """The chain by which NAME may sleep, if every definition of it may."""
        found = self.sleeps_guarded(name)
        return found[0] if found is not None else None

    def sleeps_guarded(self, name: str, depth: int = 0) -> tuple[tuple[str, ...], bool] | None:
        """The chain by which NAME may sleep, if every definition of it may, and whether
        that sleep is on paths chosen by its arguments (``guarded``).

        The answer depends on the rows only, never on the questions asked before: an
        answer is remembered per depth (a deeper question has a shorter chain left),
        and only when complete, that is when no call cycle was cut on its way (a name
        already being answered counts as not sleeping there, which holds for that
        path only). Among the definitions, the shortest chain wins, ties broken by the
        names (rows come in the order files were scanned or rescanned)."""
        key = (name, depth)
        if key in self._memo:
            return self._memo[key]
        if depth >= MAX_TREE_DEPTH:
            return None
        definitions = self.definitions_of(name)
        if not definitions or self.is_macro(name):
            return None
        if name in self._active:
            self._cycles_cut += 1
            return None  # a cycle does not sleep by itself
        cut_before = self._cycles_cut
        self._active.add(name)
        try:
            result = self._sleeps_uncached(definitions, depth)
        finally:
            self._active.discard(name)
        if self._cycles_cut == cut_before:
            self._memo[key] = result
        return result

    def _sleeps_uncached(
        self, definitions: list[Row], depth: int
    ) -> tuple[tuple[str, ...], bool] | None:
        chains: list[tuple[str, ...]] = []
        guarded = False
        for row in _decisive(definitions):
            _path, own, externals, own_guarded, constant, _gfp, flagged = row[:7]
            chain = own
            guarded = guarded or own_guarded
            if chain is None:
                for callee, positions in flagged:
                    if self.allocates_with(callee, positions):
                        chain = (callee,)
                        break
            if chain is None:
                for callee in externals:
                    inner = self.sleeps_guarded(callee, depth + 1)
                    if inner is None or (inner[1] and callee in constant):
                        continue
                    chain = (callee, *inner[0])
                    guarded = guarded or inner[1]
                    break
            if chain is None:
                return None
            chains.append(chain)
        shortest = min(chains, key=lambda chain: (len(chain), chain))
        # A long chain is a chain of conditions the callers may not meet.
        return None if depth + len(shortest) > MAX_TREE_CHAIN else (shortest, guarded)

    def own_condition(self, name: str) -> Condition:
        """The tests of NAME's parameters on the way to its own guarded sleep, over all
        its deciding definitions (it sleeps when one of them holds); None unless
        every one sleeps by itself with such tests known."""
        found: list[Conjunction] = []
        for row in _decisive(self.definitions_of(name)):
            if row[1] is None or not row[3] or row[9] is None:
                return None
            found.extend(row[9])
        return tuple(found) if found else None

    def allocates_with(self, name: str, positions: tuple[int, ...], depth: int = 0) -> bool:
        """Whether a call of NAME passed blocking GFP flags at ``positions`` may allocate
        with them: the tree has no definition of it (call_kern.cocci's rule: it may), it
        is a macro of some header, or a definition allocates with one of them. One is
        enough, unlike for may-sleep: GFP_KERNEL under a lock is wrong even when some
        configurations build a stub (zalloc_cpumask_var() without OFFSTACK)."""
        definitions = self.definitions_of(name)
        if not definitions or self.is_macro(name):
            return True
        if any(set(row[5]) & set(positions) for row in definitions):
            return True
        if depth >= MAX_TREE_DEPTH:
            return False
        return any(
            self.allocates_with(callee, (argument,), depth + 1)
            for row in definitions
            for own, callee, argument in row[7]
            if own in positions and callee != name and self.definitions_of(callee)
        )

    def definitions_of(self, name: str) -> list[Row]:
        """The rows of NAME's definitions (a table filled on demand overrides this)."""
        return self.rows.get(name, [])

    def is_macro(self, name: str) -> bool:
        return name in self.macros

    def lock_summary_of(self, name: str) -> LockSummary | None:
        """What calling NAME does to locks (a scan's table keeps may-sleep only)."""
        return None

    def definition_paths(self, name: str) -> list[str]:
        return [row[0] for row in self.rows.get(name, [])]

    # ---- persistence ----
    def save(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(
                (table_version(), self.rows, self.stamps, self.header_macros),
                handle,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        temporary.replace(target)

    @classmethod
    def load(cls, source: Path) -> SummaryTable | None:
        try:
            with source.open("rb") as handle:
                data = pickle.load(handle)
        except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
            return None
        if not isinstance(data, tuple) or len(data) != 4 or data[0] != table_version():
            return None  # another version's table: the next scan writes a new one
        _format, rows, stamps, header_macros = data
        if not isinstance(rows, dict) or not isinstance(stamps, dict):
            return None
        if not isinstance(header_macros, dict):
            return None
        return cls(rows, stamps, header_macros)


def deferred_kept_off(table: SummaryTable, deferred: Deferred, name: str) -> bool:
    """Whether the call a deferred finding waits on keeps NAME, another file's
    function whose sleep is guarded, off that sleep: what it passes (Deferred.calls)
    closes every sleeping path of NAME's own, or, when that cannot be told, it
    passes a constant (which may)."""
    outcome = None
    for called, call in deferred.calls:
        if called == name:
            outcome = decide(table.own_condition(name), call.args, None, None, call.nonnull)
    if outcome == NEVER:
        return True
    return outcome is None and name in deferred.constant


def _decisive(definitions: list[Row]) -> list[Row]:
    """The definitions that decide may-sleep: configuration alternatives (a stub of
    the other arm of an #if) step aside when a definition that is not one exists."""
    real = [row for row in definitions if not row[8]]
    return real or definitions


class TableSummaries:
    """Answers from a scan's table, ignoring definitions whose file changed since."""

    def __init__(self, table: SummaryTable, root: Path | None = None) -> None:
        self.table = table
        self.root = root

    def lock_summary(self, name: str) -> LockSummary | None:
        return None

    def sleep_summary(self, name: str) -> SleepSummary | Deferred | None:
        if self.root is not None:
            for path in self.table.definition_paths(name):
                stamp = self.table.stamps.get(path)
                try:
                    info = (self.root / path).stat()
                except OSError:
                    return None
                if stamp is not None and stamp != (int(info.st_mtime), info.st_size):
                    return None
        found = self.table.sleeps_guarded(name)
        if found is None:
            return None
        when = self.table.own_condition(name) if found[1] else None
        return SleepSummary(found[0], guarded=found[1], when=when)

    def flagged_sleep(
        self, name: str, positions: tuple[int, ...]
    ) -> SleepSummary | Deferred | None:
        return SleepSummary((name,)) if self.table.allocates_with(name, positions) else None


class DeferringSummaries:
    """Inside a scan: record the question, the scan answers it from its table."""

    def lock_summary(self, name: str) -> LockSummary | None:
        return None

    def sleep_summary(self, name: str) -> SleepSummary | Deferred | None:
        return Deferred((name,))

    def flagged_sleep(
        self, name: str, positions: tuple[int, ...]
    ) -> SleepSummary | Deferred | None:
        return Deferred((name,), flagged=((name, positions),))


class IndexSummaries:
    """A patch check: the scan's table answers what it says sleeps at once; any other
    question about another file waits, like in a scan, and the finding that needs it
    asks the function index (``patchlint.analysis.lookup``) before it is reported."""

    def __init__(self, table: SummaryTable, scan: TableSummaries | None) -> None:
        self.table = table
        self.scan = scan

    def lock_summary(self, name: str) -> LockSummary | None:
        return self.table.lock_summary_of(name)

    def sleep_summary(self, name: str) -> SleepSummary | Deferred | None:
        found = self.scan.sleep_summary(name) if self.scan is not None else None
        return found if found is not None else Deferred((name,))

    def flagged_sleep(
        self, name: str, positions: tuple[int, ...]
    ) -> SleepSummary | Deferred | None:
        if self.scan is not None:
            return self.scan.flagged_sleep(name, positions)
        return Deferred((name,), flagged=((name, positions),))


def provider(ff: FileFacts) -> TreeSummaries | None:
    """Who answers for other files: in a scan, the scan's own table once it is built;
    in a patch check, the table an earlier `patchlint scan` of the tree left in the
    cache, completed by the function index for the findings that need an answer."""
    found = ff.memo.get(TREE_KEY)
    if isinstance(found, (TableSummaries, DeferringSummaries, IndexSummaries)):
        return found
    index = ff.index
    root = getattr(index, "root", None) if index is not None else None
    if index is None or not isinstance(root, Path):
        return None
    path = table_path(root)
    table = load_table(path) if path is not None else None
    from patchlint.analysis.lookup import index_table

    scan = TableSummaries(table, root) if table is not None else None
    answering = IndexSummaries(index_table(index, table), scan)
    ff.memo[TREE_KEY] = answering
    return answering


def answering_table(ff: FileFacts) -> SummaryTable | None:
    """The table that decides this file's deferred findings now (a patch check), or
    None when they wait for the whole-tree scan's table."""
    source = provider(ff)
    return source.table if isinstance(source, IndexSummaries) else None


def tree_lock_summary(ff: FileFacts, name: str) -> LockSummary | None:
    source = provider(ff)
    return source.lock_summary(name) if source is not None else None


def tree_sleep_summary(ff: FileFacts, name: str) -> SleepSummary | Deferred | None:
    source = provider(ff)
    return source.sleep_summary(name) if source is not None else None


def tree_flagged_sleep(
    ff: FileFacts, name: str, positions: tuple[int, ...]
) -> SleepSummary | Deferred | None:
    """A call of another file's NAME passed blocking GFP flags at ``positions``: it
    sleeps (a summary), may (deferred to the scan's table), or the answer is its
    ordinary summary (None). Without a table nothing says it does not allocate."""
    source = provider(ff)
    if source is None:
        return SleepSummary((name,))
    return source.flagged_sleep(name, positions)


def defer_tree_questions(ff: FileFacts) -> None:
    """Inside a whole-tree scan: questions about other files wait for the table."""
    ff.memo[TREE_KEY] = DeferringSummaries()


def use_table(ff: FileFacts, table: SummaryTable, root: Path | None = None) -> None:
    ff.memo[TREE_KEY] = TableSummaries(table, root)


def sleep_exports(ff: FileFacts) -> list[SleepExport]:
    """May-sleep summaries of the functions other files can call (not static, or in
    a header), for the scan's table: every one of them, sleeping or not, since a name
    sleeps tree-wide only if all its definitions do. Userspace code in the tree
    (tools/...) defines functions under kernel names and is left out."""
    if not_kernel_code(ff):
        return []
    header = ff.path.endswith(".h")
    return [
        export_of(ff, fn)
        for fn in ff.source.functions
        if fn.body is not None and (header or not fn.is_static)
    ]


def export_of(ff: FileFacts, fn: FunctionDef) -> SleepExport:
    """One function's may-sleep facts as other files see them."""
    from patchlint.analysis.sleep import scan_calls

    summary, externals, constant, _site, flagged = scan_calls(ff, fn)
    chain = None
    guarded = False
    when: Condition = None
    if summary is not None and summary.gfp_param is None and not summary.drops:
        chain, guarded, when = summary.chain, summary.guarded, summary.when
    outside = () if chain else tuple(externals)
    return SleepExport(
        fn.name,
        ff.path,
        chain,
        outside,
        guarded,
        tuple(name for name in outside if name in constant),
        allocating_gfp_params(ff, fn),
        tuple((name, positions) for name, positions in flagged if name in outside),
        gfp_forwards(ff, fn),
        _alternative(ff, fn),
        when if guarded else None,
    )


def _alternative(ff: FileFacts, fn: FunctionDef) -> bool:
    text = ff.source.text
    if "#el" not in text or text.count(fn.name) < 2:
        return False
    return config_alternative(text, fn.name, fn.start_line)


def header_macros(ff: FileFacts) -> list[str]:
    """Function-like macros a header defines (a call by that name may reach them)."""
    if not ff.path.endswith(".h") or not_kernel_code(ff):
        return []
    return sorted(ff.local_macros())


_TABLES: dict[str, tuple[float, SummaryTable | None]] = {}


def table_path(root: Path) -> Path | None:
    """Where the scan of ``root`` keeps its summary table (None: caching is off)."""
    return summary_table_path(root)


def load_table(path: Path) -> SummaryTable | None:
    """The table at ``path``, loaded once per process (and again if it changed)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return None
    cached = _TABLES.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    from patchlint.analysis.table_index import load_indexed

    table = load_indexed(path)
    _TABLES[str(path)] = (stamp, table)
    return table
