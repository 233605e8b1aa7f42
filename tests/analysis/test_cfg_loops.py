"""For loops whose first test is decided (constant start and bound): the body runs at
least once, so no path leaves the loop before its first iteration."""

from __future__ import annotations

import pytest

from patchlint.analysis.cfg import build_cfg
from patchlint.analysis.constant_returns import file_integer_macros
from patchlint.source.parse import parse_c


def _skips_body(code: str, macros: dict[str, int] | None = None) -> bool:
    """Whether some path reaches the call after the loop without running its body."""
    source = parse_c(code, "t.c")
    fn = source.functions[0]
    assert fn.body is not None
    cfg = build_cfg(fn.body, constant_of=(macros or {}).get)
    after = {n.id for n in cfg.nodes if n.ast is not None and b"after()" in (n.ast.text or b"")}
    body = {n.id for n in cfg.nodes if n.ast is not None and b"body()" in (n.ast.text or b"")}
    seen, todo = set(), [cfg.entry]
    while todo:
        node = todo.pop()
        if node in seen or node in body:
            continue
        seen.add(node)
        todo.extend(target for target, _ in cfg.nodes[node].succ)
    return bool(seen & after)


@pytest.mark.parametrize(
    ("loop", "skips"),
    [
        ("for (i = 0; i < 3; i++)", False),
        ("for (int i = 0; i < 3; i++)", False),
        ("for (i = 0; 3 > i; i++)", False),
        ("for (i = 2; i >= 0; i--)", False),
        ("for (i = 0; i != N; i++)", False),
        ("for (i = 0; i < n; i++)", True),
        ("for (i = 0; i < M; i++)", True),  # not the file's: a header's, maybe 0
        ("for (i = 3; i < 3; i++)", True),
        ("for (i = 0; i < 3 && ok(); i++)", True),
        ("for (i = j; i < 3; i++)", True),
        ("for (i += 0; i < 3; i++)", True),
    ],
)
def test_first_test(loop: str, skips: bool) -> None:
    code = f"void f(int n, int j)\n{{\n\tint i;\n\t{loop} {{\n\t\tbody();\n\t}}\n\tafter();\n}}\n"
    assert _skips_body(code, {"N": 4}) is skips


def test_integer_macros_of_the_file() -> None:
    text = (
        "#define RETRIES\t3 /* why */\n#define MASK (0x10UL)\n#define TWICE 1\n#define TWICE 2\n"
        "#define GONE 4\n#undef GONE\n#define EXPR (1 << 2)\n"
    )
    assert file_integer_macros(text) == {"RETRIES": 3, "MASK": 16}
