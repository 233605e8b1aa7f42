"""What a `check` run produces: the data every report format renders.

``CheckResult`` is the hand-off from the pipeline to ``patchlint.report``; its parts
are plain dataclasses so results cross process boundaries (``--jobs``) by pickling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

from patchlint.findings import SEVERITY_ORDER, Finding

if TYPE_CHECKING:
    from patchlint.behaviour import FunctionVerdict
    from patchlint.mail import Message, Series, SeriesProblem
    from patchlint.simulate import (
        CounterSummary,
        InvariantSummary,
        RunOutcome,
        SearchSummary,
        SimulationResult,
    )

JSON_SCHEMA_VERSION = "1.0"
FailOn = Literal["error", "warning", "info", "never"]
FAIL_ON: tuple[FailOn, ...] = ("error", "warning", "info", "never")


@dataclass
class NotAnalysed:
    """A touched function the front end could not parse (or that holds inline asm,
    a computed goto, or nests past the budget): no rule looked at it, in either image,
    so it has no finding, and the report says why."""

    path: str
    function: str
    image: Literal["before", "after"]
    line: int  # the definition's first line in that image
    reason: str  # e.g. "unsupported macro FOO (syntax error) at line 12"

    def __str__(self) -> str:
        return f"{self.path}: {self.function}() not analysed ({self.image}): {self.reason}"


@dataclass
class FileResult:
    path: str
    status: str  # modified, added, deleted, renamed, copied, mode, binary
    added: int
    removed: int
    old_path: str | None = None
    apply_state: str = "no tree"  # applied, does not apply, added, deleted, no tree, refused
    hunks: list[str] = field(default_factory=list)  # "exact", "offset 1", "fuzz 2", "failed"
    error: str | None = None
    # Per hunk, in patch order: where it applied minus where its header said.
    offsets: list[int] = field(default_factory=list)


class TaskSummary(TypedDict):
    task: str
    holds: bool | None  # None: the run could not decide for this task
    details: str


class RunSummary(TypedDict):
    """One run of a scenario (before or after the patch)."""

    holds: int
    total: int
    unknown: int
    stopped: str | None
    per_task: list[TaskSummary]
    warnings: list[str]
    # A scenario with counters: their series and the invariants that failed.
    counters: NotRequired[list[CounterSummary]]
    violated: NotRequired[list[InvariantSummary]]


class SimulationSummary(TypedDict):
    """A scenario run before and after a patch, as the reports (and JSON) show it."""

    scenario: str
    question: str
    before: RunSummary
    after: RunSummary
    warnings: list[str]
    verdict: str
    difference: str
    explanation: list[str]
    # A scenario with ranges: its divergence search.
    search: NotRequired[SearchSummary]


def run_summary(run: RunOutcome) -> RunSummary:
    summary = RunSummary(
        holds=run.holds,
        total=run.total,
        unknown=run.unknown,
        stopped=run.stopped,
        per_task=[TaskSummary(task=t.task, holds=t.holds, details=t.details) for t in run.per_task],
        warnings=list(run.warnings),
    )
    if run.counters:
        summary["counters"] = [c.summary() for c in run.counters]
        summary["violated"] = [v.summary() for v in run.violated]
    return summary


def simulation_summary(result: SimulationResult) -> SimulationSummary:
    summary = SimulationSummary(
        scenario=result.scenario,
        question=result.question,
        before=run_summary(result.before),
        after=run_summary(result.after),
        warnings=list(result.warnings),
        verdict=result.verdict,
        difference=result.difference,
        explanation=list(result.explanation),
    )
    if result.search is not None:
        summary["search"] = result.search.to_dict()
    return summary


@dataclass
class PatchResult:
    message: Message
    files: list[FileResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    simulation: list[SimulationSummary] = field(default_factory=list)
    # A verdict per function the patch changes (differential execution).
    behaviour: list[FunctionVerdict] = field(default_factory=list)
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    not_analysed: list[NotAnalysed] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None
    # Pre/post images of the touched C files, for reports that show code excerpts.
    images: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


class Summary(TypedDict):
    messages: int
    kinds: dict[str, int]
    patches: int
    findings: dict[str, int]  # by status, plus "suppressed"
    severities: dict[str, int]  # of the findings that are not resolved
    series_problems: int
    errors: int


@dataclass
class CheckResult:
    inputs: list[str]
    messages: list[Message]  # every message of the input
    patches: list[PatchResult]
    series_problems: list[SeriesProblem]
    series_findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tree: str | None = None
    series: list[Series] = field(default_factory=list)  # input order

    def all_findings(self) -> list[Finding]:
        found = [f for p in self.patches for f in p.findings]
        return found + self.series_findings

    def failing(self, threshold: FailOn) -> list[Finding]:
        return failing(self.all_findings(), threshold)

    def summary(self) -> Summary:
        kinds: dict[str, int] = {}
        for message in self.messages:
            kinds[message.kind] = kinds.get(message.kind, 0) + 1
        by_status: dict[str, int] = {}
        by_severity: dict[str, int] = {}
        for finding in self.all_findings():
            if finding.suppressed:
                by_status["suppressed"] = by_status.get("suppressed", 0) + 1
                continue
            by_status[finding.status] = by_status.get(finding.status, 0) + 1
            if finding.status != "resolved":
                by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
        return Summary(
            messages=len(self.messages),
            kinds=kinds,
            patches=len(self.patches),
            findings=by_status,
            severities=by_severity,
            series_problems=len(self.series_problems),
            errors=len(self.errors) + kinds.get("error", 0),
        )


@dataclass
class ScanResult:
    """What `scan` produces: findings over a whole tree (status "found")."""

    tree: str
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    files_candidate: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)

    def failing(self, threshold: FailOn) -> list[Finding]:
        return failing(self.findings, threshold)


def failing(findings: list[Finding], threshold: FailOn) -> list[Finding]:
    """Findings that make a run fail at ``threshold`` (resolved and suppressed never do).

    The one fail-on rule of every command (check, report, scan, hooks)."""
    if threshold == "never":
        return []
    level = SEVERITY_ORDER[threshold]
    return [
        f
        for f in findings
        if not f.suppressed
        and f.status in ("introduced", "found")
        and SEVERITY_ORDER.get(f.severity, 0) >= level
    ]
