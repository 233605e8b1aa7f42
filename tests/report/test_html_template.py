"""The HTML report comes from a Jinja2 template with autoescape: whatever a mail or a
file name holds is text in the page, never markup."""

from __future__ import annotations

from report_sample import build_result

from patchlint.report.html import environment, render_html

HOSTILE = '<b onmouseover="x()">bold</b>'


def test_autoescape_is_on_for_the_template() -> None:
    template = environment().get_template("report.html.j2")
    assert environment().autoescape(template.name) is True


def test_every_kind_of_input_text_is_escaped() -> None:
    result = build_result()
    patch = result.patches[0]
    patch.message.subject = HOSTILE
    patch.message.author = HOSTILE
    patch.message.series.title = HOSTILE
    patch.files[0].path = HOSTILE
    patch.notes.append(HOSTILE)
    patch.errors.append(HOSTILE)
    for trailer in patch.message.trailers:
        trailer.value = HOSTILE
    for finding in patch.findings:
        finding.message = HOSTILE
        finding.function = HOSTILE
    result.inputs = [HOSTILE]
    result.errors.append(HOSTILE)
    html = render_html(result)
    assert "<b " not in html and "</b>" not in html
    assert html.count("&lt;b onmouseover=") >= 8
