"""Every rule of the catalog has a loadable module, a documentation page and fixtures,
and every C rule fixture carries its expected findings inline; check them exactly.

Syntax on the line a finding must point at:
  /* expect: rule-id */            one finding of rule-id on this line
  /* expect: rule-a, rule-b */     several (an id may repeat)
  /* expect-suppressed: rule-id */ a finding reported but suppressed inline
Any finding not announced this way fails the test, and so does any announced one missing.
Message-level fixtures (``*.mbox``, mail and series rules) are checked exactly by
tests/test_mail_rule_fixtures.py.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from patchlint.rules import AnalysisUnit, all_rules, load_rule, run_rules, select_rules
from patchlint.rules.catalog import RuleMeta
from patchlint.source import parse_c

FIXTURE_ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
EXPECT = re.compile(r"(?:/\*|//)\s*expect(-suppressed)?:\s*([\w,\s-]+?)\s*(?:\*/|$)", re.M)
MAIL_EXPECT = re.compile(r"^X-Patchlint-Expect(?:-Series)?:\s*(.+)$", re.M | re.I)

FIXTURES = sorted(FIXTURE_ROOT.glob("*/*.c")) + sorted(FIXTURE_ROOT.glob("*/*.h"))
# Fixture files per scope, and how they announce an expected finding.
FIXTURE_KINDS = {
    "function": ("*.c", "*.h"),
    "mail": ("*.mbox",),
    "series": ("*.mbox",),
    # A commit message and before/after versions (tests/behaviour/test_nfc_fixtures.py).
    "behaviour": ("*.pair",),
}
DOC_SECTIONS = ("what it does", "why is this bad", "example", "confidence", "references")


def expected_findings(text: str) -> Counter[tuple[int, str, bool]]:
    expected: Counter[tuple[int, str, bool]] = Counter()
    for match in EXPECT.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for rule_id in re.split(r"[,\s]+", match.group(2)):
            if rule_id:
                expected[(line, rule_id, bool(match.group(1)))] += 1
    return expected


def announced(text: str) -> set[str]:
    """Rule ids a fixture expects, in either syntax."""
    ids = {rule_id for _line, rule_id, _suppressed in expected_findings(text)}
    for match in MAIL_EXPECT.finditer(text):
        ids.update(part.strip() for part in match.group(1).split(",") if part.strip())
    return ids


RULES = all_rules()


def test_catalog_lists_every_rule_module() -> None:
    """A rule module the catalog does not name would never run: each file under
    patchlint/rules/ with a SCOPE is some catalog entry's module."""
    package = Path(__file__).resolve().parent.parent / "patchlint" / "rules"
    named = {meta.module for meta in RULES}
    for path in package.glob("*.py"):
        if re.search(r"^SCOPE\s*=", path.read_text(encoding="utf-8"), re.M):
            assert f"patchlint.rules.{path.stem}" in named, f"{path.name} is in no catalog entry"


@pytest.mark.parametrize("meta", RULES, ids=lambda meta: meta.id)
def test_rule_module_keeps_the_contract(meta: RuleMeta) -> None:
    loaded = load_rule(meta)
    assert loaded.scope == meta.scope
    assert loaded.doc.strip()


@pytest.mark.parametrize("meta", RULES, ids=lambda meta: meta.id)
def test_rule_has_doc_page_and_positive_fixture(meta: RuleMeta) -> None:
    assert meta.doc_path.is_file(), f"rule {meta.id} has no doc page {meta.doc_path}"
    doc = meta.doc_text().lower()
    missing = [section for section in DOC_SECTIONS if f"## {section}" not in doc]
    assert not missing, f"{meta.doc}: no section {', '.join(missing)}"
    folder = FIXTURE_ROOT / meta.id
    assert folder.is_dir(), f"rule {meta.id} has no fixtures folder {folder}"
    patterns = FIXTURE_KINDS.get(meta.scope, ("*",))
    texts = [p.read_text(encoding="utf-8") for pattern in patterns for p in folder.glob(pattern)]
    assert any(meta.id in announced(text) for text in texts), (
        f"rule {meta.id} has no fixture announcing a finding ({', '.join(patterns)})"
    )


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_findings_exact(fixture: Path) -> None:
    text = fixture.read_text(encoding="utf-8")
    source = parse_c(text, str(fixture.relative_to(FIXTURE_ROOT)))
    findings = run_rules(AnalysisUnit(source=source, path=source.path), select_rules())
    got = Counter((f.line or 0, f.rule, f.suppressed) for f in findings)
    expected = expected_findings(text)
    missing = expected - got
    unexpected = got - expected
    details = "\n".join(f"  line {f.line}: {f.rule}: {f.message}" for f in findings)
    assert not missing and not unexpected, (
        f"missing {sorted(missing)}; unexpected {sorted(unexpected)}\nreported:\n{details}"
    )
