"""Functions the lock analysis cannot judge are "not analysed", with the reason."""

from __future__ import annotations

from patchlint.analysis import not_analysed
from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.source.parse import parse_c


def _unit(code: str) -> AnalysisUnit:
    return AnalysisUnit(source=parse_c(code, "t.c"), path="t.c")


def test_inline_asm_is_not_analysed() -> None:
    unit = _unit(
        'void f(spinlock_t *l) { spin_lock(l); asm volatile("cli"); if (x) return;'
        " spin_unlock(l); }"
    )
    (item,) = not_analysed(unit)
    assert item.function == "f" and "inline asm" in item.reason
    assert run_rules(unit, select_rules(enabled=["lock-unbalanced"])) == []


def test_unparsed_macro_is_not_analysed() -> None:
    unit = _unit("void f(spinlock_t *l) { spin_lock(l); STRANGE(a b c) { } spin_unlock(l); }")
    (item,) = not_analysed(unit)
    assert "could not parse" in item.reason


def test_too_many_paths_is_not_analysed() -> None:
    branches = " ".join(f"if (a{i}) spin_lock(&l{i});" for i in range(9))
    unit = _unit(f"void f(void) {{ {branches} g(); }}")
    (item,) = not_analysed(unit)
    assert "lock states" in item.reason or "budget" in item.reason
    assert run_rules(unit, select_rules(enabled=["lock-unbalanced"])) == []


def test_functions_without_locks_are_not_listed() -> None:
    assert not_analysed(_unit('void f(void) { asm volatile("nop"); }')) == []


def test_deep_nesting_does_not_crash() -> None:
    body = "spin_lock(l); " + "if (x) {" * 300 + "g();" + "}" * 300 + " spin_unlock(l);"
    unit = _unit(f"void f(spinlock_t *l) {{ {body} }}")
    findings = run_rules(unit, select_rules(enabled=["lock-unbalanced", "sleep-in-atomic"]))
    assert findings == []
