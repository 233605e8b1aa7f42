"""C integer literals as the compiler reads them.

Python's ``int(text, 0)`` refuses C's octal (``0600``, ``0000001``: a leading zero
means base 8 in C) and does not know the ``u``/``l`` suffixes; kernel headers use both
(file modes, register masks), so every stage that reads a constant goes through here.
"""

from __future__ import annotations

import re

_LITERAL = re.compile(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)[uUlL]*$")


def c_integer(text: str) -> int | None:
    """The value of a C integer literal (decimal, hex, octal, binary, with any
    ``u``/``l`` suffixes), or None when ``text`` is not one (``09``, ``1.5``)."""
    match = _LITERAL.match(text.strip())
    if match is None:
        return None
    digits = match.group(1)
    if digits[:2] in ("0x", "0X"):
        return int(digits[2:], 16)
    if digits[:2] in ("0b", "0B"):
        return int(digits[2:], 2)
    if len(digits) > 1 and digits[0] == "0":
        return int(digits[1:], 8)
    return int(digits)
