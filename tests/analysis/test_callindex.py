"""The call index answers per function and per name exactly as the whole-file query."""

from __future__ import annotations

import pytest

import patchlint.analysis.callindex as callindex
from patchlint.analysis.callindex import CallIndex
from patchlint.source import parse_c

SOURCE = """
static int helper(int x) { return x + 1; }
#define WRAP(x) helper(x)
static void spin(void)
{
	asm volatile("nop");
	helper(helper(2));
}
int user(int a)
{
	int helpers = 0;  /* helper is spelled here but not called */
	if (a)
		return helper(a) + WRAP(a);
	spin();
	return helpers;
}
"""


def _spans(calls: list[tuple[str, object]]) -> list[tuple[str, int]]:
    return [(name, node.start_byte) for name, node in calls]  # type: ignore[attr-defined]


@pytest.mark.parametrize("limit", [40, 1])
def test_per_function_and_per_name_match_the_whole_file(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(callindex, "_MAX_SPELLINGS", limit)  # 1: the whole file answers
    source = parse_c(SOURCE, "kernel/example.c")
    whole = CallIndex(source)
    by_name = whole.by_name()
    assert [n.start_byte for n in by_name["helper"]] == sorted(
        n.start_byte for n in by_name["helper"]
    )
    for fn in source.functions:
        alone = CallIndex(source)
        assert _spans(alone.calls_in(fn.start_byte, fn.end_byte)) == _spans(
            whole.calls_in(fn.start_byte, fn.end_byte)
        )
        assert alone.first_asm(fn.start_byte, fn.end_byte) == whole.first_asm(
            fn.start_byte, fn.end_byte
        )
    spin = source.function("spin")
    assert spin is not None and whole.first_asm(spin.start_byte, spin.end_byte) is not None
    for name in ("helper", "spin", "WRAP", "helpers", "absent"):
        found = CallIndex(source).calls_of(name)
        assert [n.start_byte for n in found] == [n.start_byte for n in by_name.get(name, [])]
    # Three calls: the #define body is not parsed as code, "helpers" is a variable.
    assert len(by_name["helper"]) == 3 and "helpers" not in by_name
