"""Normaliser: same-length rewrites, parseable output, side table of constructs."""

from __future__ import annotations

import pytest

from patchlint.source.normalise import Dialect, normalise, read_foreach_macros
from patchlint.source.parse import parse_c


def _errors(node) -> list[tuple[int, int]]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            found.append(current.start_point)
        stack.extend(current.children)
    return found


def _check(src: str):
    norm = normalise(src)
    assert len(norm.text) == len(src)
    assert len(norm.text.encode()) == len(src.encode())
    assert [i for i, c in enumerate(norm.text) if c == "\n"] == [
        i for i, c in enumerate(src) if c == "\n"
    ]
    parsed = parse_c(src, "t.c")
    assert _errors(parsed.tree.root_node) == [], parsed.normalised.text
    return parsed


def _find(parsed, kind: str, name: str):
    matches = [c for c in parsed.constructs if c.kind == kind and c.name == name]
    assert matches, parsed.constructs
    return matches[0]


def _original(parsed, construct) -> str:
    return parsed.data[construct.start : construct.end].decode()


ITERATORS = {
    "for_each_thread": "void f(void)\n{\n\tfor_each_thread(p, t) {\n\t\tg(t);\n\t}\n}\n",
    "for_each_process": "void f(void)\n{\n\tfor_each_process(p)\n\t\tif (p->pid)\n\t\t\tg(p);\n}\n",
    "list_for_each_entry": (
        "void f(void)\n{\n\tlist_for_each_entry(pos,\n\t\t\t    &head, member) {\n"
        "\t\tlist_for_each_entry_rcu(q, &pos->list, node)\n\t\t\tg(q);\n\t}\n}\n"
    ),
    "hash_for_each_possible": (
        "void f(void)\n{\n\thash_for_each_possible(table, obj, node, key) {\n\t\tg(obj);\n\t}\n}\n"
    ),
}


@pytest.mark.parametrize("name", sorted(ITERATORS))
def test_iterators(name: str) -> None:
    src = ITERATORS[name]
    parsed = _check(src)
    construct = _find(parsed, "iterator", name)
    assert _original(parsed, construct).startswith(name + "(")
    loops = [n for n in parsed.functions[0].body.children if n.type == "for_statement"]
    assert loops and parsed.node_text(loops[0]).startswith(name)


def test_iterator_args_and_type_args() -> None:
    parsed = _check(
        "void f(void)\n{\n\tfor_each_thread(p, t)\n\t\tx = container_of(t, struct foo, node);\n}\n"
    )
    assert _find(parsed, "iterator", "for_each_thread").args == ("p", "t")
    assert _find(parsed, "type_arg", "container_of").args == ("t", "struct foo", "node")


def test_iterator_call_with_semicolon_is_left_alone() -> None:
    src = "void f(void)\n{\n\tidr_for_each(&idr, cb, NULL);\n}\n"
    parsed = _check(src)
    assert parsed.normalised.text == src
    assert not parsed.constructs


def test_do_while_each_thread() -> None:
    parsed = _check(
        "void f(void)\n{\n\tdo_each_thread(g, t) {\n\t\th(t);\n\t} while_each_thread(g, t);\n}\n"
    )
    assert _find(parsed, "iterator", "do_each_thread").args == ("g", "t")
    assert _find(parsed, "iterator", "while_each_thread").args == ("g", "t")
    body = parsed.functions[0].body
    assert any(n.type == "do_statement" for n in body.children)


def test_guards() -> None:
    parsed = _check(
        "void f(void)\n{\n\tguard(rcu)();\n\tscoped_guard(spinlock_irqsave, &l) {\n\t\tg();\n\t}\n"
        "\tscoped_cond_guard(mutex_intr, return -EINTR, &m)\n\t\tg();\n}\n"
    )
    assert _find(parsed, "guard", "guard").args == ("rcu",)
    scoped = _find(parsed, "scoped_guard", "scoped_guard")
    assert scoped.args == ("spinlock_irqsave", "&l")
    assert _original(parsed, scoped) == "scoped_guard(spinlock_irqsave, &l)"
    cond = _find(parsed, "scoped_guard", "scoped_cond_guard")
    assert cond.args == ("mutex_intr", "return -EINTR", "&m")


