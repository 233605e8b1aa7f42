"""C analysis of one patch: parse the touched files before and after, run the rules on
the touched functions, and classify each finding as introduced, resolved or unchanged."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from patchlint.findings import Finding
from patchlint.pipeline.partial import complete_functions, sparse_image
from patchlint.pipeline.touched import functions_at, touched_lines
from patchlint.rules import AnalysisUnit, FunctionLookup, Rule, diff_findings, run_rules

if TYPE_CHECKING:
    # Loaded when a patch touches C: a run on mail alone never loads tree-sitter.
    from patchlint.patch import FilePatch
    from patchlint.source import AppliedFile, Dialect, SourceFile

C_SUFFIXES = (".c", ".h")


class ParseCache:
    """Parsed files keyed by content: a series touching one file many times, or an
    archive touching one subsystem, parses each version once."""

    def __init__(self, capacity: int = 32, dialect: Dialect | None = None) -> None:
        self._entries: OrderedDict[str, SourceFile] = OrderedDict()
        self._capacity = capacity
        self.dialect = dialect

    def parse(self, text: str, path: str) -> SourceFile:
        from patchlint.source import parse_c

        key = hashlib.blake2b(f"{path}\0{text}".encode(errors="surrogateescape")).hexdigest()
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        source = parse_c(text, path, self.dialect)
        self._entries[key] = source
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return source


@dataclass
class FileAnalysis:
    findings: list[Finding] = field(default_factory=list)
    touched_functions: set[str] = field(default_factory=set)
    partial: bool = False
    note: str | None = None


def analyse_file(
    file_patch: FilePatch,
    applied: AppliedFile | None,
    rules: list[Rule],
    cache: ParseCache,
    before: FunctionLookup | None = None,
    after: FunctionLookup | None = None,
) -> FileAnalysis:
    """Findings of one file of a patch. ``before``/``after`` answer tree-wide questions
    for the pre- and post-image: the tree with the series applied up to and
    including this patch's predecessor, and this patch."""
    path = file_patch.path or ""
    if not path.endswith(C_SUFFIXES) or file_patch.status == "binary":
        return FileAnalysis()
    state = applied.state if applied is not None else "no tree"
    if applied is not None and applied.ok:
        return _analyse_images(file_patch, applied, rules, cache, before, after)
    return _analyse_hunks_only(file_patch, rules, cache, state)


def _analyse_images(
    file_patch: FilePatch,
    applied: AppliedFile,
    rules: list[Rule],
    cache: ParseCache,
    before: FunctionLookup | None,
    after: FunctionLookup | None,
) -> FileAnalysis:
    touched = touched_lines(file_patch, applied.hunks)
    pre_path = file_patch.old_path or applied.path
    pre_source = cache.parse(applied.pre, pre_path) if applied.pre else None
    post_source = cache.parse(applied.post, applied.path) if applied.post else None
    names: set[str] = set()
    if pre_source is not None:
        names |= functions_at(pre_source, touched.pre)
    if post_source is not None:
        names |= functions_at(post_source, touched.post)
    if not names:
        return FileAnalysis()
    pre_findings = _run(pre_source, pre_path, names, rules, before)
    post_findings = _run(post_source, applied.path, names, rules, after)
    findings = diff_findings(pre_findings, post_findings)
    return FileAnalysis(findings=findings, touched_functions=names)


def _analyse_hunks_only(
    file_patch: FilePatch, rules: list[Rule], cache: ParseCache, state: str
) -> FileAnalysis:
    path = file_patch.path or ""
    pre_text = sparse_image(file_patch, "pre") if file_patch.status != "added" else ""
    post_text = sparse_image(file_patch, "post") if file_patch.status != "deleted" else ""
    pre_source = cache.parse(pre_text, path) if pre_text else None
    post_source = cache.parse(post_text, path) if post_text else None
    names: set[str] = set()
    if pre_source is not None:
        names |= complete_functions(pre_source, file_patch, "pre")
    if post_source is not None:
        names |= complete_functions(post_source, file_patch, "post")
    sections = {hunk.section.strip() for hunk in file_patch.hunks if hunk.section.strip()}
    reason = "no tree" if state == "no tree" else f"file {state}"
    note = (
        f"{path}: partial analysis ({reason}): only functions wholly inside the hunks "
        f"were checked ({', '.join(sorted(names)) or 'none'})"
    )
    if sections:
        note += f"; hunks also change {', '.join(sorted(sections))}"
    findings: list[Finding] = []
    if names:
        reasons: list[str] = []
        pre_findings = _run(pre_source, path, names, rules, None, reasons)
        post_findings = _run(post_source, path, names, rules, None, reasons)
        findings = diff_findings(pre_findings, post_findings)
        for reason in dict.fromkeys(reasons):
            note += f"; not analysed: {reason}"
        for finding in findings:
            # Half a file is less evidence; a guess is info, as the engine reports it.
            finding.confidence = "low" if finding.confidence != "high" else "medium"
            if finding.confidence == "low":
                finding.severity = "info"
    return FileAnalysis(findings=findings, touched_functions=names, partial=True, note=note)


def _run(
    source: SourceFile | None,
    path: str,
    names: set[str],
    rules: list[Rule],
    index: FunctionLookup | None,
    reasons: list[str] | None = None,
) -> list[Finding]:
    if source is None:
        return []
    unit = AnalysisUnit(source=source, path=path, functions=names, index=index)
    found = run_rules(unit, rules)
    if reasons is not None:
        reasons.extend(unit.notes())  # what a rule could not analyse, and why
    return found
