"""The reviewer report as Markdown that renders well on a forge (GitHub/GitLab flavoured:
tables, fenced code, explicit anchors so quoted hunks link to their place)."""

from __future__ import annotations

import re

from patchlint import __version__
from patchlint.report.options import RenderOptions
from patchlint.report.reviewer import (
    BehaviourView,
    Excerpt,
    FindingView,
    PatchView,
    ReplyView,
    ReviewReport,
    SimulationView,
    TrailerView,
    build_report,
    evidence_place,
    review_counts,
)
from patchlint.result import CheckResult, FileResult

# Enough to stop emphasis, links, HTML and table cells from being created by mail text.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_MARKS = {"focus": ">", "added": "+", "removed": "-"}


def md(value: object) -> str:
    """Inline text with Markdown and HTML syntax neutralised."""
    text = "" if value is None else str(value)
    return _SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def cell(value: object) -> str:
    return md(value) or " "


def _fence(text: str, info: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _anchor(name: str) -> str:
    return f'<a name="{name}" id="{name}"></a>'


def _link(anchor: str | None, text: str) -> str:
    return f"[{md(text)}](#{anchor})" if anchor else md(text)


def _excerpt(excerpt: Excerpt) -> str:
    if not excerpt.lines:
        return f"*{md(excerpt.path)}: {md(excerpt.note)}*"
    width = len(str(excerpt.lines[-1].number))
    body = "\n".join(
        f"{_MARKS.get(line.mark, ' ')} {line.number:>{width}} | {line.text}"
        for line in excerpt.lines
    )
    return f"{md(excerpt.image)} `{excerpt.path}`:\n\n" + _fence(body)


def _finding(view: FindingView) -> str:
    f = view.finding
    where = ":".join(str(x) for x in (f.file, f.line) if x) or "the mail"
    if f.function:
        where += f" in {f.function}()"
    lines = [
        _anchor(view.anchor),
        f"#### {md(f.severity)}: {md(f.message)} (`{f.rule}`)",
        "",
        f"*{md(f.status)} · {md(where)} · confidence {md(f.confidence)}"
        + (" · suppressed in the source" if f.suppressed else "")
        + "*",
        "",
    ]
    for excerpt in view.excerpts:
        lines += [_excerpt(excerpt), ""]
    if view.evidence:
        lines.append("Evidence:")
        lines.append("")
        for number, step in enumerate(view.evidence, 1):
            place = evidence_place(step, f)
            lines.append(
                f"{number}. `{step.kind}` {md(step.message)}" + (f" ({md(place)})" if place else "")
            )
        lines.append("")
    rule = view.rule
    doc = f" [Rule documentation](#{rule.anchor})" if rule.doc_text else ""
    lines += [f"> **{md(rule.name)}** — {md(rule.summary)}{doc}", ""]
    return "\n".join(lines)


def _simulation(sim: SimulationView) -> str:
    question = f" — {md(sim.question)}" if sim.question else ""
    lines = [
        f"**Scenario `{sim.scenario}`**{question}",
        "",
        "| Task | Before the patch | After the patch | Details |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{r.task}` | {cell(r.before)} | {cell(r.after)} | {cell(r.details)} |" for r in sim.rows
    ]
    lines += [
        f"| **Property holds** | {cell(sim.before)} | {cell(sim.after)} |   |",
        "",
        f"**Verdict:** {md(sim.verdict)}",
    ]
    if sim.difference:
        lines += ["", f"Difference: {md(sim.difference)}"]
    if sim.explanation:
        lines += [""] + [f"- {md(x)}" for x in sim.explanation]
    lines += [f"\n*Warning: {md(w)}*" for w in sim.warnings]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """Text for inside a code span: no escapes there, only backticks must go."""
    return text.replace("`", "'")


def _behaviour(view: BehaviourView) -> str:
    lines = [
        _anchor(view.anchor),
        f"**`{_code(view.function)}()`** in `{_code(view.file)}`: **{md(view.verdict)}** "
        f"({md(view.explored)}) — {md(view.reason)}",
        "",
    ]
    if view.inputs:
        inputs = ", ".join(f"`{_code(name)}` = {md(value)}" for name, value in view.inputs)
        lines += [f"Witness inputs: {inputs}", ""]
    if view.rows:
        lines += ["| | Before the patch | After the patch |", "| --- | --- | --- |"]
        lines += [f"| {md(r.what)} | {cell(r.before)} | {cell(r.after)} |" for r in view.rows]
        lines += ["", f"First difference: {md(view.first_difference)}", ""]
    return "\n".join(lines)


def _hunk_states(file: FileResult) -> str:
    return ", ".join(file.hunks) + (f": {file.error}" if file.error else "")


def _given(trailers: list[TrailerView]) -> str:
    return "; ".join(
        f"{md(t.tag)}: {md(t.value)}" + (f" ({md('; '.join(t.problems))})" if t.problems else "")
        for t in trailers
    )


def _patch(patch: PatchView) -> str:
    position = f"[{patch.position}] " if patch.position else ""
    out = [
        _anchor(patch.anchor),
        f"## {md(position + patch.title)}",
        "",
        f"**Status: {md(patch.status)}** · {md(patch.subject)} · v{patch.version} · "
        f"{md(patch.author)} · {md(patch.date)} · `{patch.message_id}`",
        "",
    ]
    if patch.files:
        out += ["| File | Change | Lines | Applies | Hunks |", "| --- | --- | --- | --- | --- |"]
        out += [
            f"| `{f.path}` | {cell(f.status)} | +{f.added} −{f.removed} | "
            f"{cell(f.apply_state)} | {cell(_hunk_states(f))} |"
            for f in patch.files
        ]
        out.append("")
    out += [f"- **Error:** {md(x)}" for x in patch.errors]
    out += [f"- *Note:* {md(x)}" for x in patch.notes]
    out += [f"- *Not analysed:* {md(x)}" for x in patch.not_analysed]
    out += ["", "### Trailers", ""]
    for t in patch.trailers:
        origin = f" — in {_link(t.reply_anchor, 'a reply')}" if t.from_reply else ""
        problems = f" (*{md('; '.join(t.problems))}*)" if t.problems else ""
        out.append(f"- **{md(t.tag)}:** {md(t.value)}{origin}{problems}")
    if not patch.trailers:
        out.append("No trailers.")
    if patch.missing:
        out += ["", "**Missing:** " + "; ".join(md(m) for m in patch.missing)]
    out.append("")
    groups = [
        ("introduced", "Findings introduced", patch.introduced),
        ("resolved", "Findings resolved", patch.resolved),
        ("other", "Other findings", patch.others),
        ("suppressed", "Suppressed findings", patch.suppressed),
    ]
    for key, title, views in groups:
        if key in ("introduced", "resolved") or views:
            out += [_anchor(f"{patch.anchor}-{key}"), f"### {title} ({len(views)})", ""]
            out += [_finding(v) for v in views] or ["None.", ""]
    if patch.simulations:
        out += [_anchor(f"{patch.anchor}-simulation"), "### Simulation", ""]
        out += [_simulation(s) for s in patch.simulations]
    if patch.behaviour:
        out += [_anchor(f"{patch.anchor}-behaviour"), "### Behaviour before and after", ""]
        out += [_behaviour(b) for b in patch.behaviour]
    if patch.hunks:
        out += [_anchor(f"{patch.anchor}-changes"), "### Changes", ""]
        for hunk in patch.hunks:
            body = "\n".join(line.text for line in hunk.lines)
            out += [
                _anchor(hunk.anchor),
                f"`{hunk.path}` `{hunk.header}`",
                "",
                _fence(body, "diff"),
                "",
            ]
    return "\n".join(out)


def _overview(report: ReviewReport) -> str:
    out = [_anchor("overview"), "## Series overview", ""]
    if report.cover is not None:
        out += [f"Cover letter: {md(report.cover.subject)} — {md(report.cover.author)}", ""]
    out += [
        "| # | Patch | Version | Author | Status | Trailers | Missing |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in report.patches:
        counts = review_counts(p)
        given = (
            "<br>".join(f"{md(tag)}: {md(', '.join(who))}" for tag, who in counts.items() if who)
            or "none"
        )
        missing = "<br>".join(md(m) for m in p.missing) or "—"
        out.append(
            f"| {cell(p.position or '—')} | {_link(p.anchor, p.title)} | v{p.version} | "
            f"{cell(p.author)} | **{md(p.status)}** | {given} | {missing} |"
        )
    out.append("")
    if report.series_problems:
        out += ["### Series problems", ""] + [f"- {md(x)}" for x in report.series_problems] + [""]
    out += [_finding(v) for v in report.series_findings]
    if report.errors:
        out += ["### Input errors", ""] + [f"- {md(x)}" for x in report.errors] + [""]
    return "\n".join(out)


def _reply(reply: ReplyView) -> str:
    about = (
        f" on {_link(reply.answers, reply.answers_subject or 'the patch')}" if reply.answers else ""
    )
    out = [
        _anchor(reply.anchor),
        f"### {md(reply.author)}{about}",
        "",
        f"*{md(reply.date)} · {md(reply.subject)}*",
        "",
    ]
    if reply.trailers:
        out += ["**Trailers given:** " + _given(reply.trailers), ""]
    if reply.quotes:
        out += ["**Quotes:** " + ", ".join(_link(q.anchor, q.label) for q in reply.quotes), ""]
    if reply.text:
        out += [_fence(reply.text, "text"), ""]
    return "\n".join(out)


def _demote(text: str) -> str:
    """Nest a page's headings under the report's own (its `#` becomes `####`)."""
    return re.sub(
        r"^(#{1,6}) ", lambda m: "#" * min(6, len(m.group(1)) + 3) + " ", text, flags=re.M
    )


def _rules(report: ReviewReport) -> list[str]:
    documented = [rule for rule in report.rules if rule.doc_text]
    if not documented:
        return []
    out = [_anchor("rules"), "## Rule documentation", ""]
    for rule in documented:
        # <details> keeps the long pages folded on forges that render it (GitHub, GitLab).
        out += [
            _anchor(rule.anchor),
            "<details>",
            f"<summary><code>{rule.id}</code> — {md(rule.name)}</summary>",
            "",
            _demote(rule.doc_text).rstrip(),
            "",
            "</details>",
            "",
        ]
    return out


def render_report_markdown(report: ReviewReport) -> str:
    summary = report.summary
    found = ", ".join(f"{n} {k}" for k, n in sorted(summary.get("findings", {}).items())) or "none"
    toc = ["## Contents", "", "- [Series overview](#overview)"]
    for p in report.patches:
        label = (f"[{p.position}] " if p.position else "") + p.title
        toc.append(f"- {_link(p.anchor, label)} — {md(p.status)}")
        toc.append(f"  - [Findings introduced ({len(p.introduced)})](#{p.anchor}-introduced)")
        toc.append(f"  - [Findings resolved ({len(p.resolved)})](#{p.anchor}-resolved)")
        if p.simulations:
            toc.append(f"  - [Simulation](#{p.anchor}-simulation)")
        if p.behaviour:
            toc.append(f"  - [Behaviour before and after](#{p.anchor}-behaviour)")
        if p.hunks:
            toc.append(f"  - [Changes](#{p.anchor}-changes)")
    toc.append(f"- [Review discussion ({len(report.replies)})](#discussion)")
    if any(rule.doc_text for rule in report.rules):
        toc.append("- [Rule documentation](#rules)")
    parts = [
        f"# {md(report.title)}",
        "",
        f"Inputs: {md(', '.join(report.inputs))} · Tree: "
        f"{md(report.tree or 'none (patch-only analysis)')}",
        "",
        f"{summary.get('patches', 0)} patches, {len(report.replies)} replies; "
        f"findings: {md(found)}",
        "",
        "\n".join(toc),
        "",
        _overview(report),
        *(_patch(p) for p in report.patches),
        _anchor("discussion"),
        "## Review discussion",
        "",
        *([_reply(r) for r in report.replies] or ["No replies in the input.", ""]),
        *_rules(report),
        "---",
        f"*Generated by patchlint {__version__}.*",
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


def render_markdown(result: CheckResult, options: RenderOptions | None = None) -> str:
    return render_report_markdown(build_report(result))
