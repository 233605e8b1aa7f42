"""`check`: mail → patch → source → analysis/rules → simulate, one series at a time.

Patch N of a series is checked on the tree with patches 1..N-1 applied, all files
(``series_state``): its pre-image analysis and simulation see that state, its
post-image analysis sees the state after N.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from patchlint.collector import tuned_collector
from patchlint.findings import Finding, Severity
from patchlint.mail import Collection, Message, collect
from patchlint.patch import FilePatch, Patch, parse_patch
from patchlint.pipeline.analyse import ParseCache, analyse_file
from patchlint.pipeline.budget import BudgetExceeded, patch_budget
from patchlint.pipeline.series_state import Overlay, advance, carried_files
from patchlint.result import (
    CheckResult,
    FileResult,
    PatchResult,
    SimulationSummary,
    simulation_summary,
)
from patchlint.rules import (
    Rule,
    SeriesUnit,
    run_behaviour_rules,
    run_mail_rules,
    run_series_rules,
    select_rules,
)
from patchlint.source import AppliedFile, AppliedPatch, Tree, apply_series

if TYPE_CHECKING:
    # Loaded when a patch touches C: a run on mail alone never loads tree-sitter.
    from patchlint.behaviour import FunctionVerdict
    from patchlint.pipeline.series_view import TextDigests
    from patchlint.simulate import Scenario
    from patchlint.source import FunctionIndex

# Called with (patches done, patches in the input) as series finish.
Progress = Callable[[int, int], None]


@dataclass
class CheckOptions:
    tree: Path | None = None
    base: str | None = None
    enable: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    show_all: bool = False
    simulate: bool = True
    # Differential execution of every changed function (patchlint.behaviour).
    behaviour: bool = True
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    # Pre/post file texts kept for reports that show code excerpts; a plain check of
    # a large archive does not need them and should not hold them.
    keep_images: bool = True
    # Wall-clock budget per patch; a patch past it is reported as skipped and the run
    # goes on (None: no budget).
    patch_seconds: float | None = 120.0
    jobs: int = 1


def open_check_tree(options: CheckOptions) -> Tree | None:
    if options.tree is None:
        return None
    from patchlint.source import open_tree

    return open_tree(options.tree, base_rev=options.base)


def run_check(
    messages: Iterable[Message],
    options: CheckOptions,
    inputs: list[str],
    progress: Progress | None = None,
) -> CheckResult:
    with tuned_collector():
        return _run_check(messages, options, inputs, progress)


def _run_check(
    messages: Iterable[Message],
    options: CheckOptions,
    inputs: list[str],
    progress: Progress | None = None,
) -> CheckResult:
    collection = collect(messages if options.keep_images else _lean(messages))
    for message in collection.messages:
        # Everything later stages need was extracted by collect(); the decoded bodies
        # are the bulk of an archive's memory. A reviewer report (keep_images) shows
        # what each reviewer wrote, so it keeps the replies' bodies.
        if not (options.keep_images and message.kind == "reply"):
            message.body = ""
    work = series_work(collection)
    total = sum(len(members) for members in work)
    if progress is not None:
        progress(0, total)
    batches: Iterable[list[PatchResult]]
    pieces = split_series(work, options.jobs)
    if options.jobs > 1 and len(pieces) > 1:
        from patchlint.pipeline.parallel import check_in_parallel

        # Open the tree here once so that a bad --tree/--base fails in this process
        # with a clear error rather than inside every worker.
        probe = open_check_tree(options)
        if probe is not None:
            probe.close()
        batches = check_in_parallel(pieces, options)
        tree_root = str(options.tree) if options.tree is not None else None
    else:
        checker = SeriesChecker(options)
        batches = (checker.check_series(members) for members in work)
        tree_root = str(checker.tree.root) if checker.tree is not None else None
    by_index: dict[int, PatchResult] = {}
    done = 0
    for batch in batches:
        for result in batch:
            by_index[result.message.index] = result
        done += len(batch)
        if progress is not None:
            progress(min(done, total), total)
    series_rules = select_rules(
        options.enable, options.ignore, "series", options.severity_overrides
    )
    series_findings = [
        finding
        for unit in series_units(collection)
        for finding in run_series_rules(unit, series_rules)
    ]
    return CheckResult(
        inputs=inputs,
        messages=collection.messages,
        patches=[by_index[m.index] for m in collection.patches],
        # The series rules report the series problems: with them ignored (the
        # sendemail-validate hook checks one mail of a series) none is shown.
        series_problems=collection.problems if series_rules else [],
        series_findings=series_findings,
        tree=tree_root,
        series=collection.series,
    )


def _lean(messages: Iterable[Message]) -> Iterator[Message]:
    """Drop decoded bodies as messages stream in: only a mail that may turn out to be
    an unlabelled cover letter (a non-"Re:" reply, an "other") still needs its text in
    collect(); keeping every body would make memory grow with the archive."""
    for message in messages:
        if not (
            message.kind == "other" or (message.kind == "reply" and not message.series.is_reply)
        ):
            message.body = ""
        yield message


def series_units(collection: Collection) -> list[SeriesUnit]:
    """One unit per series that has problems, in the order the problems were found."""
    by_key = {series.key: series for series in collection.series}
    units: dict[str, SeriesUnit] = {}
    for problem in collection.problems:
        unit = units.get(problem.series)
        if unit is None:
            unit = units[problem.series] = SeriesUnit(problem.series, by_key.get(problem.series))
        unit.problems.append(problem)
    return list(units.values())


def series_work(collection: Collection) -> list[list[Message]]:
    """Patches grouped by series, in input order: patch N of a series must see 1..N-1."""
    seen: set[int] = set()
    work: list[list[Message]] = []
    for series in collection.series:
        members = [m for m in series.patches if m.kind == "patch" and m.index not in seen]
        seen.update(m.index for m in members)
        if members and series.earlier:
            # A partial reroll applies on the earlier version's patches it did not
            # resend (b4 rebuilds it so); they are checked again in this order.
            last = max(m.series.index or 0 for m in members)
            members += [m for m in series.earlier if (m.series.index or 0) < last]
        # Patch N applies on top of 1..N-1 whatever order the mailbox holds them in.
        members.sort(key=lambda m: (m.series.index or 0, m.index))
        if members:
            work.append(members)
    work.extend([m] for m in collection.patches if m.index not in seen)
    return work


@dataclass(frozen=True)
class SeriesPiece:
    """Patches ``start`` to ``stop`` (exclusive) of a series: the unit of work of
    ``check --jobs``. Patch N is checked on the series state after 1..N-1 whichever
    piece it is in: the worker applies the patches before ``start`` again (cheap next
    to checking them) and checks its own."""

    members: list[Message]
    start: int
    stop: int


# A long series is shared among the workers in pieces of at least this many patches.
MIN_PIECE = 4


def split_series(work: list[list[Message]], jobs: int) -> list[SeriesPiece]:
    """Series as pieces of work: whole, or a long one (a 100-patch series on a CI
    bot) in one piece per worker, so that it does not keep one core busy while the
    others wait (more pieces would balance better but apply the series' start again
    in each: two pieces per worker cost 6 % more CPU on 100 patches)."""
    pieces: list[SeriesPiece] = []
    for members in work:
        count = min(jobs, len(members) // MIN_PIECE) if jobs > 1 else 1
        count = max(1, count)
        bounds = [len(members) * index // count for index in range(count + 1)]
        # A piece carries only the patches it needs: its own and those before it.
        pieces.extend(SeriesPiece(members[:stop], start, stop) for start, stop in pairwise(bounds))
    return pieces


@dataclass
class _Views:
    """What patch N sees: the tree before it (1..N-1 applied) and after it."""

    before: FunctionIndex | None
    after: FunctionIndex | None
    state: Overlay


class SeriesChecker:
    """Everything one process needs to check series: the tree, rules and caches."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        self.tree = open_check_tree(options)
        overrides = options.severity_overrides
        self.c_rules = select_rules(options.enable, options.ignore, "function", overrides)
        self.mail_rules = select_rules(options.enable, options.ignore, "mail", overrides)
        self.behaviour_rules = select_rules(options.enable, options.ignore, "behaviour", overrides)
        self.cache = ParseCache()
        self.index = LazyIndex(self.tree)

    def check_series(
        self, members: list[Message], start: int = 0, stop: int | None = None
    ) -> list[PatchResult]:
        """Results of patches ``start``..``stop`` of the series (all by default), each
        checked on the state the patches before it leave."""
        members = members[:stop]
        parsed = [parse_patch(m.diff_text or "", m.source) for m in members]
        # One series at a time: its applied images are dropped before the next one.
        applied_all = apply_series(parsed, self.tree)
        results: list[PatchResult] = []
        state: Overlay = {}
        for position, (message, patch, applied) in enumerate(
            zip(members, parsed, applied_all, strict=True)
        ):
            after = advance(state, applied)
            if position >= start:
                views = _Views(self.index.view(state), self.index.view(after), state)
                results.append(self._check_one(message, patch, applied, views))
            state = after
        return results

    def _check_one(
        self, message: Message, patch: Patch, applied: AppliedPatch, views: _Views
    ) -> PatchResult:
        try:
            with patch_budget(self.options.patch_seconds):
                return self._check_patch(message, patch, applied, views)
        except BudgetExceeded as error:
            return PatchResult(
                message=message,
                skipped=f"budget exceeded: {error}",
                files=[_file_result(f, applied.file(f.path)) for f in patch.files],
            )

    def _check_patch(
        self, message: Message, patch: Patch, applied: AppliedPatch, views: _Views
    ) -> PatchResult:
        result = PatchResult(message=message)
        result.errors = [
            f"{message.source}:{message.line}: {error.file or '-'}"
            f"{':' + str(error.line) if error.line else ''}: {error.message}"
            for error in patch.errors
        ]
        touched_functions: set[str] = set()
        for file_patch in patch.files:
            applied_file = applied.file(file_patch.path)
            result.files.append(_file_result(file_patch, applied_file))
            analysis = analyse_file(
                file_patch, applied_file, self.c_rules, self.cache, views.before, views.after
            )
            result.findings.extend(analysis.findings)
            touched_functions |= analysis.touched_functions
            result.not_analysed.extend(analysis.not_analysed)
            if analysis.partial:
                result.partial = True
                if analysis.note:
                    result.notes.append(analysis.note)
            if (
                self.options.keep_images
                and applied_file is not None
                and (applied_file.pre or applied_file.post)
            ):
                result.images[applied_file.path] = (applied_file.pre, applied_file.post)
        result.findings.extend(run_mail_rules(message, self.mail_rules))
        if self.options.behaviour and self.tree is not None and touched_functions:
            result.behaviour, found = behaviour_of(
                message, applied, self.tree, self.behaviour_rules, views.state
            )
            result.findings.extend(found)
        if not self.options.show_all:
            result.findings = [f for f in result.findings if f.status != "unchanged"]
        _resolved_as_info(result.findings)
        if self.options.simulate and views.before is not None and touched_functions:
            result.simulation = simulate_in_series(views.before, applied.files, views.state)
        return result


