"""Bad or unsupported input: a verdict (unknown, naming the construct), never a crash
and never a guessed verdict."""

from __future__ import annotations

import random
import zlib

import pytest
from behaviour_pairs import load_suite

from patchlint.behaviour import Bounds, Version, compare_versions
from patchlint.source import parse_c


def verdict(before: str, after: str, name: str = "f") -> tuple[str, str]:
    pre, post = parse_c(before, "t.c"), parse_c(after, "t.c")
    old_fn, new_fn = pre.function(name), post.function(name)
    assert old_fn is not None and new_fn is not None
    result = compare_versions(Version(pre, old_fn), Version(post, new_fn), "t.c", Bounds(seconds=5))
    return result.verdict, result.reason


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('asm volatile("nop");\n\treturn x;', "inline assembly"),
        (
            "struct task_struct *t;\n\tfor_each_process(t)\n\t\tx++;\n\treturn x;",
            "for_each_process",
        ),
        ("return ({ int y; y; });", "read of y before it is set"),
        ("return __builtin_choose_expr(1, x, 2) + _Generic(x, int: 1);", "unsupported"),
        ("long double d = x;\n\treturn d;", "long double"),
    ],
)
def test_unsupported_constructs_are_unknown_and_named(body: str, named: str) -> None:
    before = f"int f(int x)\n{{\n\t{body}\n}}\n"
    changed = body.replace("return", "x += 0;\n\treturn", 1)
    after = f"int f(int x)\n{{\n\t{changed}\n}}\n"
    got, reason = verdict(before, after)
    assert got == "unknown"
    assert named in reason


def test_loop_beyond_the_bound_is_never_equivalent() -> None:
    before = "int f(int n)\n{\n\tint s = 0;\n\twhile (n-- > 0)\n\t\ts += 2;\n\treturn s;\n}\n"
    after = "int f(int n)\n{\n\treturn n > 0 ? 2 * n : 0;\n}\n"
    got, reason = verdict(before, after)
    assert got == "unknown"
    assert "bound" in reason


def _mutations(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    tokens = text.split(" ")
    out = []
    for _ in range(3):
        cut = tokens[:]
        index = rng.randrange(len(cut))
        choice = rng.choice(["drop", "dup", "swap", "garbage"])
        if choice == "drop":
            del cut[index]
        elif choice == "dup":
            cut.insert(index, cut[index])
        elif choice == "swap" and index + 1 < len(cut):
            cut[index], cut[index + 1] = cut[index + 1], cut[index]
        else:
            cut.insert(
                index, rng.choice(["(", "}", "*", "->", "[0]", "goto x;", "#if 0", "'", '"'])
            )
        out.append(" ".join(cut))
    return out


@pytest.mark.parametrize("pair", load_suite("plain")[::7], ids=lambda p: p.name)
def test_mangled_code_never_crashes(pair) -> None:  # type: ignore[no-untyped-def]
    before = pair.version("before")
    for seed, mangled in enumerate(
        _mutations(pair.version("after"), zlib.crc32(pair.name.encode()))
    ):
        post = parse_c(mangled, "t.c")
        new_fn = post.function(pair.function)
        if new_fn is None:
            continue
        pre = parse_c(before, "t.c")
        old_fn = pre.function(pair.function)
        assert old_fn is not None
        result = compare_versions(
            Version(pre, old_fn), Version(post, new_fn), "t.c", Bounds(seconds=3)
        )
        assert result.verdict in ("equivalent", "diverges", "unknown"), seed
        assert "internal error" not in result.reason, (seed, result.reason, mangled)


BRANCHY = """\
int f(const int *a, int n, int k)
{
	int i, s = 0;

	for (i = 0; i < n; i++) {
		if (a[i] > k)
			s += a[i] * %s;
		else if (a[i] < -k)
			s -= a[i] / 3;
	}
	return s;
}
"""


@pytest.mark.parametrize("seconds", [0.2, 0.5])
def test_the_time_budget_holds(seconds: float) -> None:
    """Thousands of paths: the comparison stops at its budget (plus the quarter kept
    for a witness) and says so, never `equivalent`."""
    pre, post = parse_c(BRANCHY % "2", "t.c"), parse_c(BRANCHY % "(1 + 1)", "t.c")
    old_fn, new_fn = pre.function("f"), post.function("f")
    assert old_fn is not None and new_fn is not None
    result = compare_versions(
        Version(pre, old_fn), Version(post, new_fn), "t.c", Bounds(seconds=seconds)
    )
    assert result.verdict == "unknown" and not result.explored.complete
    assert "budget" in result.reason or "bound" in result.reason, result.reason
    assert result.seconds <= seconds * 1.25 + 0.15, result.seconds
