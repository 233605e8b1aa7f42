"""Every C rule fixture carries its expected findings inline; check them exactly.

Syntax on the line a finding must point at:
  /* expect: rule-id */            one finding of rule-id on this line
  /* expect: rule-a, rule-b */     several (an id may repeat)
  /* expect-suppressed: rule-id */ a finding reported but suppressed inline
Any finding not announced this way fails the test, and so does any announced one missing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.source import parse_c

FIXTURE_ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
EXPECT = re.compile(r"(?:/\*|//)\s*expect(-suppressed)?:\s*([\w,\s-]+?)\s*(?:\*/|$)", re.M)

FIXTURES = sorted(FIXTURE_ROOT.glob("*/*.c")) + sorted(FIXTURE_ROOT.glob("*/*.h"))


def expected_findings(text: str) -> Counter[tuple[int, str, bool]]:
    expected: Counter[tuple[int, str, bool]] = Counter()
    for match in EXPECT.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for rule_id in re.split(r"[,\s]+", match.group(2)):
            if rule_id:
                expected[(line, rule_id, bool(match.group(1)))] += 1
    return expected


def test_every_rule_has_fixtures_and_docs() -> None:
    from patchlint.knowledge import data_path

    for meta in select_rules():
        assert (FIXTURE_ROOT / meta.id).is_dir(), f"rule {meta.id} has no fixtures"
        texts = [p.read_text() for p in (FIXTURE_ROOT / meta.id).glob("*.[ch]")]
        assert any(f"expect: {meta.id}" in t or f"expect: {meta.id}," in t for t in texts) or any(
            meta.id in str(expected_findings(t)) for t in texts
        ), f"rule {meta.id} has no positive fixture"
        assert data_path(meta.doc).is_file(), f"rule {meta.id} has no doc page"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_findings_exact(fixture: Path) -> None:
    text = fixture.read_text(encoding="utf-8")
    source = parse_c(text, str(fixture.relative_to(FIXTURE_ROOT)))
    findings = run_rules(AnalysisUnit(source=source, path=source.path))
    got = Counter((f.line or 0, f.rule, f.suppressed) for f in findings)
    expected = expected_findings(text)
    missing = expected - got
    unexpected = got - expected
    details = "\n".join(f"  line {f.line}: {f.rule}: {f.message}" for f in findings)
    assert not missing and not unexpected, (
        f"missing {sorted(missing)}; unexpected {sorted(unexpected)}\nreported:\n{details}"
    )
