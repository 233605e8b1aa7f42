"""Calls are listed in source order: tree-sitter returns query captures in no stable
order, and callers, call chains and evidence are built from these lists."""

from __future__ import annotations

from patchlint.analysis.facts import FileFacts
from patchlint.source.parse import parse_c


def test_calls_by_name_are_in_source_order() -> None:
    callers = "\n".join(
        f"static void caller{i}(void)\n{{\n\tfirst(); helper({i}); other({i});\n}}\n"
        for i in range(200)
    )
    ff = FileFacts(parse_c("static void helper(int x)\n{\n}\n" + callers, "t.c"), "t.c")
    for name in ("helper", "first", "other"):
        starts = [node.start_byte for node in ff.calls_by_name()[name]]
        assert len(starts) == 200
        assert starts == sorted(starts)
