"""The mask: code with comments, literals and preprocessor directives blanked.

Every pass of the normaliser matches against the mask so that nothing inside
a comment, a string or a ``#define`` body is ever taken for code.  String
literals keep their quotes (``"abc"`` masks to ``"   "``) because some repairs
need to know that a string stood somewhere (``KERN_ERR PFX "text"``).
"""

from __future__ import annotations

import re

from .normalise_preproc import Directive
from .normalise_scan import blank

__all__ = ["SIMPLE_RUN", "mask"]

# The name given to a run of one-line #define/#undef/#include lines in the directives.
SIMPLE_RUN = "simple-run"

# Comments, string and character literals, and preprocessor directive lines
# (with continuations).  The leading "\n" of the directive branch keeps a
# literal first character so `re` can skip ahead quickly; the text is scanned
# with a "\n" prepended for that reason.  No named groups at the top level:
# `re` then sees the branches' first characters and skips ahead in C, which
# makes this scan several times faster.
# A run of one-line #define/#undef/#include directives without block comments
# is one token (group 3): register headers hold tens of thousands of them and
# nothing but blanking is ever needed for them.
_SIMPLE_DIRECTIVE = (
    r"[ \t]*\#[ \t]*(?:define|undef|include)(?!\w)[^\n\\/]*(?:/(?!\*)[^\n\\/]*)*(?=\n)"
)
_TOKEN = re.compile(
    r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|/\*.*|//[^\n]*"
    r"|\"(?:[^\"\\\n]+|\\.)*\"?|'(?:[^'\\\n]+|\\.)*'?"
    r"|\n(" + _SIMPLE_DIRECTIVE + r"(?:\n" + _SIMPLE_DIRECTIVE + r")*)"
    r"|\n[ \t]*\#[ \t]*(\w*)((?:[^\n/\\]+|\\\r?\n|"
    r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|//[^\n]*|/|\\)*)",
    re.S,
)


def mask(text: str) -> tuple[str, list[Directive]]:
    """Text with comments, literals and directive lines blanked, plus the directives
    (runs of one-line ``#define``/``#undef``/``#include`` lines as one ``SIMPLE_RUN``).

    The mask is pure ASCII with one character per original character, so it
    can be turned into bytes whose indices are character offsets.
    """
    pieces: list[str] = []
    directives: list[Directive] = []
    pos = 0
    for match in _TOKEN.finditer("\n" + text):
        # Offsets are shifted by the prepended "\n"; a directive match starts
        # at the newline before it, which itself stays in the text.
        start, end = match.span()
        end -= 1
        directive = match.group(2)
        if directive is None and match.group(1) is None:
            start -= 1
        pieces.append(text[pos:start])
        segment = text[start:end]
        quote = segment[0]
        if quote in "\"'":
            # Keep the quotes: "a literal stood here" is information.
            closed = len(segment) > 1 and segment[-1] == quote
            inner = segment[1:-1] if closed else segment[1:]
            pieces.append(quote + blank(inner) + (quote if closed else ""))
        else:
            pieces.append(blank(segment))
        pos = end
        if directive is not None:
            directives.append((directive, start, end, match.group(3)))
        elif match.group(1) is not None:
            directives.append((SIMPLE_RUN, start, end, ""))
    pieces.append(text[pos:])
    masked = "".join(pieces)
    if not masked.isascii():
        masked = masked.encode("ascii", "replace").decode("ascii")
    return masked, directives
