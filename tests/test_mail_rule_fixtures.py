"""Message-level rule fixtures carry their expectations inline, as mail headers:

  X-Patchlint-Expect: rule-a, rule-a      findings expected on this patch (ids may repeat)
  X-Patchlint-Expect-Series: rule-b       findings expected on the series this message heads

A patch without the header must produce no message-level finding at all.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from patchlint.mail import collect, iter_messages
from patchlint.pipeline import CheckOptions, run_check
from patchlint.rules import all_rules

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "rules").glob("*/*.mbox"))


def _header(message_body: str, name: str) -> Counter[str]:
    match = re.search(rf"^{name}:\s*(.+)$", message_body, re.M | re.I)
    if not match:
        return Counter()
    return Counter(part.strip() for part in match.group(1).split(",") if part.strip())


def _raw_headers(path: Path) -> dict[str, str]:
    """Message-ID → raw header block, read independently of the mail stage."""
    blocks = re.split(r"^From mboxrd@z .*$", path.read_text(), flags=re.M)
    headers = {}
    for block in blocks:
        head = block.split("\n\n", 1)[0]
        match = re.search(r"^Message-ID:\s*<([^>]+)>", head, re.M | re.I)
        if match:
            headers[match.group(1)] = head
    return headers


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mail_fixture_findings_exact(fixture: Path) -> None:
    headers = _raw_headers(fixture)
    result = run_check(iter_messages(str(fixture)), CheckOptions(), [str(fixture)])
    mail_rules = {meta.id for meta in all_rules() if meta.scope == "mail"}
    for patch in result.patches:
        got = Counter(f.rule for f in patch.findings if f.rule in mail_rules)
        expected = _header(headers[patch.message.message_id], "X-Patchlint-Expect")
        assert got == expected, (patch.message.subject, [f.message for f in patch.findings])
    series_expected: Counter[str] = Counter()
    for head in headers.values():
        series_expected += _header(head, "X-Patchlint-Expect-Series")
    assert Counter(f.rule for f in result.series_findings) == series_expected


def test_fixture_headers_do_not_change_classification() -> None:
    for fixture in FIXTURES:
        kinds = [m.kind for m in collect(iter_messages(str(fixture))).messages]
        assert "error" not in kinds


def test_every_message_rule_has_a_fixture_and_a_doc_page() -> None:
    from patchlint.knowledge import data_path

    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
    for meta in all_rules():
        assert data_path(meta.doc).is_file(), f"rule {meta.id} has no doc page"
        if meta.scope in ("function", "behaviour"):  # C and .pair fixtures elsewhere
            continue
        texts = [p.read_text() for p in (fixtures / meta.id).glob("*.mbox")]
        assert any(meta.id in t for t in texts), f"rule {meta.id} has no positive fixture"