def test_annotations_and_attributes() -> None:
    parsed = _check(
        "static int __init noinline f(char __user *p)\n\t__must_hold(&lock) __releases(rq->lock)\n"
        "{\n\treturn 0;\n}\n"
        "static __always_inline void g(void) __acquires(x);\n"
        "void __printf(1, 2) h(const char *fmt, ...);\n"
    )
    fn = parsed.functions[0]
    assert [a.name for a in fn.annotations] == ["__must_hold", "__releases"]
    assert fn.annotations[0].args == ("&lock",)
    assert fn.annotations[1].line == 2
    assert _find(parsed, "attribute", "__printf").args == ("1", "2")
    assert "inline" in parsed.normalised.text


def test_definition_macros() -> None:
    parsed = _check(
        "SYSCALL_DEFINE3(read, unsigned int, fd, char __user *, buf, size_t, count)\n{\n"
        "\treturn ksys_read(fd, buf, count);\n}\n"
        "SYSCALL_DEFINE0(getpid)\n{\n\treturn 1;\n}\n"
        "static DEFINE_PER_CPU(struct foo, bar) = { 0 };\n"
        "static DEFINE_MUTEX(demo_mutex);\n"
    )
    assert [f.name for f in parsed.functions] == ["read", "getpid"]
    assert parsed.functions[0].params == ["fd", "buf", "count"]
    sysc = _find(parsed, "definition", "SYSCALL_DEFINE3")
    assert sysc.args[:3] == ("read", "unsigned int", "fd")
    assert _find(parsed, "definition", "DEFINE_PER_CPU").args == ("struct foo", "bar")
    assert _find(parsed, "definition", "DEFINE_MUTEX").args == ("demo_mutex",)


def test_preprocessor_split_braces() -> None:
    parsed = _check(
        "void f(void)\n{\n#ifdef CONFIG_X\n\tif (a) {\n#else\n\tif (b) {\n#endif\n"
        "\t\tg();\n\t}\n}\n"
    )
    construct = _find(parsed, "preprocessor", "#ifdef")
    assert construct.args == ("CONFIG_X",)


def test_balanced_conditionals_are_kept() -> None:
    src = (
        "#ifdef CONFIG_X\nint f(void)\n{\n\treturn 1;\n}\n#else\n"
        "static inline int f(void) { return 0; }\n#endif\n"
    )
    parsed = _check(src)
    assert parsed.normalised.text == src
    assert len(parsed.functions) == 2


def test_comments_and_strings_untouched() -> None:
    src = (
        'static const char *s = "for_each_thread(p, t) { __init";\n'
        "/* list_for_each_entry(a, b, c) { café */\n"
        "#define for_each_foo(x) for ((x) = 0; (x) < 3; (x)++)\n"
        "char c = '\\'';\n"
    )
    parsed = _check(src)
    assert parsed.normalised.text == src


def test_case_range() -> None:
    parsed = _check("int f(int x)\n{\n\tswitch (x) {\n\tcase 1 ... 3:\n\t\treturn 1;\n\t}\n}\n")
    assert _find(parsed, "case_range", "case")


def test_non_ascii_offsets_are_bytes() -> None:
    src = "/* é */ void f(void)\n{\n\tfor_each_cpu(c, m) {\n\t\tg(c);\n\t}\n}\n"
    parsed = _check(src)
    construct = _find(parsed, "iterator", "for_each_cpu")
    assert _original(parsed, construct) == "for_each_cpu(c, m)"
    assert parsed.normalised.construct_at(construct.start + 2) == construct


def test_fixture_file(fixtures_dir) -> None:
    src = (fixtures_dir / "source" / "kernel_dialect.c").read_text()
    parsed = _check(src)
    names = {f.name for f in parsed.functions}
    assert {"demo_setup", "demo_locked", "demo", "demo0", "bpf_demo"} <= names


def test_clang_format_foreach(tmp_path) -> None:
    (tmp_path / ".clang-format").write_text(
        "AlignAfterOpenBracket: Align\nForEachMacros:\n  - 'walk_things'\n  - \"zap_all\"\n"
        "IncludeBlocks: Preserve\n"
    )
    assert read_foreach_macros(tmp_path / ".clang-format") == ["walk_things", "zap_all"]
    dialect = Dialect.load(tmp_path)
    norm = normalise("void f(void)\n{\n\twalk_things(a, b) {\n\t}\n}\n", dialect)
    assert norm.constructs[0].name == "walk_things"
