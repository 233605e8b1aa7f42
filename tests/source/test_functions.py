"""Function index: enclosing functions, calls, tree-wide lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.source.functions import (
    FunctionIndex,
    callers_in_file,
    calls_in,
    enclosing_functions,
)
from patchlint.source.parse import parse_c

SRC = """static int helper(int x)
{
	return x + 1;
}

int user(int y)
{
	for_each_cpu(c, mask)
		helper(c);
	return helper(y) + other(y);
}
"""


def test_enclosing_and_calls() -> None:
    parsed = parse_c(SRC, "a.c")
    assert enclosing_functions(parsed, [1, 3, 5, 9, 11]) == {
        1: "helper",
        3: "helper",
        5: None,
        9: "user",
        11: "user",
    }
    user = parsed.function("user")
    assert [(c.name, c.line) for c in calls_in(parsed, user)] == [
        ("helper", 9),
        ("helper", 10),
        ("other", 10),
    ]
    callers = callers_in_file(parsed, "helper")
    assert [(fn.name, site.line) for fn, site in callers] == [("user", 9), ("user", 10)]


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "kernel").mkdir()
    (tmp_path / "include").mkdir()
    (tmp_path / "kernel" / "a.c").write_text(SRC)
    (tmp_path / "kernel" / "b.c").write_text("void b(void)\n{\n\thelper(1);\n}\n")
    (tmp_path / "include" / "h.h").write_text(
        "static inline int helper(int x) { return x; }\nint user(int y);\n"
    )
    return tmp_path


def test_index_definitions_and_callers(tmp_path: Path) -> None:
    index = FunctionIndex(_tree(tmp_path))
    defs = index.definitions("helper")
    assert [path for path, _ in defs] == ["kernel/a.c", "include/h.h"]
    assert [(p, f.name, s.line) for p, f, s in index.callers("helper")] == [
        ("kernel/a.c", "user", 9),
        ("kernel/a.c", "user", 10),
        ("kernel/b.c", "b", 3),
    ]
    assert index.source("kernel/a.c") is index.source("kernel/a.c")
    assert index.source("missing.c") is None


def test_index_reader_overlay(tmp_path: Path) -> None:
    root = _tree(tmp_path)

    class Overlay:
        """A patched-file overlay; ``paths()`` lets the index see new mentions."""

        files = {"kernel/b.c": "void b(void)\n{\n\tuser(2);\n}\n"}

        def __call__(self, path: str) -> str | None:
            return self.files.get(path)

        def paths(self) -> list[str]:
            return list(self.files)

    index = FunctionIndex(root, reader=Overlay())
    assert [f.name for _, f, _ in index.callers("user")] == ["b"]


@pytest.mark.kernel
def test_kernel_index(kernel_tree) -> None:
    index = FunctionIndex(kernel_tree)
    defs = index.definitions("freeze_task")
    assert defs and defs[0][0] == "kernel/freezer.c"
    callers = {fn.name for _, fn, _ in index.callers("freeze_task")}
    assert "try_to_freeze_tasks" in callers
