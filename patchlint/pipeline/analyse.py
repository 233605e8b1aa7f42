"""C analysis of one patch: parse the touched files before and after, run the rules on
the touched functions, and classify each finding as introduced, resolved or unchanged."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from patchlint.findings import Finding
from patchlint.pipeline.partial import complete_functions, sparse_image
from patchlint.pipeline.touched import functions_at, touched_lines
from patchlint.result import NotAnalysed
from patchlint.rules import AnalysisUnit, FunctionLookup, Rule, diff_findings, run_rules

if TYPE_CHECKING:
    # Loaded when a patch touches C: a run on mail alone never loads tree-sitter.
    from patchlint.patch import FilePatch
    from patchlint.source import AppliedFile, Dialect, SourceFile

C_SUFFIXES = (".c", ".h")
ImageName = Literal["before", "after"]


class ParseCache:
    """Parsed files keyed by content: a series touching one file many times, or an
    archive touching one subsystem, parses each version once."""

    def __init__(self, capacity: int = 32, dialect: Dialect | None = None) -> None:
        # Keyed by (path, text): a text's hash is computed once and kept by the string,
        # and a hit compares the texts themselves (the same object, most often).
        self._entries: OrderedDict[tuple[str, str], SourceFile] = OrderedDict()
        self._capacity = capacity
        self.dialect = dialect

    def parse(self, text: str, path: str, previous: SourceFile | None = None) -> SourceFile:
        """``previous``: the other image of the same file, whose unchanged parts the
        parse reuses (a patch changes a few lines of a file)."""
        from patchlint.source import parse_c

        key = (path, text)
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            return cached
        source = parse_c(text, path, self.dialect, previous)
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
    not_analysed: list[NotAnalysed] = field(default_factory=list)


def set_aside_unparsed(
    names: set[str], images: list[tuple[SourceFile | None, str, ImageName]]
) -> list[NotAnalysed]:
    """The touched functions the front end could not parse in either image, removed
    from ``names``: a rule never looks at them (a finding there would be a guess, and
    one image alone would make a guessed introduced or resolved finding)."""
    unparsed: list[NotAnalysed] = []
    for source, path, image in images:
        if source is None:
            continue
        for function, verdict in source.not_analysed(names):
            reason = verdict.reason or "not analysable"
            unparsed.append(NotAnalysed(path, function.name, image, function.start_line, reason))
    names.difference_update(item.function for item in unparsed)
    return unparsed


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
    post_source = cache.parse(applied.post, applied.path, pre_source) if applied.post else None
    names: set[str] = set()
    if pre_source is not None:
        names |= functions_at(pre_source, touched.pre)
    if post_source is not None:
        names |= functions_at(post_source, touched.post)
    if not names:
        return FileAnalysis()
    touched_functions = set(names)
    unparsed = set_aside_unparsed(
        names, [(pre_source, pre_path, "before"), (post_source, applied.path, "after")]
    )
    pre_findings = _run(pre_source, pre_path, names, rules, before) if names else []
    post_unit = _unit(post_source, applied.path, names, after) if names else None
    post_findings = run_rules(post_unit, rules) if post_unit is not None else []
    findings = diff_findings(pre_findings, post_findings)
    return FileAnalysis(
        findings=findings,
        touched_functions=touched_functions,
        not_analysed=unparsed + _lock_not_analysed(post_unit),
    )


def _unit(
    source: SourceFile | None, path: str, names: set[str], index: FunctionLookup | None
) -> AnalysisUnit | None:
    if source is None:
        return None
    return AnalysisUnit(source=source, path=path, functions=names, index=index)


def _lock_not_analysed(unit: AnalysisUnit | None) -> list[NotAnalysed]:
    """Touched functions the front end parsed but the lock analysis could not judge
    (inline asm, too many paths, nesting past the budget), with the reason."""
    if unit is None:
        return []
    from patchlint.analysis import not_analysed

    return [
        NotAnalysed(unit.path, item.function, "after", item.line, item.reason)
        for item in not_analysed(unit)
    ]


def _analyse_hunks_only(
    file_patch: FilePatch, rules: list[Rule], cache: ParseCache, state: str
) -> FileAnalysis:
    path = file_patch.path or ""
    pre_text = sparse_image(file_patch, "pre") if file_patch.status != "added" else ""
    post_text = sparse_image(file_patch, "post") if file_patch.status != "deleted" else ""
    pre_source = cache.parse(pre_text, path) if pre_text else None
    post_source = cache.parse(post_text, path, pre_source) if post_text else None
    names: set[str] = set()
    if pre_source is not None:
        names |= complete_functions(pre_source, file_patch, "pre")
    if post_source is not None:
        names |= complete_functions(post_source, file_patch, "post")
    touched_functions = set(names)
    unparsed = set_aside_unparsed(
        names, [(pre_source, path, "before"), (post_source, path, "after")]
    )
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
    return FileAnalysis(
        findings=findings,
        touched_functions=touched_functions,
        partial=True,
        note=note,
        not_analysed=unparsed,
    )


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
