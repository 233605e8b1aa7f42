"""The CFG builder: branches, loops, switch fall-through, goto, guards."""

from __future__ import annotations

from patchlint.analysis.cfg import FALSE, TRUE, build_cfg
from patchlint.analysis.facts import FileFacts
from patchlint.source.parse import parse_c


def _cfg(code: str):
    source = parse_c(code, "t.c")
    facts = FileFacts(source, "t.c")
    fn = source.functions[0]
    return build_cfg(fn.body, facts._guard_of, facts._loop_of)


def _kinds(cfg) -> list[str]:
    return [node.kind for node in cfg.nodes]


def test_if_else_has_true_and_false_edges() -> None:
    cfg = _cfg("int f(int x) { if (x) a(); else b(); return 0; }")
    cond = next(n for n in cfg.nodes if n.kind == "cond")
    assert {label for _, label in cond.succ} == {TRUE, FALSE}
    assert cfg.complete


def test_every_return_reaches_exit() -> None:
    cfg = _cfg("int f(int x) { if (x) return 1; return 2; }")
    returns = [n for n in cfg.nodes if n.kind == "return"]
    assert len(returns) == 2
    assert all((cfg.exit, None) in n.succ for n in returns)


def test_fall_off_end_is_an_implicit_return() -> None:
    cfg = _cfg("void f(int x) { if (x) a(); }")
    returns = [n for n in cfg.nodes if n.kind == "return"]
    assert len(returns) == 1 and returns[0].ast is None


def test_switch_falls_through_and_break_leaves() -> None:
    cfg = _cfg(
        "void f(int x) { switch (x) { case 1: a(); case 2: b(); break; default: c(); } d(); }"
    )
    cases = [n for n in cfg.nodes if n.kind == "case"]
    assert len(cases) == 3
    # case 1's statement flows into case 2's label (fall-through).
    first_stmt = next(
        n
        for n in cfg.nodes
        if n.kind == "stmt" and n.line == 1 and n.ast is not None and n.ast.text == b"a();"
    )
    assert any(target == cases[1].id for target, _ in first_stmt.succ)


def test_goto_links_to_label() -> None:
    cfg = _cfg("int f(int x) { if (x) goto out; a(); out: return 0; }")
    jump = next(n for n in cfg.nodes if n.kind == "jump")
    assert jump.succ == [(cfg.labels["out"], None)]


def test_break_and_continue_in_loops() -> None:
    cfg = _cfg("void f(int n) { for (int i = 0; i < n; i++) { if (i) continue; if (n) break; } }")
    jumps = [n for n in cfg.nodes if n.kind == "jump"]
    assert len(jumps) == 2
    assert all(n.succ for n in jumps)


def test_iterator_macro_becomes_an_iter_head() -> None:
    cfg = _cfg("void f(void) { struct task_struct *p; for_each_process(p) { a(p); } }")
    heads = [n for n in cfg.nodes if n.kind == "iter"]
    assert len(heads) == 1 and heads[0].info.name == "for_each_process"


def test_guard_is_released_on_every_exit_of_its_scope() -> None:
    cfg = _cfg("int f(int x) { if (x) { guard(rcu)(); if (x > 1) return 1; a(); } return 0; }")
    guard = next(n for n in cfg.nodes if n.kind == "guard")
    assert guard.info.kind == "rcu"
    ret = next(n for n in cfg.nodes if n.kind == "return" and n.line == 1 and n.releases)
    assert [g.kind for g in ret.releases] == ["rcu"]
    end_of_scope = [n for n in cfg.nodes if n.kind == "stmt" and n.ast is None and n.releases]
    assert end_of_scope


def test_statement_expression_with_branches_marks_imprecise() -> None:
    cfg = _cfg("void f(int x) { run(({ if (x) rcu_read_unlock(); 0; })); }")
    assert not cfg.complete
