"""Wire the stages for `patchlint check`: mail → patch → source → rules → simulate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchlint.findings import Finding
from patchlint.pipeline.analyse import ParseCache, analyse_file
from patchlint.pipeline.budget import BudgetExceeded, patch_budget
from patchlint.result import CheckResult, FileResult, PatchResult
from patchlint.rules import select_rules
from patchlint.rules.engine import RuleMeta, _check_function


@dataclass
class CheckOptions:
    tree: Path | None = None
    base: str | None = None
    enable: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    show_all: bool = False
    simulate: bool = True
    severity_overrides: dict[str, str] = field(default_factory=dict)
    # Pre/post file texts kept for reports that show code excerpts; a plain check of
    # a large archive does not need them and should not hold them.
    keep_images: bool = True
    # Wall-clock budget per patch; a patch past it is reported as skipped and the run
    # goes on (None: no budget).
    patch_seconds: float | None = 120.0


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
    from patchlint.patch import parse_patch
    from patchlint.source import apply_series

    collection = collect(messages)
    for message in collection.messages:
        # Everything later stages need was extracted by collect(); the decoded bodies
        # are the bulk of an archive's memory.
        message.body = ""
    tree = open_check_tree(options)
    c_rules = select_rules(options.enable, options.ignore, "function")
    mail_rules = select_rules(options.enable, options.ignore, "mail")
    series_rules = select_rules(options.enable, options.ignore, "series")
    cache = ParseCache()
    index = _lazy_index(tree)

    parsed = {m.index: parse_patch(m.diff_text or "", m.source) for m in collection.patches}
    by_index: dict[int, PatchResult] = {}

    def check(message: Any, applied: Any) -> None:
        try:
            with patch_budget(options.patch_seconds):
                by_index[message.index] = _check_patch(
                    message, parsed[message.index], applied, c_rules, mail_rules, cache, index,
                    tree, options)
        except BudgetExceeded as error:
            by_index[message.index] = PatchResult(
                message=message, skipped=f"budget exceeded: {error}",
                files=[_file_result(f, applied.file(f.path) if applied is not None else None)
                       for f in parsed[message.index].files])
        if progress:
            progress(len(by_index))

    # One series at a time: its applied images are dropped before the next is applied.
    for series in collection.series:
        members = [m for m in series.patches if m.index in parsed and m.index not in by_index]
        results = apply_series([parsed[m.index] for m in members], tree)
        for member, applied in zip(members, results, strict=True):
            check(member, applied)
    for message in collection.patches:
        if message.index not in by_index:
            check(message, apply_series([parsed[message.index]], tree)[0])
    patch_results = [by_index[m.index] for m in collection.patches]

    series_findings = [
        finding
        for problem in collection.problems
        for meta in series_rules
        for finding in _check_function(meta.entry)(problem)
    ]
    _apply_overrides(series_findings, options)
    return CheckResult(
        inputs=inputs,
        messages=collection.messages,
        patches=patch_results,
        series_problems=collection.problems,
        series_findings=series_findings,
        tree=str(tree.root) if tree is not None else None,
    )


def _check_patch(
    message: Any,
    patch: Any,
    applied: Any,
    c_rules: list[RuleMeta],
    mail_rules: list[RuleMeta],
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
        if options.keep_images and applied_file is not None and (
            applied_file.pre or applied_file.post
        ):
            result.images[applied_file.path] = (applied_file.pre, applied_file.post)
    for meta in mail_rules:
        result.findings.extend(_check_function(meta.entry)(message))
    if not options.show_all:
        result.findings = [f for f in result.findings if f.status != "unchanged"]
    _apply_overrides(result.findings, options)
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


def _apply_overrides(findings: list[Finding], options: CheckOptions) -> None:
    for finding in findings:
        if finding.status == "resolved":
            # Resolved findings are good news: shown as info, never failing a run.
            finding.severity = "info"
        elif finding.rule in options.severity_overrides:
            finding.severity = options.severity_overrides[finding.rule]  # type: ignore[assignment]


class _lazy_index:  # noqa: N801 - used like a function returning a holder
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
