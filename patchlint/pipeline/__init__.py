"""Wiring of the stages: ``run_check`` joins mail → patch → source → rules → simulate.

Public entry: ``CheckOptions``, ``run_check(messages, options, inputs, progress)
-> CheckResult``, ``Progress``; the series view of the tree (``SeriesView``) that patch N
of a series is checked against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from patchlint.pipeline.check import (
    CheckOptions,
    LazyIndex,
    Progress,
    SeriesChecker,
    open_check_tree,
    run_check,
    series_units,
    series_work,
    simulate_in_series,
)
from patchlint.pipeline.series_state import Overlay, advance, carried_files

if TYPE_CHECKING:
    from patchlint.pipeline.series_view import SeriesView

__all__ = [
    "CheckOptions",
    "LazyIndex",
    "Overlay",
    "Progress",
    "SeriesChecker",
    "SeriesView",
    "advance",
    "carried_files",
    "open_check_tree",
    "run_check",
    "series_units",
    "series_work",
    "simulate_in_series",
]


def __getattr__(name: str) -> object:
    # SeriesView is a FunctionIndex: importing it loads tree-sitter, which a run on
    # mail alone must not pay for (PEP 562).
    if name == "SeriesView":
        from patchlint.pipeline.series_view import SeriesView

        return SeriesView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
