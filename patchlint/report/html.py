"""The reviewer report as one self-contained HTML file: inline CSS, no script, no
network; readable on screen and printable. Every piece of mail or code is escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from patchlint import __version__
from patchlint.report.options import RenderOptions
from patchlint.report.reviewer import (
    Excerpt,
    FindingView,
    PatchView,
    ReplyView,
    ReviewReport,
    SimulationView,
    build_report,
    evidence_place,
    review_counts,
    slug,
)
from patchlint.result import CheckResult

_CSS = Path(__file__).with_name("report.css")


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _badge(kind: str, text: str) -> str:
    return f'<span class="badge {kind}">{e(text)}</span>'


def _status(status: str) -> str:
    return _badge(f"status-{slug(status)}", status)


def _link(anchor: str | None, text: str) -> str:
    return f'<a href="#{e(anchor)}">{e(text)}</a>' if anchor else e(text)


def _excerpt(excerpt: Excerpt) -> str:
    if not excerpt.lines:
        return f'<p class="meta">{e(excerpt.path)}: {e(excerpt.note)}</p>'
    rows = "".join(
        f'<span class="{line.mark}"><span class="ln">{line.number}</span>{e(line.text)}</span>'
        for line in excerpt.lines
    )
    caption = f"{excerpt.image} · {excerpt.path}" + (f" · {excerpt.note}" if excerpt.note else "")
    return f'<figure><figcaption>{e(caption)}</figcaption><pre class="code">{rows}</pre></figure>'


def _finding(view: FindingView) -> str:
    f = view.finding
    classes = "finding resolved" if f.status == "resolved" else f"finding {e(f.severity)}"
    where = ":".join(str(x) for x in (f.file, f.line) if x) or "the mail"
    if f.function:
        where += f" in {f.function}()"
    parts = [
        f'<article class="{classes}" id="{e(view.anchor)}">',
        f"<h4>{_badge('sev-' + f.severity, f.severity)} <code>{e(f.rule)}</code> "
        f"{e(f.message)}</h4>",
        f'<p class="meta">{e(f.status)} · {e(where)} · confidence {e(f.confidence)}'
        + (" · suppressed in the source" if f.suppressed else "")
        + "</p>",
    ]
    if view.excerpts:
        parts.append(
            '<div class="excerpts">' + "".join(_excerpt(x) for x in view.excerpts) + "</div>"
        )
    if view.evidence:
        items = []
        for step in view.evidence:
            place = evidence_place(step, f)
            items.append(
                f'<li><span class="kind">{e(step.kind)}</span> {e(step.message)}'
                + (f' <span class="meta">({e(place)})</span>' if place else "")
                + "</li>"
            )
        parts.append(
            '<p><strong>Evidence</strong></p><ol class="evidence">' + "".join(items) + "</ol>"
        )
    rule = view.rule
    doc = f' <a href="#{e(rule.anchor)}">Rule documentation</a>' if rule.doc_text else ""
    parts.append(
        f'<aside class="rule"><strong>{e(rule.name)}</strong> — {e(rule.summary)}{doc}</aside>'
    )
    parts.append("</article>")
    return "\n".join(parts)


def _simulation(sim: SimulationView, anchor: str) -> str:
    rows = "".join(
        f'<tr><td><code>{e(r.task)}</code></td><td class="{slug(r.before)}">{e(r.before)}</td>'
        f'<td class="{slug(r.after)}">{e(r.after)}</td><td>{e(r.details)}</td></tr>'
        for r in sim.rows
    )
    question = f" — {e(sim.question)}" if sim.question else ""
    table = (
        f'<table class="simulation" id="{e(anchor)}"><caption>Scenario '
        f"<code>{e(sim.scenario)}</code>{question}</caption>"
        "<thead><tr><th>Task</th><th>Before the patch</th><th>After the patch</th>"
        f"<th>Details</th></tr></thead><tbody>{rows}</tbody>"
        f"<tfoot><tr><th>Property holds</th><td>{e(sim.before)}</td><td>{e(sim.after)}</td>"
        "<td></td></tr></tfoot></table>"
    )
    extra = [f'<p class="verdict">Verdict: {e(sim.verdict)}</p>']
    if sim.difference:
        extra.append(f"<p>Difference: {e(sim.difference)}</p>")
    if sim.explanation:
        extra.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in sim.explanation) + "</ul>")
    extra += [f'<p class="meta">Warning: {e(w)}</p>' for w in sim.warnings]
    return table + "\n" + "\n".join(extra)


def _files(patch: PatchView) -> str:
    if not patch.files:
        return ""
    rows = "".join(
        f"<tr><td><code>{e(f.path)}</code></td><td>{e(f.status)}</td>"
        f"<td>+{f.added} −{f.removed}</td><td>{e(f.apply_state)}</td>"
        f"<td>{e(', '.join(f.hunks))}{(': ' + e(f.error)) if f.error else ''}</td></tr>"
        for f in patch.files
    )
    return (
        "<table><thead><tr><th>File</th><th>Change</th><th>Lines</th><th>Applies</th>"
        f"<th>Hunks</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _hunks(patch: PatchView) -> str:
    blocks = []
    for hunk in patch.hunks:
        lines = "".join(
            f'<span class="{ {"+": "add", "-": "del"}.get(line.kind, "") }">{e(line.text)}</span>'
            for line in hunk.lines
        )
        blocks.append(
            f'<div class="hunk" id="{e(hunk.anchor)}"><div class="hunk-head">'
            f'{e(hunk.path)} {e(hunk.header)}</div><pre class="diff">{lines}</pre></div>'
        )
    return "\n".join(blocks)


def _trailer_list(patch: PatchView) -> str:
    if not patch.trailers:
        return "<p>No trailers.</p>"
    items = []
    for t in patch.trailers:
        origin = f" — in {_link(t.reply_anchor, 'a reply')}" if t.from_reply else ""
        problems = "".join(f' <span class="missing">({e(p)})</span>' for p in t.problems)
        items.append(f"<li><strong>{e(t.tag)}:</strong> {e(t.value)}{origin}{problems}</li>")
    return '<ul class="plain">' + "".join(items) + "</ul>"


def _patch(patch: PatchView) -> str:
    position = f"[{patch.position}] " if patch.position else ""
    parts = [
        f'<section class="patch" id="{e(patch.anchor)}">',
        f"<h2>{e(position)}{e(patch.title)} {_status(patch.status)}</h2>",
        f'<p class="meta">{e(patch.subject)} · v{patch.version} · {e(patch.author)} · '
        f"{e(patch.date)} · "
        f"<code>{e(patch.message_id)}</code></p>",
        _files(patch),
    ]
    parts += [f'<p class="missing">Error: {e(x)}</p>' for x in patch.errors]
    parts += [f'<p class="meta">Note: {e(x)}</p>' for x in patch.notes]
    parts.append("<h3>Trailers</h3>" + _trailer_list(patch))
    if patch.missing:
        parts.append(
            '<p class="missing">Missing: ' + "; ".join(e(m) for m in patch.missing) + "</p>"
        )
    groups = [
        ("introduced", "Findings introduced", patch.introduced),
        ("resolved", "Findings resolved", patch.resolved),
        ("other", "Other findings", patch.others),
        ("suppressed", "Suppressed findings", patch.suppressed),
    ]
    for key, title, views in groups:
        if key in ("introduced", "resolved") or views:
            parts.append(f'<h3 id="{e(patch.anchor)}-{key}">{title} ({len(views)})</h3>')
            parts += [_finding(v) for v in views] or ["<p>None.</p>"]
    if patch.simulations:
        parts.append(f'<h3 id="{e(patch.anchor)}-simulation">Simulation</h3>')
        parts += [
            _simulation(s, f"{patch.anchor}-sim{n}") for n, s in enumerate(patch.simulations, 1)
        ]
    if patch.hunks:
        parts.append(f'<h3 id="{e(patch.anchor)}-changes">Changes</h3>' + _hunks(patch))
    parts.append("</section>")
    return "\n".join(parts)


def _overview(report: ReviewReport) -> str:
    rows = []
    for p in report.patches:
        counts = review_counts(p)
        given = (
            "".join(f"<li>{e(tag)}: {e(', '.join(who))}</li>" for tag, who in counts.items() if who)
            or "<li>none</li>"
        )
        missing = "".join(f'<li class="missing">{e(m)}</li>' for m in p.missing) or "<li>—</li>"
        rows.append(
            f"<tr><td>{e(p.position or '—')}</td><td>{_link(p.anchor, p.title)}</td>"
            f"<td>v{p.version}</td><td>{e(p.author)}</td><td>{_status(p.status)}</td>"
            f'<td><ul class="plain">{given}</ul></td>'
            f'<td><ul class="plain">{missing}</ul></td></tr>'
        )
    parts = ['<section id="overview"><h2>Series overview</h2>']
    if report.cover is not None:
        parts.append(f"<p>Cover letter: {e(report.cover.subject)} — {e(report.cover.author)}</p>")
    parts.append(
        "<table><thead><tr><th>#</th><th>Patch</th><th>Version</th><th>Author</th>"
        "<th>Status</th><th>Trailers</th><th>Missing</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    if report.series_problems:
        parts.append(
            "<h3>Series problems</h3><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in report.series_problems)
            + "</ul>"
        )
    parts += [_finding(v) for v in report.series_findings]
    if report.errors:
        parts.append(
            "<h3>Input errors</h3><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in report.errors)
            + "</ul>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _reply(reply: ReplyView) -> str:
    about = (
        f" on {_link(reply.answers, reply.answers_subject or 'the patch')}" if reply.answers else ""
    )
    parts = [
        f'<article class="reply" id="{e(reply.anchor)}">',
        f"<h3>{e(reply.author)}{about}</h3>",
        f'<p class="meta">{e(reply.date)} · {e(reply.subject)}</p>',
    ]
    if reply.trailers:
        parts.append(
            "<p><strong>Trailers given:</strong> "
            + "; ".join(
                f"{e(t.tag)}: {e(t.value)}"
                + (f" ({e('; '.join(t.problems))})" if t.problems else "")
                for t in reply.trailers
            )
            + "</p>"
        )
    if reply.quotes:
        parts.append(
            "<p><strong>Quotes:</strong> "
            + ", ".join(_link(q.anchor, q.label) for q in reply.quotes)
            + "</p>"
        )
    if reply.text:
        parts.append(f"<blockquote><pre>{e(reply.text)}</pre></blockquote>")
    parts.append("</article>")
    return "\n".join(parts)


def _rules(report: ReviewReport) -> str:
    documented = [rule for rule in report.rules if rule.doc_text]
    if not documented:
        return ""
    parts = ['<section id="rules"><h2>Rule documentation</h2>']
    for rule in documented:
        source = f' <a href="{e(rule.doc_uri)}">(source)</a>' if rule.doc_uri else ""
        parts.append(
            f'<details class="rule-doc" id="{e(rule.anchor)}"><summary>'
            f"<code>{e(rule.id)}</code> — {e(rule.name)}</summary>"
            f'<pre class="doc">{e(rule.doc_text)}</pre>{source}</details>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _toc(report: ReviewReport) -> str:
    items = ['<li><a href="#overview">Series overview</a></li>']
    for p in report.patches:
        sub = [
            f'<li><a href="#{e(p.anchor)}-introduced">Findings introduced '
            f"({len(p.introduced)})</a></li>",
            f'<li><a href="#{e(p.anchor)}-resolved">Findings resolved ({len(p.resolved)})</a></li>',
        ]
        if p.simulations:
            sub.append(f'<li><a href="#{e(p.anchor)}-simulation">Simulation</a></li>')
        if p.hunks:
            sub.append(f'<li><a href="#{e(p.anchor)}-changes">Changes</a></li>')
        label = (f"[{p.position}] " if p.position else "") + p.title
        items.append(
            f"<li>{_link(p.anchor, label)} {_status(p.status)}<ol>{''.join(sub)}</ol></li>"
        )
    items.append(f'<li><a href="#discussion">Review discussion ({len(report.replies)})</a></li>')
    if any(rule.doc_text for rule in report.rules):
        items.append('<li><a href="#rules">Rule documentation</a></li>')
    return f'<nav id="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def render_report_html(report: ReviewReport) -> str:
    summary = report.summary
    found = ", ".join(f"{n} {k}" for k, n in sorted(summary.get("findings", {}).items())) or "none"
    discussion = "\n".join(_reply(r) for r in report.replies) or "<p>No replies in the input.</p>"
    body = [
        f"<header><h1>{e(report.title)}</h1>",
        f'<p class="meta">Inputs: {e(", ".join(report.inputs))} · Tree: '
        f"{e(report.tree or 'none (patch-only analysis)')}</p>",
        f'<p class="summary">{summary.get("patches", 0)} patches, {len(report.replies)} replies; '
        f"findings: {e(found)}</p></header>",
        _toc(report),
        _overview(report),
        *(_patch(p) for p in report.patches),
        f'<section id="discussion"><h2>Review discussion</h2>\n{discussion}</section>',
        _rules(report),
        f"<footer>Generated by patchlint {e(__version__)}.</footer>",
    ]
    css = _CSS.read_text(encoding="utf-8")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>patchlint report: {e(report.title)}</title>\n<style>\n{css}</style>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def render_html(result: CheckResult, options: RenderOptions | None = None) -> str:
    return render_report_html(build_report(result))
