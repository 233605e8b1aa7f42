"""Constant and #if resolution against small headers."""

from __future__ import annotations

from patchlint.simulate.constants import ConstantResolver
from patchlint.simulate.preproc import eval_condition, is_active

HEADER = """
#ifndef _X_H
#define _X_H
#define A_BIT 3
#define A_FLAG (1UL << A_BIT)
#define BOTH (A_FLAG | BIT(5))
#ifdef __i386__
# define WIDTH 32
#else
# define WIDTH 64
#endif
enum colours { RED, GREEN = 4, BLUE, MIXED = RED | BLUE };
#endif
"""


def test_defines_enums_and_configured_branches():
    files = {"include/x.h": HEADER}
    resolver = ConstantResolver(files.get, ["include/x.h"], frozenset({"__x86_64__"}))
    assert resolver.lookup("A_FLAG") == 8
    assert resolver.lookup("BOTH") == 40
    assert resolver.lookup("WIDTH") == 64
    colours = [resolver.lookup(name) for name in ("GREEN", "BLUE", "MIXED")]
    assert colours == [4, 5, 5]
    assert resolver.lookup("MISSING") is None
    first, second = resolver.value("MISSING"), resolver.value("OTHER_MISSING")
    assert first != second and first & second == 0
    assert set(resolver.symbolic) == {"MISSING", "OTHER_MISSING"}


def test_conditions():
    defined = frozenset({"CONFIG_A"})
    assert eval_condition("defined(CONFIG_A) && !defined(CONFIG_B)", defined)
    assert not eval_condition("IS_ENABLED(CONFIG_B) || 0", defined)
    assert eval_condition("CONFIG_A", defined)
    text = "#ifdef CONFIG_A\nint a;\n#else\nint b;\n#endif\n"
    assert is_active(text, 2, defined) and not is_active(text, 4, defined)
