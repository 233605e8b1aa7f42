"""The reviewer report as one self-contained HTML file: inline CSS, no script, no
network; readable on screen and printable.

Rendered by Jinja2 from ``templates/report.html.j2`` with autoescape on, so every
piece of mail or code is escaped by the template engine, not by hand; the style sheet
is ``report.css``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from patchlint import __version__
from patchlint.findings import Evidence, Finding
from patchlint.report.options import RenderOptions
from patchlint.report.reviewer import (
    PatchView,
    ReviewReport,
    build_report,
    evidence_place,
    review_counts,
    slug,
)
from patchlint.result import CheckResult

_HERE = Path(__file__).parent
_CSS = _HERE / "report.css"


def _place(step: Evidence, finding: Finding) -> str:
    return evidence_place(step, finding)


def _where(finding: Finding) -> str:
    where = ":".join(str(x) for x in (finding.file, finding.line) if x) or "the mail"
    return f"{where} in {finding.function}()" if finding.function else where


def _counts(patch: PatchView) -> dict[str, list[str]]:
    return review_counts(patch)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(slug=slug, place=_place, where=_where, review_counts=_counts)
    return env


def render_report_html(report: ReviewReport) -> str:
    found = ", ".join(f"{n} {k}" for k, n in sorted(report.summary["findings"].items())) or "none"
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            found=found,
            documented=[rule for rule in report.rules if rule.doc_text],
            css=Markup(_CSS.read_text(encoding="utf-8")),  # our own style sheet, not input
            version=__version__,
        )
    )


def render_html(result: CheckResult, options: RenderOptions | None = None) -> str:
    return render_report_html(build_report(result))
