"""The tree as patch N of a series sees it: the base tree with patches 1..N-1 applied.

The state is an overlay (path -> text after the patches so far); every stage of patch
N reads files through a ``SeriesView`` of it (``pipeline/series_view.py``): the rules'
tree-wide lookups (callers, definitions), the analysis of other files, and the
simulation. A function that patch 1/2 adds to file B is therefore defined for 2/2
even when 2/2 touches only file A. The view is a thin layer over one long-lived
``FunctionIndex`` of the base tree, so the tree-wide searches done for one patch serve
every later one; only the files the series changed are read from the overlay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from patchlint.source import AppliedFile, AppliedPatch

# path -> text after the patches so far, or None where they deleted the file.
Overlay = Mapping[str, "str | None"]


def advance(state: Overlay, applied: AppliedPatch) -> dict[str, str | None]:
    """The series state after ``applied`` (a patch applied on top of ``state``).

    Files of the patch that did not apply leave the state as it was, as they do in
    ``apply_series``: later patches see what the earlier ones really produced.
    """
    after = dict(state)
    for file in applied.files:
        if not file.ok:
            continue
        old = file.old_path or file.path
        if file.state == "deleted":
            after[old] = None
            continue
        after[file.path] = file.post
        if old != file.path:
            after[old] = None
    return after


def carried_files(state: Overlay, touched: Iterable[AppliedFile]) -> list[AppliedFile]:
    """Files the earlier patches changed and this one does not, as unchanged
    AppliedFiles: handed to the simulator with the patch's own files so that both its
    before and after views read them (and their #includes) in the series state."""
    own = set()
    for file in touched:
        own.add(file.path)
        own.add(file.old_path or file.path)
    return [
        AppliedFile(path, path, "applied", pre=text, post=text, pre_source="series")
        for path, text in sorted(state.items())
        if text is not None and path not in own
    ]
