"""The rule contract, exercised with a toy rule of a test's own catalog.

Adding a rule is: one module (SCOPE, FACTS, check), one catalog entry, one doc page,
one fixture folder. This test does exactly that in a temporary folder, so it also
shows a newcomer the whole of it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchlint.rules import (
    RuleError,
    load_catalog,
    run_mail_rules,
    run_rules,
    select_rules,
)
from patchlint.source import parse_c
from patchlint.units import AnalysisUnit
from patchlint.validate import DataError

TOY_MODULE = '''\
"""toy-goto: a goto in a function.

Why is this bad: it is not; this rule exists for the contract test.

Example::

    goto out;       /* expect: toy-goto */
"""

from patchlint.findings import Finding

SCOPE = "function"
FACTS = ("cfg",)


def check(unit):
    for fn in unit.source.functions:
        text = unit.source.node_text(fn.node)
        for number, line in enumerate(text.splitlines()):
            if "goto " in line:
                yield Finding(
                    rule="toy-goto",
                    message="goto",
                    line=fn.start_line + number,
                    function=fn.name,
                    key=f"goto#{number}",
                    confidence="low" if "maybe" in line else "high",
                )
'''

CATALOG = """\
[facts.function]
cfg = "control-flow graph"

[[rule]]
id = "toy-goto"
name = "A goto"
family = "toy"
severity = "error"
confidence = "medium"
summary = "A goto statement."
module = "{module}"
scope = "function"
"""

C_TEXT = """\
int f(int x)
{
	if (x)
		goto out;
	if (x > 1)
		goto out; /* maybe */
out:
	return 0;
}
"""


@pytest.fixture
def toy_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    module = f"toy_rule_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(TOY_MODULE)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "toy-goto.md").write_text("# toy-goto\n")
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG.format(module=module))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield catalog
    sys.modules.pop(module, None)


def _run(catalog: Path, **selection: object) -> list[tuple[int | None, str, str]]:
    rules = select_rules(rules_catalog=load_catalog(catalog), **selection)  # type: ignore[arg-type]
    source = parse_c(C_TEXT, "toy.c")
    findings = run_rules(AnalysisUnit(source=source, path="toy.c"), rules)
    return [(f.line, f.severity, f.confidence) for f in findings]


def test_engine_stamps_catalog_severity_and_caps_confidence(toy_catalog: Path) -> None:
    # The catalog says error/medium: the rule's "high" is capped, its "low" finding
    # is kept low and reported as info.
    assert _run(toy_catalog) == [(4, "error", "medium"), (6, "info", "low")]


def test_user_severity_override_wins_over_catalog(toy_catalog: Path) -> None:
    assert _run(toy_catalog, severity={"toy-goto": "warning"}) == [
        (4, "warning", "medium"),
        (6, "info", "low"),
    ]


def test_catalog_doc_page_is_relative_to_the_catalog(toy_catalog: Path) -> None:
    meta = load_catalog(toy_catalog).rules[0]
    assert meta.doc_path == toy_catalog.parent / "docs" / "toy-goto.md"
    assert meta.doc_text() == "# toy-goto\n"


def _broken(toy_catalog: Path, replace: tuple[str, str]) -> Path:
    module_name = load_catalog(toy_catalog).rules[0].module
    path = toy_catalog.parent / f"{module_name}.py"
    path.write_text(TOY_MODULE.replace(*replace))
    return toy_catalog


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        (("from patchlint.findings", "from patchlint.no_such_module"), "cannot be imported"),
        (('SCOPE = "function"', 'SCOPE = "mail"'), "SCOPE is 'mail', the catalog says"),
        (('FACTS = ("cfg",)', 'FACTS = ("cfg", "telepathy")'), "FACTS names telepathy"),
        (("def check(unit):", "def run(unit):"), r"no check\(unit\) function"),
        (('rule="toy-goto"', 'rule="other-rule"'), "reported 'other-rule' as rule 'toy-goto'"),
    ],
)
def test_broken_rule_module_fails_loudly(
    toy_catalog: Path, replace: tuple[str, str], problem: str
) -> None:
    with pytest.raises(RuleError, match=problem):
        _run(_broken(toy_catalog, replace))


def test_rule_of_another_scope_is_refused(toy_catalog: Path) -> None:
    rules = select_rules(scope=None, rules_catalog=load_catalog(toy_catalog))
    with pytest.raises(ValueError, match="not of scope 'mail'"):
        run_mail_rules(object(), rules)  # type: ignore[arg-type]


def test_bad_catalog_names_file_key_and_line(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    text = CATALOG.format(module="m").replace('severity = "error"', 'severity = "fatal"')
    catalog.write_text(text)
    with pytest.raises(DataError) as caught:
        load_catalog(catalog)
    error = caught.value
    assert error.file == str(catalog)
    assert error.key == "rule[0].severity"
    assert error.line == text.splitlines().index('severity = "fatal"') + 1
    assert f"{catalog}:{error.line}: rule[0].severity:" in str(error)


def test_misspelt_catalog_key_is_named(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    text = CATALOG.format(module="m").replace("summary =", "sumary =")
    catalog.write_text(text)
    with pytest.raises(DataError) as caught:
        load_catalog(catalog)
    assert caught.value.key == "rule[0].sumary"
    assert caught.value.line == text.splitlines().index('sumary = "A goto statement."') + 1
    assert "unknown key" in caught.value.problem


def test_rule_defined_twice_is_an_error(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    entry = CATALOG.format(module="m").split("[[rule]]")[1]
    catalog.write_text(CATALOG.format(module="m") + "\n[[rule]]" + entry)
    with pytest.raises(RuleError, match="defined twice"):
        load_catalog(catalog)


def test_shipped_catalog_selects_by_scope() -> None:
    scopes = {rule.scope for rule in select_rules(scope=None)}
    assert scopes == {"function", "mail", "series", "behaviour"}
    assert all(rule.scope == "mail" for rule in select_rules(scope="mail"))
