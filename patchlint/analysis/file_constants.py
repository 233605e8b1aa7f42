"""Integer macros of a file: `#define IWL_MEI_PLDR_NUM_RETRIES 3`.

What a loop bound or a flag stands for, when the file itself says so: a name the
file defines more than once with different values, or ``#undef``s, is left out, and
macros of headers are never known here (they may differ by configuration).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from patchlint.source import c_integer

if TYPE_CHECKING:
    from patchlint.analysis.facts import FileFacts

__all__ = ["integer_macros"]

MEMO_KEY = "integer-macros"
_INTEGER_DEFINE = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+\(?[ \t]*((?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)"
    r"[ \t]*\)?[ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?$",
    re.M,
)
_UNDEF = re.compile(r"^[ \t]*#[ \t]*undef[ \t]+([A-Za-z_]\w*)", re.M)


def integer_macros(ff: FileFacts) -> dict[str, int]:
    """The file's macros defined as one integer literal (cached per file)."""
    found = ff.memo.get(MEMO_KEY)
    if isinstance(found, dict):
        return found
    values = file_integer_macros(ff.source.text)
    ff.memo[MEMO_KEY] = values
    return values


def file_integer_macros(text: str) -> dict[str, int]:
    if "define" not in text:
        return {}
    values: dict[str, int] = {}
    conflicting: set[str] = set(_UNDEF.findall(text)) if "undef" in text else set()
    for name, literal in _INTEGER_DEFINE.findall(text):
        value = c_integer(literal)
        if value is None or values.get(name, value) != value:
            conflicting.add(name)
            continue
        values[name] = value
    for name in conflicting:
        values.pop(name, None)
    return values
