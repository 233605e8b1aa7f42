"""Wire the stages for `patchlint check`: mail → patch → source → rules → simulate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchlint.findings import Finding, Severity
from patchlint.pipeline.analyse import ParseCache, analyse_file
from patchlint.pipeline.budget import BudgetExceeded, patch_budget
from patchlint.result import CheckResult, FileResult, PatchResult
from patchlint.rules import (
    Rule,
    SeriesUnit,
    run_mail_rules,
    run_series_rules,
    select_rules,
)


@dataclass
class CheckOptions:
    tree: Path | None = None
    base: str | None = None
    enable: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    show_all: bool = False
    simulate: bool = True
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    # Pre/post file texts kept for reports that show code excerpts; a plain check of
    # a large archive does not need them and should not hold them.
    keep_images: bool = True
    # Wall-clock budget per patch; a patch past it is reported as skipped and the run
    # goes on (None: no budget).
    patch_seconds: float | None = 120.0
    jobs: int = 1


def open_check_tree(options: CheckOptions) -> Any:
    if options.tree is None:
        return None
    from patchlint.source import open_tree

    return open_tree(options.tree, base_rev=options.base)


def run_check(
    messages: Iterable[Any],
    options: CheckOptions,
    inputs: list[str],
    progress: Callable[[int], None] | None = None,
) -> CheckResult:
    from patchlint.mail import collect

    collection = collect(_lean(messages))
    for message in collection.messages:
        # Everything later stages need was extracted by collect(); the decoded bodies
        # are the bulk of an archive's memory.
        message.body = ""
    series_rules = select_rules(
        options.enable, options.ignore, "series", options.severity_overrides
    )
    work = _series_work(collection)
    total = sum(len(members) for members in work)
    done = 0
    by_index: dict[int, PatchResult] = {}
    if options.jobs > 1 and len(work) > 1:
        from patchlint.pipeline.parallel import check_in_parallel

        # Open the tree here once so that a bad --tree/--base fails in this process
        # with a clear error rather than inside every worker.
        probe = open_check_tree(options)
        if probe is not None and hasattr(probe, "close"):
            probe.close()
        batches = check_in_parallel(work, options)
        tree_root = str(options.tree) if options.tree is not None else None
    else:
        checker = SeriesChecker(options)
        batches = (checker.check_series(members) for members in work)
        tree_root = str(checker.tree.root) if checker.tree is not None else None
    for batch in batches:
        for result in batch:
            by_index[result.message.index] = result
        done += len(batch)
        if progress:
            progress(min(done, total))
    patch_results = [by_index[m.index] for m in collection.patches]

    series_findings = [
        finding
        for unit in series_units(collection)
        for finding in run_series_rules(unit, series_rules)
    ]
    return CheckResult(
        inputs=inputs,
        messages=collection.messages,
        patches=patch_results,
        series_problems=collection.problems,
        series_findings=series_findings,
        tree=tree_root,
    )


def _lean(messages: Iterable[Any]) -> Iterator[Any]:
    """Drop decoded bodies as messages stream in: only a mail that may turn out to be
    an unlabelled cover letter (a non-"Re:" reply, an "other") still needs its text in
    collect(); keeping every body would make memory grow with the archive."""
    for message in messages:
        if not (
            message.kind == "other" or (message.kind == "reply" and not message.series.is_reply)
        ):
            message.body = ""
        yield message


def series_units(collection: Any) -> list[SeriesUnit]:
    """One unit per series that has problems, in the order the problems were found."""
    by_key = {series.key: series for series in collection.series}
    units: dict[str, SeriesUnit] = {}
    for problem in collection.problems:
        unit = units.get(problem.series)
        if unit is None:
            unit = units[problem.series] = SeriesUnit(problem.series, by_key.get(problem.series))
        unit.problems.append(problem)
    return list(units.values())


def _series_work(collection: Any) -> list[list[Any]]:
    """Patches grouped by series, in input order: patch N of a series must see 1..N-1."""
    seen: set[int] = set()
    work: list[list[Any]] = []
    for series in collection.series:
        members = [m for m in series.patches if m.kind == "patch" and m.index not in seen]
        # Patch N applies on top of 1..N-1 whatever order the mailbox holds them in.
        members.sort(key=lambda m: (m.series.index or 0, m.index))
        seen.update(m.index for m in members)
        if members:
            work.append(members)
    work.extend([m] for m in collection.patches if m.index not in seen)
    return work


class SeriesChecker:
    """Everything one process needs to check series: the tree, rules and caches."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        self.tree = open_check_tree(options)
        overrides = options.severity_overrides
        self.c_rules = select_rules(options.enable, options.ignore, "function", overrides)
        self.mail_rules = select_rules(options.enable, options.ignore, "mail", overrides)
        self.cache = ParseCache()
        self.index = LazyIndex(self.tree)

    def check_series(self, members: list[Any]) -> list[PatchResult]:
        from patchlint.patch import parse_patch
        from patchlint.source import apply_series

        parsed = [parse_patch(m.diff_text or "", m.source) for m in members]
        # One series at a time: its applied images are dropped before the next one.
        applied_all = apply_series(parsed, self.tree)
        return [
            self._check_one(message, patch, applied)
            for message, patch, applied in zip(members, parsed, applied_all, strict=True)
        ]

    def _check_one(self, message: Any, patch: Any, applied: Any) -> PatchResult:
        try:
            with patch_budget(self.options.patch_seconds):
                return _check_patch(
                    message,
                    patch,
                    applied,
                    self.c_rules,
                    self.mail_rules,
                    self.cache,
                    self.index,
                    self.tree,
                    self.options,
                )
        except BudgetExceeded as error:
            return PatchResult(
                message=message,
                skipped=f"budget exceeded: {error}",
                files=[
                    _file_result(f, applied.file(f.path) if applied is not None else None)
                    for f in patch.files
                ],
            )


