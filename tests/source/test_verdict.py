"""Per-function parse verdicts: what later stages list as "not analysed", and why."""

from __future__ import annotations

import json

from patchlint.source import DEFAULT_MAX_NESTING, ParseIssue, ParseVerdict, parse_c

CLEAN = "static int clean(int a)\n{\n\tif (a)\n\t\treturn 1;\n\treturn 0;\n}\n"


def _fn(src: str, name: str):
    parsed = parse_c(src, "t.c")
    fn = parsed.function(name)
    assert fn is not None, [f.name for f in parsed.functions]
    return parsed, fn


def test_clean_function_is_analysable() -> None:
    _, fn = _fn(CLEAN, "clean")
    assert fn.analysable and fn.not_analysed_reason is None
    assert fn.verdict() == ParseVerdict(())
    assert fn.verdict().as_dict() == {"analysable": True, "reason": None, "issues": []}


def test_unknown_macro_is_named() -> None:
    # An x-macro expanding to part of an expression: nothing can rewrite it.
    src = (
        "static int broken(int a)\n{\n\tconst unsigned long mask = 0\n"
        "\t\tBCH_BTREE_IDS()\n\t\t;\n\treturn mask;\n}\n" + CLEAN
    )
    parsed, fn = _fn(src, "broken")
    verdict = fn.verdict()
    assert not verdict.analysable
    assert verdict.issues[0].kind == "unsupported-macro"
    assert verdict.issues[0].line == 3
    assert "BCH_BTREE_IDS" in verdict.issues[0].detail
    assert verdict.reason == str(verdict.issues[0])
    assert parsed.function("clean").analysable
    assert [f.name for f, _ in parsed.not_analysed()] == ["broken"]


def test_plain_syntax_error_is_reported_with_its_line() -> None:
    _, fn = _fn("int odd(int a)\n{\n\treturn a +;\n}\n", "odd")
    issue = fn.verdict().issues[0]
    assert issue.line == 3 and issue.kind in ("syntax-error", "unsupported-macro")


def test_inline_asm_is_not_analysed_but_a_compiler_barrier_is() -> None:
    src = (
        "static inline unsigned long native_save_fl(void)\n{\n\tunsigned long flags;\n"
        '\tasm volatile("pushf ; pop %0" : "=rm" (flags) : : "memory");\n\treturn flags;\n}\n'
        'static inline void barrier_only(void)\n{\n\tasm volatile("" ::: "memory");\n}\n'
    )
    parsed, fn = _fn(src, "native_save_fl")
    assert [(i.kind, i.line) for i in fn.verdict().issues] == [("inline-asm", 4)]
    assert parsed.function("barrier_only").analysable


def test_asm_hidden_by_a_macro_is_still_found() -> None:
    _, fn = _fn(
        'static void hv(long nr)\n{\n\tasm volatile(KVM_HYPERCALL : "=a"(nr) : "a"(nr));\n}\n',
        "hv",
    )
    assert fn.verdict().issues[0].kind == "inline-asm"


def test_computed_goto() -> None:
    _, fn = _fn(
        "static int run(int i)\n{\n\tstatic void *t[] = { &&a };\n\tgoto *t[i];\na:\n"
        "\treturn 0;\n}\n",
        "run",
    )
    assert [i.kind for i in fn.verdict().issues] == ["computed-goto"]


def test_nesting_budget() -> None:
    depth = 60
    body = "".join("\t" * (i + 1) + "if (a) {\n" for i in range(depth))
    body += "\t" * (depth + 1) + "a++;\n" + "".join("\t" * i + "}\n" for i in range(depth, 0, -1))
    _, fn = _fn(f"void deep(int a)\n{{\n{body}}}\n", "deep")
    assert fn.verdict().analysable  # well inside the default budget
    assert fn.nesting_depth() > 2 * depth
    tight = fn.verdict(max_nesting=depth)
    assert [i.kind for i in tight.issues] == ["too-deep"]
    assert "budget (60 levels)" in tight.reason
    # The measurement is cached, but a smaller budget after a larger one still works.
    assert fn.verdict(max_nesting=DEFAULT_MAX_NESTING).analysable
    assert not fn.verdict(max_nesting=10).analysable


def test_verdict_is_json_ready() -> None:
    verdict = ParseVerdict((ParseIssue("inline-asm", 7, "inline asm"),))
    assert json.loads(json.dumps(verdict.as_dict())) == {
        "analysable": False,
        "reason": "inline asm at line 7",
        "issues": [{"kind": "inline-asm", "line": 7, "detail": "inline asm"}],
    }


def test_garbage_never_raises_and_gets_a_verdict() -> None:
    for src in ["void f(void) { ((( }", "int g(void) { FOO( }\n", "void h(void)\n{\n\t#if\n}\n"]:
        parsed = parse_c(src, "x.c")
        for fn in parsed.functions:
            assert isinstance(fn.verdict().analysable, bool)
