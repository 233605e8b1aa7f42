"""Options every renderer receives (one type, so formats need no keyword soup)."""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.result import FailOn


@dataclass(frozen=True)
class RenderOptions:
    quiet: bool = False  # findings only
    fail_on: FailOn = "error"
    color: bool = False
    # checkpatch.pl's own flags, for the checkpatch format
    terse: bool = False
    emacs: bool = False
    show_types: bool = False
    no_summary: bool = False  # no "total:" line (b4 passes it)
    mailback: bool = False  # nothing for a clean patch
