"""Property: on arbitrary small C functions the interpreter never raises and stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simhelpers import CONFIG, MINI_SCHED_H, scenario

from patchlint.simulate import make_resolver, run_scenario
from patchlint.source import FunctionIndex

BUDGET = 300

_VARS = ["a", "b", "c"]
_ATOMS = st.sampled_from(
    _VARS
    + ["0", "1", "-1", "7", "TASK_FROZEN", "p->flags", "p->__state", "UNKNOWN_THING", "NULL", "p"]
)
_BINOPS = st.sampled_from(
    ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", ">=", "&&", "||"]
)


def _expr(depth: int = 2) -> st.SearchStrategy[str]:
    if depth == 0:
        return _ATOMS
    sub = _expr(depth - 1)
    return st.one_of(
        _ATOMS,
        st.tuples(sub, _BINOPS, sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["!", "~", "-"]), sub).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(st.sampled_from(["gen", "mystery", "test_bit", "READ_ONCE", "WARN_ON"]), sub).map(
            lambda t: f"{t[0]}({t[1]})" if t[0] != "gen" else f"gen(p, {t[1]})"
        ),
        sub.map(lambda e: f"(bool)({e})"),
        sub.map(lambda e: f"&({e})"),
        sub.map(lambda e: f"*({e})"),
    )


def _stmt(depth: int = 2) -> st.SearchStrategy[str]:
    expr = _expr(1)
    simple = st.one_of(
        st.tuples(
            st.sampled_from(_VARS), st.sampled_from(["=", "+=", "|=", "<<=", "-="]), expr
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]};"),
        expr.map(lambda e: f"return {e};"),
        st.sampled_from(
            [
                "break;",
                "continue;",
                "goto out;",
                "a++;",
                "--b;",
                ";",
                "p->flags |= c;",
                "spin_lock(&p->pi_lock);",
                "rcu_read_unlock();",
                "schedule();",
            ]
        ),
    )
    if depth == 0:
        return simple
    sub = _stmt(depth - 1)
    block = st.lists(sub, max_size=3).map(lambda xs: "{ " + " ".join(xs) + " }")
    return st.one_of(
        simple,
        st.tuples(expr, block, block).map(lambda t: f"if ({t[0]}) {t[1]} else {t[2]}"),
        st.tuples(expr, block).map(lambda t: f"while ({t[0]}) {t[1]}"),
        st.tuples(expr, block).map(lambda t: f"do {t[1]} while ({t[0]});"),
        st.tuples(expr, block).map(lambda t: f"for (c = 0; {t[0]}; c++) {t[1]}"),
        block.map(lambda b: f"for_each_thread(p, t) {b}"),
        st.tuples(expr, block).map(lambda t: f"switch ({t[0]}) {{ case 1: {t[1]} default: ; }}"),
    )


_FUNCTION = st.lists(_stmt(2), min_size=1, max_size=5).map(
    lambda body: (
        "#include <linux/sched.h>\n"
        "int gen(struct task_struct *p, int a)\n{\n\tint b = 1, c = 2;\n"
        "\tstruct task_struct *t;\n\t" + "\n\t".join(body) + "\nout:\n\treturn a + b;\n}\n"
    )
)


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> FunctionIndex:
    root: Path = tmp_path_factory.mktemp("gen-tree")
    (root / "include/linux").mkdir(parents=True)
    (root / "include/linux/sched.h").write_text(MINI_SCHED_H)
    (root / "kernel").mkdir()
    (root / "kernel/gen.c").write_text("int placeholder;\n")
    return FunctionIndex(root)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=_FUNCTION, arg=st.integers(-5, 5))
def test_interpreter_never_raises_and_respects_budget(index, code, arg):
    resolver = make_resolver(index, {"kernel/gen.c": code}, CONFIG)
    scen = scenario(
        f"gen(T0, {arg});", observe="gen(t, 1) > 0", action_file="kernel/gen.c", budget=BUDGET
    )
    run = run_scenario(resolver, scen)
    assert run.steps <= BUDGET + 1
    assert run.total == 2
    for task in run.per_task:
        assert task.holds in (True, False, None)
    if run.stopped is not None:
        assert all(t.holds is None for t in run.per_task)


_FLIPS = [
    ("&&", "||"),
    ("||", "&&"),
    ("!=", "=="),
    ("==", "!="),
    ("return false", "return true"),
    ("return true", "return false"),
    ("if (!", "if ("),
]


@pytest.mark.kernel
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    choices=st.lists(
        st.tuples(st.integers(0, len(_FLIPS) - 1), st.integers(0, 40)), min_size=1, max_size=3
    )
)
def test_mutated_real_freezer_code_is_run_not_assumed(kernel_tree, choices):
    """Operator flips in the real kernel/freezer.c are what runs: the mutated text reached
    through the resolver's overlay and through a tree view holding it (the series view
    every patch of a series is checked against) gives exactly the same run."""
    from simhelpers import index_for

    from patchlint.pipeline import SeriesView
    from patchlint.simulate import load_scenarios

    text = (kernel_tree / "kernel/freezer.c").read_text()
    for flip, nth in choices:
        old, new = _FLIPS[flip]
        positions = [i for i in range(len(text)) if text.startswith(old, i)]
        if positions:
            at = positions[nth % len(positions)]
            text = text[:at] + new + text[at + len(old) :]
    scen = next(s for s in load_scenarios() if s.name == "oom-victim-frozen-group")
    index = index_for(kernel_tree)
    overlaid = make_resolver(index, {"kernel/freezer.c": text})
    in_tree = make_resolver(SeriesView(index, {"kernel/freezer.c": text}), {})
    run = run_scenario(overlaid, scen)
    same = run_scenario(in_tree, scen)
    for resolver in (overlaid, in_tree):
        source = resolver.source("kernel/freezer.c")
        assert source is not None and source.text == text
    assert run.total == 4 and run.steps > 0
    assert (run.holds, run.unknown, run.stopped) == (same.holds, same.unknown, same.stopped)
    assert [(t.task, t.holds, t.details) for t in run.per_task] == [
        (t.task, t.holds, t.details) for t in same.per_task
    ]
    assert run.steps <= scen.budget + 1
