"""Wiring of the stages: ``run_check`` joins mail → patch → source → rules → simulate.

Public entry: ``CheckOptions``, ``run_check(messages, options, inputs, progress)
-> CheckResult``, ``Progress``; the series view of the tree (``SeriesView``) that patch N
of a series is checked against.
"""

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
from patchlint.pipeline.series_state import Overlay, SeriesView, advance, carried_files

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