def behaviour_of(
    message: Message,
    applied: AppliedPatch,
    tree: Tree,
    rules: list[Rule],
    state: Overlay | None = None,
) -> tuple[list[FunctionVerdict], list[Finding]]:
    """Differential execution of the functions the patch changes, and the behaviour
    rules on each verdict (the patch's commit message says what it claims). ``state``:
    the files patches 1..N-1 of the series changed (their helpers are visible)."""
    from patchlint.behaviour import (
        BehaviourOptions,
        FileChange,
        behaviour_of_patch,
        behaviour_units,
    )

    files = [FileChange(f.path, f.old_path or f.path, f.pre, f.post) for f in applied.files if f.ok]
    verdicts = behaviour_of_patch(files, tree.read, BehaviourOptions(), dict(state or {}))
    found = [
        finding
        for unit in behaviour_units(message.subject, message.commit_message, verdicts)
        for finding in run_behaviour_rules(unit, rules)
    ]
    return verdicts, found


def simulate_in_series(
    before: FunctionIndex,
    files: list[AppliedFile],
    state: Overlay,
    scenarios: list[Scenario] | None = None,
) -> list[SimulationSummary]:
    """Simulate patch N: its before and after views both read the files that patches
    1..N-1 changed (and N does not) in the series state, not in the base tree.
    ``scenarios``: those to choose from (default: the shipped ones)."""
    from patchlint.simulate import simulate_applied

    everything = [*files, *carried_files(state, files)]
    return [
        simulation_summary(sim) for sim in simulate_applied(before, everything, scenarios=scenarios)
    ]


