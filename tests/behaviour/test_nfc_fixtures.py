"""The behaviour rules' fixtures (fixtures/rules/nfc-claim-*/*.pair) carry their
expected findings inline: ``/* expect: rule-id */`` on the line of the function a
finding must name, in the after section.  A pair is a commit message (``// message:``
lines) and before/after versions (sections as in the pair suite).  Checked exactly."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from patchlint.behaviour import FileChange, behaviour_of_patch, behaviour_units
from patchlint.findings import Finding
from patchlint.rules import run_behaviour_rules, select_rules

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "rules"
FIXTURES = sorted(ROOT.glob("nfc-claim-*/*.pair"))
_SECTION = re.compile(r"^// --- (common|before|after)\s*$", re.M)
_EXPECT = re.compile(r"/\*\s*expect:\s*([\w,\s-]+?)\s*\*/")


def load(path: Path) -> tuple[str, str, str, str]:
    text = path.read_text(encoding="utf-8")
    message = "\n".join(m.group(1) for m in re.finditer(r"^// message: ?(.*)$", text, re.M))
    sections = {"common": ""}
    matches = list(_SECTION.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections[match.group(1)] = text[match.end() : end]
    pre = sections["common"] + sections["before"]
    post = sections["common"] + sections["after"]
    subject, _, body = message.partition("\n")
    return subject, body, pre, post


def findings_of(path: Path) -> list[Finding]:
    subject, body, pre, post = load(path)
    verdicts = behaviour_of_patch([FileChange("fixture.c", "fixture.c", pre, post)], None)
    rules = select_rules(scope="behaviour")
    return [
        f
        for unit in behaviour_units(subject, body, verdicts)
        for f in run_behaviour_rules(unit, rules)
    ]


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nfc_fixture_findings_exact(fixture: Path) -> None:
    _, _, _, post = load(fixture)
    expected: Counter[tuple[int, str]] = Counter()
    for match in _EXPECT.finditer(post):
        line = post.count("\n", 0, match.start()) + 1
        for rule in re.split(r"[,\s]+", match.group(1)):
            if rule:
                expected[(line, rule)] += 1
    findings = findings_of(fixture)
    got = Counter((f.line or 0, f.rule) for f in findings)
    details = "\n".join(f"  line {f.line}: {f.rule}: {f.message}" for f in findings)
    assert got == expected, f"expected {sorted(expected.items())}\nreported:\n{details}"


def test_every_behaviour_rule_has_fixtures_and_docs() -> None:
    from patchlint.knowledge import data_path
    from patchlint.rules import all_rules

    for meta in all_rules():
        if meta.scope != "behaviour":
            continue
        texts = [p.read_text() for p in (ROOT / meta.id).glob("*.pair")]
        assert any(f"expect: {meta.id}" in t for t in texts), f"{meta.id} has no positive fixture"
        assert data_path(meta.doc).is_file(), f"{meta.id} has no doc page"
