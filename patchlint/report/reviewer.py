"""The reviewer report's model: what a maintainer reading a thread wants, computed once
from a CheckResult and rendered by report/html.py and report/markdown.py.

Nothing here formats text for a medium; both renderers walk the same ReviewReport so
the HTML and Markdown reports always say the same thing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from email.utils import parseaddr

from patchlint.findings import Evidence, Finding
from patchlint.mail import Message
from patchlint.report.behaviour_view import behaviour_view
from patchlint.report.checkpatch import DiffLine, walk_diff
from patchlint.report.views import (
    BehaviourView,
    CodeLine,
    Excerpt,
    FindingView,
    HunkView,
    PatchView,
    QuoteLink,
    ReplyView,
    ReviewReport,
    RuleInfo,
    SimulationView,
    TaskRow,
    TrailerView,
    WitnessRow,
)
from patchlint.result import (
    CheckResult,
    PatchResult,
    RunSummary,
    SimulationSummary,
    TaskSummary,
)

# The view types are part of this module's interface (the renderers import them here).
__all__ = [
    "BehaviourView",
    "WitnessRow",
    "CodeLine",
    "Excerpt",
    "FindingView",
    "HunkView",
    "PatchView",
    "QuoteLink",
    "ReplyView",
    "ReviewReport",
    "RuleInfo",
    "SimulationView",
    "TaskRow",
    "TrailerView",
    "build_report",
    "evidence_place",
    "missing_items",
    "own_words",
    "patch_status",
    "review_counts",
    "rule_info",
    "simulation_view",
    "slug",
]

CONTEXT = 3  # lines of code shown either side of a finding
_QUOTED = re.compile(r"^(?P<path>\S+)\s+@@\s*-(?P<old>\d+)(?:,(?P<count>\d+))?")
_REVIEW_TAGS = ("Acked-by", "Reviewed-by", "Tested-by")


def evidence_place(step: Evidence, finding: Finding) -> str:
    """`file:line` of an evidence step (its finding's file when it names none)."""
    if not step.line:
        return ""
    return f"{step.file or finding.file or ''}:{step.line}".lstrip(":")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def rule_info(rule_id: str) -> RuleInfo:
    from patchlint.knowledge import data_path
    from patchlint.rules.engine import get_rule

    meta = get_rule(rule_id)
    anchor = f"rule-{slug(rule_id)}"
    if meta is None:
        return RuleInfo(rule_id, rule_id, "", None, "", anchor)
    doc = data_path(meta.doc)
    if not doc.is_file():
        return RuleInfo(meta.id, meta.name, meta.summary, None, "", anchor)
    text = doc.read_text(encoding="utf-8", errors="replace")
    return RuleInfo(meta.id, meta.name, meta.summary, doc.resolve().as_uri(), text, anchor)


def _address(value: str) -> str:
    return parseaddr(value)[1].lower()


def _shown(finding: Finding) -> bool:
    return not finding.suppressed


def patch_status(patch: PatchResult) -> str:
    if patch.skipped:
        return "not analysed"
    if any(f.apply_state in ("does not apply", "refused") for f in patch.files):
        return "does not apply"
    if any(_shown(f) and f.status in ("introduced", "found", "unchanged") for f in patch.findings):
        return "findings"
    if patch.partial:
        return "partial analysis"
    return "clean"


def missing_items(message: Message) -> list[str]:
    """What a maintainer would still ask for before applying: the author's sign-off and
    trailers whose address does not match the mail that gave them."""
    items: list[str] = []
    signoffs = [t for t in message.trailers if t.tag.lower() == "signed-off-by"]
    author = (getattr(message, "author_addr", "") or _address(message.author)).lower()
    if not signoffs:
        items.append("no Signed-off-by")
    elif author and all(_address(t.value) != author for t in signoffs):
        items.append(f"no Signed-off-by from the author ({author})")
    for trailer in message.trailers:
        if trailer.from_reply and trailer.given_by:
            given, named = _address(trailer.given_by), _address(trailer.value)
            if given and named and given != named:
                items.append(f"{trailer.tag}: {trailer.value} was sent from {given}")
        for problem in trailer.problems:
            text = f"{trailer.tag}: {trailer.value}: {problem}"
            if text not in items:
                items.append(text)
    return items


class _DiffMap:
    """Line correspondences of one patch: which lines it adds/removes, and pre↔post."""

    def __init__(self, diff_text: str, offsets: dict[str, list[int]] | None = None) -> None:
        # A hunk that applied at an offset stands for other lines of the images than
        # its header says: shift each hunk's numbers by where it really applied.
        self.lines = _shifted(walk_diff(diff_text), offsets or {})
        self.added: dict[str, set[int]] = {}
        self.removed: dict[str, set[int]] = {}
        for line in self.lines:
            if line.kind == "+" and line.new_line is not None:
                self.added.setdefault(line.path, set()).add(line.new_line)
            elif line.kind == "-" and line.old_line is not None:
                self.removed.setdefault(line.path, set()).add(line.old_line)

    def counterpart(self, path: str, line: int, to_post: bool) -> int:
        """The line at the same place in the other image; for a line only one image has,
        the line where the other image continues after that point."""
        src, dst = ("old_line", "new_line") if to_post else ("new_line", "old_line")
        own = "-" if to_post else "+"
        last_src = last_dst = 0
        for entry in self.lines:
            if entry.path != path or entry.kind not in " +-@":
                continue
            here, there = getattr(entry, src), getattr(entry, dst)
            if entry.kind == "@":
                if here is None or there is None or here > line:
                    break
                # Before a hunk the two images are in step.
                last_src, last_dst = here - 1, there - 1
                continue
            if here is not None and here > line:
                break
            if entry.kind == " ":
                if here == line:
                    return int(there)
                last_src, last_dst = here, there
            elif entry.kind == own:
                if here == line:
                    return last_dst + 1
                last_src = here
            else:
                last_dst = there
        return max(1, last_dst + (line - last_src))


def _shifted(lines: Iterable[DiffLine], offsets: dict[str, list[int]]) -> list[DiffLine]:
    out: list[DiffLine] = []
    seen: dict[str, int] = {}
    shift = 0
    for line in lines:
        if line.kind == "@":
            number = seen.get(line.path, 0)
            seen[line.path] = number + 1
            by_hunk = offsets.get(line.path, [])
            shift = by_hunk[number] if number < len(by_hunk) else 0
        elif line.kind == "f":
            shift = 0
        if shift and line.kind in "@+- ":
            line = dataclasses.replace(
                line,
                old_line=None if line.old_line is None else line.old_line + shift,
                new_line=None if line.new_line is None else line.new_line + shift,
            )
        out.append(line)
    return out


def _excerpt(
    text: str | None,
    image: str,
    path: str,
    focus: int,
    marks: set[int],
    mark: str,
    note: str = "",
    highlight: bool = True,
) -> Excerpt | None:
    if text is None:
        return None
    lines = text.splitlines()
    if not lines:
        return None
    focus = min(max(focus, 1), len(lines))
    start, end = max(1, focus - CONTEXT), min(len(lines), focus + CONTEXT)
    code = [
        CodeLine(
            number,
            lines[number - 1],
            "focus" if highlight and number == focus else (mark if number in marks else ""),
        )
        for number in range(start, end + 1)
    ]
    return Excerpt(image, path, code, note)


def _finding_view(
    finding: Finding, anchor: str, patch: PatchResult | None, diff: _DiffMap
) -> FindingView:
    excerpts: list[Excerpt] = []
    if patch is not None and finding.file and finding.line and finding.file in patch.images:
        pre, post = patch.images[finding.file]
        path = finding.file
        added, removed = diff.added.get(path, set()), diff.removed.get(path, set())
        resolved = finding.status == "resolved"
        if resolved:
            pre_line, post_line = finding.line, diff.counterpart(path, finding.line, True)
        else:
            post_line, pre_line = finding.line, diff.counterpart(path, finding.line, False)
        # A line only one image has is shown, unhighlighted, where the other image
        # continues: the reader sees what was there instead.
        # A changed line (removed and added at the same place) is highlighted in both.
        new_line = not resolved and post_line in added and pre_line not in removed
        gone_line = resolved and pre_line in removed and post_line not in added
        post_note = "" if post is not None else "the patch deletes this file"
        pre_note = "" if pre is not None else "the patch adds this file"
        for excerpt in (
            _excerpt(
                pre,
                "pre-image",
                path,
                pre_line,
                removed,
                "removed",
                "the line is new: where the patch puts it" if new_line else "",
                highlight=not new_line,
            ),
            _excerpt(
                post,
                "post-image",
                path,
                post_line,
                added,
                "added",
                "the line is gone: where it used to be" if gone_line else "",
                highlight=not gone_line,
            ),
        ):
            if excerpt is not None:
                excerpts.append(excerpt)
        if not excerpts and (pre_note or post_note):
            excerpts.append(Excerpt("", path, [], pre_note or post_note))
    return FindingView(finding, anchor, rule_info(finding.rule), excerpts, list(finding.evidence))


def _cell(run: RunSummary) -> str:
    return f"{run['holds']} of {run['total']}"


def _task_cell(entry: TaskSummary | None) -> str:
    if entry is None:
        return "-"
    holds = entry.get("holds")
    return "holds" if holds is True else ("fails" if holds is False else "unknown")


def simulation_view(sim: SimulationSummary) -> SimulationView:
    before, after = sim["before"], sim["after"]
    tasks: dict[str, dict[str, TaskSummary]] = {}
    for side, run in (("before", before), ("after", after)):
        for entry in run["per_task"]:
            tasks.setdefault(entry["task"], {})[side] = entry
    rows = []
    for task, sides in tasks.items():
        details = [str(sides[s].get("details") or "") for s in ("before", "after") if s in sides]
        detail = " → ".join(d for d in details if d) if len(set(details)) > 1 else details[0]
        rows.append(
            TaskRow(task, _task_cell(sides.get("before")), _task_cell(sides.get("after")), detail)
        )
    return SimulationView(
        str(sim.get("scenario", "")),
        _cell(before),
        _cell(after),
        str(sim.get("verdict", "")),
        str(sim.get("difference") or ""),
        [str(w) for w in sim.get("warnings") or []],
        rows,
        str(sim.get("question") or ""),
        [str(x) for x in sim.get("explanation") or []],
    )


def _hunks(anchor: str, diff: _DiffMap) -> list[HunkView]:
    hunks: list[HunkView] = []
    for line in diff.lines:
        if line.kind == "@":
            hunks.append(HunkView(f"{anchor}-h{len(hunks) + 1}", line.path, line.text, []))
        elif line.kind in "+- " and hunks:
            hunks[-1].lines.append(line)
    return hunks


def _patch_view(patch: PatchResult, reply_anchors: dict[str, str]) -> PatchView:
    message = patch.message
    anchor = f"patch-{message.index}"
    diff = _DiffMap(
        message.diff_text or "", {f.path: list(f.offsets) for f in patch.files if f.offsets}
    )
    views: dict[str, list[FindingView]] = {
        "introduced": [],
        "resolved": [],
        "others": [],
        "suppressed": [],
    }
    for number, finding in enumerate(patch.findings, 1):
        view = _finding_view(finding, f"{anchor}-f{number}", patch, diff)
        if finding.suppressed:
            views["suppressed"].append(view)
        elif finding.status in ("introduced", "resolved"):
            views[finding.status].append(view)
        else:
            views["others"].append(view)
    series = message.series
    position = f"{series.index}/{series.total}" if series.index is not None and series.total else ""
    trailers = [
        TrailerView(
            t.tag,
            t.value,
            t.given_by,
            t.from_reply,
            list(t.problems),
            reply_anchors.get(t.message_id) if t.from_reply else None,
        )
        for t in message.trailers
    ]
    return PatchView(
        anchor=anchor,
        subject=message.subject,
        title=series.title or message.subject,
        position=position,
        version=series.version,
        author=message.author,
        date=message.date,
        message_id=message.message_id,
        status=patch_status(patch),
        trailers=trailers,
        missing=missing_items(message),
        files=list(patch.files),
        introduced=views["introduced"],
        resolved=views["resolved"],
        others=views["others"],
        suppressed=views["suppressed"],
        simulations=[simulation_view(sim) for sim in patch.simulation],
        hunks=_hunks(anchor, diff),
        notes=list(patch.notes),
        not_analysed=[str(item) for item in patch.not_analysed],
        errors=list(patch.errors),
        behaviour=[
            behaviour_view(v, f"{anchor}-b{number}") for number, v in enumerate(patch.behaviour, 1)
        ],
    )


def _quote_link(quoted: str, patch: PatchView | None) -> QuoteLink:
    match = _QUOTED.match(quoted.strip())
    if patch is None:
        return QuoteLink(quoted, None)
    if match is None:
        return QuoteLink(quoted, patch.anchor)
    path, old = match.group("path"), int(match.group("old"))
    candidates = [h for h in patch.hunks if h.path == path]
    for hunk in candidates:
        header = re.match(r"^@@ -(\d+)(?:,(\d+))?", hunk.header)
        if header is None:
            continue
        start, count = int(header.group(1)), int(header.group(2) or 1)
        if start <= old <= start + max(count - 1, 0):
            return QuoteLink(quoted, hunk.anchor)
    return QuoteLink(quoted, candidates[0].anchor if candidates else patch.anchor)


_ATTRIBUTION = re.compile(r"^(On .*wrote:|.* (wrote|writes):)$")


def own_words(body: str, limit: int = 60) -> str:
    """What the reviewer wrote, with quoted context collapsed: each run of quoted
    lines becomes its last line (what the words answer) and a count of the rest.
    The signature and the attribution lines ("On ..., X wrote:") are left out."""
    lines = body.split("\n")
    for cut, line in enumerate(lines):
        if line in ("-- ", "--"):
            lines = lines[:cut]
            break
    out: list[str] = []
    quoted: list[str] = []

    def flush() -> None:
        if not quoted:
            return
        meaningful = [q for q in quoted if q.strip("> \t")]
        if len(quoted) > 1:
            rest = len(quoted) - 1
            out.append(f"> [… {rest} quoted line{'s' if rest != 1 else ''} …]")
        if meaningful:
            out.append(meaningful[-1])
        quoted.clear()

    for line in lines:
        if line.lstrip().startswith(">"):
            quoted.append(line.strip())
            continue
        if _ATTRIBUTION.match(line.strip()):
            continue
        if quoted and not line.strip():
            continue  # blank lines inside a quote run do not break it
        flush()
        out.append(line)
    flush()
    # Collapsed context at the very end answers nothing: drop it.
    while out and (not out[-1].strip() or out[-1].startswith(">")):
        out.pop()
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
    kept = text.split("\n")
    if len(kept) > limit:
        text = "\n".join(kept[:limit]) + "\n[…]"
    return text


_own_words = own_words


def build_report(result: CheckResult) -> ReviewReport:
    replies = [m for m in result.messages if m.kind == "reply"]
    reply_anchors = {m.message_id: f"reply-{m.index}" for m in replies if m.message_id}
    patches = [_patch_view(p, reply_anchors) for p in result.patches]
    by_id = {
        p.message.message_id: view
        for p, view in zip(result.patches, patches, strict=True)
        if p.message.message_id
    }
    parents = {m.message_id: m for m in result.messages if m.message_id}
    reply_views = []
    for reply in replies:
        target = _answered_patch(reply, by_id, parents)
        given = [
            TrailerView(
                t.tag,
                t.value,
                t.given_by,
                True,
                list(t.problems),
                reply_anchors.get(reply.message_id),
            )
            for p in result.patches
            for t in p.message.trailers
            if t.from_reply and t.message_id == reply.message_id
        ]
        reply_views.append(
            ReplyView(
                anchor=reply_anchors.get(reply.message_id, f"reply-{reply.index}"),
                author=reply.author,
                date=reply.date,
                subject=reply.subject,
                answers=target.anchor if target else None,
                answers_subject=target.subject if target else None,
                trailers=given,
                quotes=[_quote_link(q, target) for q in getattr(reply, "quoted_hunks", [])],
                text=_own_words(getattr(reply, "body", "") or ""),
            )
        )
    cover = next((m for m in result.messages if m.kind == "cover"), None)
    title = (
        (cover.series.title or cover.subject)
        if cover
        else (patches[0].title if patches else "patchlint report")
    )
    series_views = [
        _finding_view(f, f"series-f{n}", None, _DiffMap(""))
        for n, f in enumerate(result.series_findings, 1)
    ]
    cited: dict[str, RuleInfo] = {}
    for view in [*series_views, *(v for p in patches for v in _all_views(p))]:
        cited.setdefault(view.rule.id, view.rule)
    return ReviewReport(
        rules=sorted(cited.values(), key=lambda rule: rule.id),
        title=title,
        inputs=list(result.inputs),
        tree=result.tree,
        summary=result.summary(),
        cover=cover,
        patches=patches,
        replies=reply_views,
        series_problems=[f"{p.series}: {p.message}" for p in result.series_problems],
        series_findings=series_views,
        errors=list(result.errors),
        others=[m for m in result.messages if m.kind not in ("patch", "reply", "cover")],
    )


def _all_views(patch: PatchView) -> list[FindingView]:
    return [*patch.introduced, *patch.resolved, *patch.others, *patch.suppressed]


def _answered_patch(
    reply: Message, by_id: dict[str, PatchView], parents: dict[str, Message]
) -> PatchView | None:
    """The patch a reply is about: its parent, or the nearest patch up its thread."""
    seen: set[str] = set()
    current: Message | None = reply
    while current is not None:
        parent_id = current.in_reply_to or (current.references[-1] if current.references else None)
        if not parent_id or parent_id in seen:
            break
        if parent_id in by_id:
            return by_id[parent_id]
        seen.add(parent_id)
        current = parents.get(parent_id)
    for ref in reversed(getattr(reply, "references", []) or []):
        if ref in by_id:
            return by_id[ref]
    return None


def review_counts(patch: PatchView) -> dict[str, list[str]]:
    """Who acked, reviewed and tested the patch."""
    counts: dict[str, list[str]] = {tag: [] for tag in _REVIEW_TAGS}
    for trailer in patch.trailers:
        for tag in _REVIEW_TAGS:
            if trailer.tag.lower() == tag.lower() and trailer.value not in counts[tag]:
                counts[tag].append(trailer.value)
    return counts