def _file_result(file_patch: FilePatch, applied_file: AppliedFile | None) -> FileResult:
    return FileResult(
        path=file_patch.path,
        old_path=file_patch.old_path,
        status=file_patch.status,
        added=file_patch.added,
        removed=file_patch.removed,
        apply_state=applied_file.state if applied_file is not None else "no tree",
        hunks=[hunk.label for hunk in applied_file.hunks] if applied_file is not None else [],
        error=applied_file.error if applied_file is not None else None,
        offsets=_hunk_offsets(applied_file),
    )


def _hunk_offsets(applied_file: AppliedFile | None) -> list[int]:
    if applied_file is None:
        return []
    hunks = sorted(applied_file.hunks, key=lambda hunk: hunk.index)
    return [hunk.offset if hunk.status != "failed" else 0 for hunk in hunks]


def _resolved_as_info(findings: list[Finding]) -> None:
    for finding in findings:
        if finding.status == "resolved":
            # Resolved findings are good news: shown as info, never failing a run.
            finding.severity = "info"


class LazyIndex:
    """The tree-wide FunctionIndex, built on first use only (many runs never need it),
    and its series views."""

    def __init__(self, tree: Tree | None) -> None:
        self._tree = tree
        self._index: FunctionIndex | None = None
        self._digests: TextDigests | None = None

    def get(self) -> FunctionIndex | None:
        if self._tree is None:
            return None
        if self._index is None:
            from patchlint.source import FunctionIndex

            self._index = FunctionIndex(self._tree.root, reader=self._tree.read)
        return self._index

    def view(self, state: Overlay) -> FunctionIndex | None:
        """The index as a patch sees it after the series state ``state``."""
        base = self.get()
        if base is None or not state:
            return base
        from patchlint.pipeline.series_view import SeriesView, TextDigests

        if self._digests is None:
            self._digests = TextDigests()
        self._digests.keep_only(state)
        return SeriesView(base, state, self._digests)