def _check_patch(
    message: Any,
    patch: Any,
    applied: Any,
    c_rules: list[Rule],
    mail_rules: list[Rule],
    cache: ParseCache,
    index: Any,
    tree: Any,
    options: CheckOptions,
) -> PatchResult:
    result = PatchResult(message=message)
    result.errors = [
        f"{message.source}:{message.line}: {error.file or '-'}"
        f"{':' + str(error.line) if error.line else ''}: {error.message}"
        for error in patch.errors
    ]
    touched_functions: set[str] = set()
    for file_patch in patch.files:
        applied_file = applied.file(file_patch.path) if applied is not None else None
        result.files.append(_file_result(file_patch, applied_file))
        analysis = analyse_file(file_patch, applied_file, c_rules, cache, index.get())
        result.findings.extend(analysis.findings)
        touched_functions |= analysis.touched_functions
        if analysis.partial:
            result.partial = True
            if analysis.note:
                result.notes.append(analysis.note)
        if (
            options.keep_images
            and applied_file is not None
            and (applied_file.pre or applied_file.post)
        ):
            result.images[applied_file.path] = (applied_file.pre, applied_file.post)
    result.findings.extend(run_mail_rules(message, mail_rules))
    if not options.show_all:
        result.findings = [f for f in result.findings if f.status != "unchanged"]
    _resolved_as_info(result.findings)
    if options.simulate and tree is not None and applied is not None and touched_functions:
        from patchlint.simulate import simulate_applied

        result.simulation = [
            simulation.to_dict() for simulation in simulate_applied(index.get(), applied.files)
        ]
    return result


def _file_result(file_patch: Any, applied_file: Any) -> FileResult:
    return FileResult(
        path=file_patch.path,
        old_path=file_patch.old_path,
        status=file_patch.status,
        added=file_patch.added,
        removed=file_patch.removed,
        apply_state=applied_file.state if applied_file is not None else "no tree",
        hunks=[hunk.label for hunk in applied_file.hunks] if applied_file is not None else [],
        error=applied_file.error if applied_file is not None else None,
    )


def _resolved_as_info(findings: list[Finding]) -> None:
    for finding in findings:
        if finding.status == "resolved":
            # Resolved findings are good news: shown as info, never failing a run.
            finding.severity = "info"


class LazyIndex:
    """Build the tree-wide FunctionIndex on first use only: many runs never need it."""

    def __init__(self, tree: Any) -> None:
        self._tree = tree
        self._index: Any = None

    def get(self) -> Any:
        if self._tree is None:
            return None
        if self._index is None:
            from patchlint.source import FunctionIndex

            self._index = FunctionIndex(self._tree.root, reader=self._tree.read)
        return self._index
