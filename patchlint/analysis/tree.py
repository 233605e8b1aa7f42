"""Whole-tree scan hooks, per analysis unit (see patchlint.scan)."""

from __future__ import annotations

from patchlint.analysis import external
from patchlint.analysis.external import SleepExport
from patchlint.analysis.facts import file_facts
from patchlint.analysis.reporting import Unit


def defer_tree_questions(unit: Unit) -> None:
    """Questions about functions of other files wait for the scan's table."""
    external.defer_tree_questions(file_facts(unit))


def sleep_exports(unit: Unit) -> list[SleepExport]:
    """The unit's functions other files may call, with how they may sleep."""
    return external.sleep_exports(file_facts(unit))


def header_macros(unit: Unit) -> list[str]:
    """Function-like macros the unit defines, if it is a header."""
    return external.header_macros(file_facts(unit))
