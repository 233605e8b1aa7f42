"""parse_c: function extraction, original-text access, kernel files."""

from __future__ import annotations

import random

import pytest

from patchlint.source.normalise import normalise
from patchlint.source.parse import parse_c

HEADER = (
    "#ifndef _DEMO_H\n#define _DEMO_H\n"
    "static inline bool demo_ready(const struct demo *d)\n{\n\treturn d->ready;\n}\n"
    "extern int demo_run(struct demo *d);\n"
    "#endif\n"
)


def test_static_inline_in_header() -> None:
    parsed = parse_c(HEADER, "include/linux/demo.h")
    fn = parsed.function("demo_ready")
    assert fn is not None and fn.is_static and fn.is_inline
    assert fn.params == ["d"]
    assert (fn.start_line, fn.end_line) == (3, 6)
    assert parsed.function("demo_run") is None


def test_function_at_line_and_node_text(fixtures_dir) -> None:
    src = (fixtures_dir / "source" / "kernel_dialect.c").read_text()
    parsed = parse_c(src, "kernel/demo.c")
    line = next(i for i, text in enumerate(src.splitlines(), 1) if "for_each_process(p)" in text)
    fn = parsed.function_at_line(line)
    assert fn is not None and fn.name == "demo_locked"
    assert parsed.function_at_line(1) is None
    loop = next(n for n in fn.body.children if n.start_point[0] + 1 == line)
    assert parsed.node_text(loop).startswith("for_each_process(p)")
    assert [c.name for c in parsed.constructs_in(loop)][0] == "for_each_process"
    sysc = parsed.function("demo")
    assert sysc is not None
    assert parsed.node_text(sysc.node).startswith("SYSCALL_DEFINE3(demo, int, fd")


def test_non_ascii_before_function() -> None:
    src = "/* ünïcödé */\nint f(int a)\n{\n\treturn a; /* ß */\n}\n"
    parsed = parse_c(src)
    fn = parsed.function("f")
    assert fn is not None
    assert parsed.node_text(fn.node) == "int f(int a)\n{\n\treturn a; /* ß */\n}"


def test_garbage_never_raises() -> None:
    for src in ["", "}", "#if\n", "for_each_x(", "SYSCALL_DEFINE1(", "\x00\udcff"]:
        parse_c(src)


KERNEL_FILES = [
    "kernel/freezer.c",
    "mm/oom_kill.c",
    "include/linux/freezer.h",
    "kernel/exit.c",
    "kernel/signal.c",
]


@pytest.mark.kernel
@pytest.mark.parametrize("relative", KERNEL_FILES)
def test_kernel_files_parse_cleanly(kernel_tree, relative: str) -> None:
    src = (kernel_tree / relative).read_text(encoding="utf-8", errors="replace")
    parsed = parse_c(src, relative)
    assert parsed.functions
    bad = [f.name for f in parsed.functions if f.has_errors]
    assert not bad


@pytest.mark.kernel
def test_kernel_known_functions(kernel_tree) -> None:
    src = (kernel_tree / "kernel/freezer.c").read_text()
    parsed = parse_c(src, "kernel/freezer.c")
    assert parsed.function("freeze_task") is not None
    oom = parse_c((kernel_tree / "mm/oom_kill.c").read_text(), "mm/oom_kill.c")
    assert oom.function("__oom_kill_process") is not None
    assert any(c.name == "for_each_process" for c in oom.constructs)


@pytest.mark.kernel
def test_mutated_kernel_files(kernel_tree) -> None:
    rng = random.Random(1234)
    sources = [(kernel_tree / p).read_text(errors="replace") for p in KERNEL_FILES[:3]]
    for _ in range(200):
        chars = list(rng.choice(sources))
        for _ in range(rng.randrange(1, 40)):
            pos = rng.randrange(len(chars))
            chars[pos : pos + rng.randrange(0, 8)] = rng.choice(["", "(", "{", "#else\n", "é"])
        src = "".join(chars)
        out = normalise(src).text
        assert len(out) == len(src)
        encoded = src.encode("utf-8", "surrogatepass")
        assert len(out.encode("utf-8", "surrogatepass")) == len(encoded)
        parse_c(src)
