"""Patch-only mode: reconstruct what the hunks show of the pre- and post-image.

Without a tree (or when a file does not apply) all we have is the hunks. Their lines are
laid out at their real line numbers (blank lines in between), so findings still point at
real lines. Only functions whose whole definition lies inside the hunks are analysed:
a body seen partially hides the locks taken above the hunk, and guessing there would
produce false positives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from patchlint.patch import FilePatch
    from patchlint.source import SourceFile

Side = Literal["pre", "post"]


def sparse_image(file_patch: FilePatch, side: Side) -> str:
    """The pre ('-') or post ('+') side of the hunks, each line at its own line number."""
    placed: dict[int, str] = {}
    for hunk in file_patch.hunks:
        for line in hunk.lines:
            number = line.old_line if side == "pre" else line.new_line
            if number is None:
                continue
            if (
                line.kind == " "
                or (line.kind == "-" and side == "pre")
                or (line.kind == "+" and side == "post")
            ):
                placed[number] = line.text
    if not placed:
        return ""
    last = max(placed)
    return "\n".join(placed.get(number, "") for number in range(1, last + 1)) + "\n"


def complete_functions(source: SourceFile, file_patch: FilePatch, side: Side) -> set[str]:
    """Functions whose whole definition is visible in the hunks and parses cleanly."""
    covered: set[int] = set()
    for hunk in file_patch.hunks:
        for line in hunk.lines:
            number = line.old_line if side == "pre" else line.new_line
            if number is not None and (
                line.kind == " " or line.kind == ("-" if side == "pre" else "+")
            ):
                covered.add(number)
    names: set[str] = set()
    for function in source.functions:
        if function.has_errors:
            continue
        span = range(function.start_line, function.end_line + 1)
        if all(number in covered for number in span):
            names.add(function.name)
    return names
