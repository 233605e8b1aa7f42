"""Which functions a patch touches, in the pre-image and in the post-image.

Line numbers come from the hunks, shifted by where each hunk really applied (offset
and fuzz), so they point at the real pre/post images.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchlint.patch import FilePatch
    from patchlint.source import HunkResult, SourceFile


@dataclass
class TouchedLines:
    pre: set[int] = field(default_factory=set)
    post: set[int] = field(default_factory=set)


def touched_lines(file_patch: FilePatch, hunk_results: Iterable[HunkResult] | None) -> TouchedLines:
    """Removed lines (pre), added lines (post), and insertion points of pure additions."""
    results = list(hunk_results or [])
    touched = TouchedLines()
    for position, hunk in enumerate(file_patch.hunks):
        shift = 0
        if position < len(results):
            shift = results[position].offset
        pre_shift = shift
        post_shift = shift
        previous_old = None
        for line in hunk.lines:
            if line.kind == "-" and line.old_line is not None:
                touched.pre.add(line.old_line + pre_shift)
            elif line.kind == "+" and line.new_line is not None:
                touched.post.add(line.new_line + post_shift)
                if previous_old is not None:
                    # An insertion changes the function around it in the pre-image too.
                    touched.pre.add(previous_old + pre_shift)
            if line.old_line is not None:
                previous_old = line.old_line
    return touched


def functions_at(source: SourceFile, lines: Iterable[int]) -> set[str]:
    names: set[str] = set()
    for line in lines:
        function = source.function_at_line(line)
        if function is not None:
            names.add(function.name)
    return names
