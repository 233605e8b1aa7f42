"""Conditional groups decided by the file's own #define/#undef (normalise_decide.py)."""

from __future__ import annotations

import pytest

from patchlint.source import parse_c
from patchlint.source.normalise import normalise
from patchlint.source.normalise_decide import DEAD_GROUP, NO_ARM, decide_conditionals
from patchlint.source.normalise_mask import mask


def _decisions(text: str) -> list[int | None]:
    """The decision of every opening directive, in order (None: undecided)."""
    _, directives = mask(text)
    decided = decide_conditionals(text, directives)
    return [
        decided.get(start) for name, start, _, _ in directives if name in ("if", "ifdef", "ifndef")
    ]


@pytest.mark.parametrize(
    ("head", "condition", "expected"),
    [
        ("#define X\n", "#ifdef X", 0),
        ("#define X\n", "#ifndef X", NO_ARM),
        ("#define X\n", "#if ! defined(X)", NO_ARM),
        ("#define X 0\n", "#if X", NO_ARM),
        ("#define X 2\n", "#if X > 1 && defined X", 0),
        ("#define X 0x10UL\n", "#if X == 16", 0),
        ("#undef X\n", "#ifdef X", NO_ARM),
        ("", "#if 0", NO_ARM),
        ("", "#if 1 || SOMETHING_ELSE", 0),
        ("", "#if 0 && SOMETHING_ELSE", NO_ARM),
        # Unknown: names from headers, configuration, function-like macros, shifts.
        ("", "#ifdef X", None),
        ("#define CONFIG_X 1\n", "#if CONFIG_X", None),
        ("#define CONFIG_X\n", "#ifdef CONFIG_X", None),
        ("", "#if IS_ENABLED(CONFIG_X)", None),
        ("#define X 1\n", "#if X << 1", None),
        ("#define X 1\n", "#if X || SOMETHING_ELSE", 0),
        ("#define X(a) a\n", "#if X", None),
        ("#define X(a) a\n", "#ifdef X", 0),
        ("#undef X\n#include <x.h>\n", "#ifdef X", None),
        ("#define X\n#include <x.h>\n", "#ifdef X", 0),
        ("#define X /* a comment */ 3\n", "#if X == 3 /* why */", 0),
    ],
)
def test_condition(head: str, condition: str, expected: int | None) -> None:
    text = head + condition + "\nint a;\n#endif\n"
    assert _decisions(text)[-1] == expected


def test_definitions_under_other_conditionals_do_not_count() -> None:
    text = (
        "#ifdef CONFIG_Y\n#define X\n#endif\n"
        "#ifdef X\nint a;\n#endif\n"
        "#ifdef CONFIG_Y\n#define Z\n#ifdef Z\nint b;\n#endif\n#endif\n"
    )
    # The second #ifdef Z sits in the same arm as its #define: decided.
    assert _decisions(text) == [None, None, None, 0]


def test_else_chains_and_nested_dead_groups() -> None:
    text = (
        "#define LEVEL 2\n"
        "#if LEVEL == 1\nint one;\n#ifdef CONFIG_Z\nint z;\n#endif\n"
        "#elif LEVEL == 2\nint two;\n#else\nint other;\n#endif\n"
        "#if LEVEL == 1\n#define X\n#endif\n#ifdef X\nint x;\n#endif\n"
    )
    assert _decisions(text) == [1, DEAD_GROUP, NO_ARM, None]
    out = normalise(text).text
    assert len(out) == len(text)
    assert "int two;" in out
    assert "int one;" not in out and "int z;" not in out and "int other;" not in out
    # A definition in a dead arm does not define the name (a header still may).
    assert "int x;" in out


def test_an_undecided_arm_before_makes_the_chain_unknown() -> None:
    text = "#define X\n#if SOMETHING\nint a;\n#elif defined(X)\nint b;\n#endif\n"
    assert _decisions(text) == [None]


def test_dead_functions_leave_the_parse_and_offsets_stay() -> None:
    text = (
        "#define FINAL\n"
        "void f(int *p)\n{\n#ifndef FINAL\n\tif (*p) {\n\t\tg(p);\n#else\n\tif (*p) {\n#endif\n"
        "\t\th(p);\n\t}\n}\n"
    )
    normalised = normalise(text)
    assert len(normalised.text) == len(text)
    assert "g(p)" not in normalised.text
    tree = parse_c(text)
    assert not tree.tree.root_node.has_error


def test_a_compiled_first_arm_stands_alone_and_an_empty_group_keeps_its_lines() -> None:
    text = (
        "#define ONE\nint f(void)\n{\n#if defined(ONE)\n\treturn 1;\n#elif defined(TWO)\n"
        "\treturn 2;\n#endif\n}\nstatic DEF_QCMD(h)\n"
        "#if 0\nint g(void)\n{\n\treturn 3;\n}\n#endif\n"
    )
    out = normalise(text).text
    assert len(out) == len(text)
    assert "#elif" not in out and "return 2" not in out and "return 1" in out
    # No arm compiled after a macro without `;`: the empty group stays (it ends it).
    assert "#if 0" in out and "return 3" not in out
