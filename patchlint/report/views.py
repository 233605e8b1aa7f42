"""The data model of the reviewer report: what report/reviewer.py computes from a
CheckResult and report/html.py (the Jinja2 template) and report/markdown.py render."""

from __future__ import annotations

from dataclasses import dataclass, field

from patchlint.findings import Evidence, Finding
from patchlint.mail import Message
from patchlint.report.checkpatch import DiffLine
from patchlint.result import FileResult, Summary


@dataclass
class CodeLine:
    number: int
    text: str
    mark: str = ""  # "focus" (the finding's line), "added", "removed" or ""


@dataclass
class Excerpt:
    image: str  # "pre-image" / "post-image"
    path: str
    lines: list[CodeLine]
    note: str = ""


@dataclass
class RuleInfo:
    id: str
    name: str
    summary: str
    doc_uri: str | None
    doc_text: str = ""  # the documentation page, so the report carries it along
    anchor: str = ""


@dataclass
class FindingView:
    finding: Finding
    anchor: str
    rule: RuleInfo
    excerpts: list[Excerpt]
    evidence: list[Evidence]


@dataclass
class TrailerView:
    tag: str
    value: str
    given_by: str
    from_reply: bool
    problems: list[str]
    reply_anchor: str | None = None


@dataclass
class TaskRow:
    task: str
    before: str
    after: str
    details: str


@dataclass
class SimulationView:
    scenario: str
    before: str
    after: str
    verdict: str
    difference: str
    warnings: list[str]
    rows: list[TaskRow]
    question: str = ""  # what "holds" means, e.g. "threads of the victim that can run"
    explanation: list[str] = field(default_factory=list)


@dataclass
class WitnessRow:
    what: str  # "returns", "calls", "writes", "locks held", "crash", "log output"
    before: str
    after: str


@dataclass
class BehaviourView:
    """One changed function's verdict (differential execution) and its witness table."""

    anchor: str
    function: str
    file: str
    verdict: str  # equivalent, diverges, unknown
    explored: str  # "12 paths, complete"
    reason: str
    inputs: list[tuple[str, str]] = field(default_factory=list)
    rows: list[WitnessRow] = field(default_factory=list)
    first_difference: str = ""


@dataclass
class HunkView:
    anchor: str
    path: str
    header: str
    lines: list[DiffLine]


@dataclass
class PatchView:
    anchor: str
    subject: str
    title: str
    position: str  # "2/3" or ""
    version: int
    author: str
    date: str
    message_id: str
    status: str  # clean, findings, does not apply, partial analysis, not analysed
    trailers: list[TrailerView]
    missing: list[str]
    files: list[FileResult]
    introduced: list[FindingView]
    resolved: list[FindingView]
    others: list[FindingView]  # unchanged (with --all) and found (no pre-image)
    suppressed: list[FindingView]
    simulations: list[SimulationView]
    hunks: list[HunkView]
    notes: list[str]
    errors: list[str]
    behaviour: list[BehaviourView] = field(default_factory=list)
    not_analysed: list[str] = field(default_factory=list)  # functions no rule looked at


@dataclass
class QuoteLink:
    label: str
    anchor: str | None


@dataclass
class ReplyView:
    anchor: str
    author: str
    date: str
    subject: str
    answers: str | None  # the anchor of the patch it answers
    answers_subject: str | None
    trailers: list[TrailerView]
    quotes: list[QuoteLink]
    text: str  # the reply's own words, quoted lines left out


@dataclass
class ReviewReport:
    title: str
    inputs: list[str]
    tree: str | None
    summary: Summary
    cover: Message | None
    patches: list[PatchView]
    replies: list[ReplyView]
    series_problems: list[str]
    series_findings: list[FindingView]
    errors: list[str]
    others: list[Message] = field(default_factory=list)
    rules: list[RuleInfo] = field(default_factory=list)  # every rule the report cites
