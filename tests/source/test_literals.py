"""C integer literals: octal file modes and suffixed masks crashed a whole-tree scan
(`int('0600', 0)` refuses C's octal) in fs/smb/client/inode.c and
drivers/thunderbolt/debugfs.c."""

from __future__ import annotations

import pytest

from patchlint.analysis.conditions import constant_truth
from patchlint.analysis.guards import flag_values
from patchlint.source import c_integer


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("0600", 0o600),
        ("0000001", 1),
        ("0x1fUL", 31),
        ("0XFF", 255),
        ("0b101", 5),
        ("10u", 10),
        ("077LL", 0o77),
    ],
)
def test_c_integer_reads_what_the_compiler_reads(text: str, value: int) -> None:
    assert c_integer(text) == value


@pytest.mark.parametrize("text", ["09", "1.5", "abc", "", "0x"])
def test_not_a_literal_is_none(text: str) -> None:
    assert c_integer(text) is None


def test_octal_defines_and_conditions() -> None:
    values = flag_values("#define MODE 0600\n#define ONE 0000001\n#define BAD 09\n")
    assert values == {"MODE": 0o600, "ONE": 1}
    assert constant_truth("0000001") is True
    assert constant_truth("0000") is False
    assert constant_truth("-1") is True
