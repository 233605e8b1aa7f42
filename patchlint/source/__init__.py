"""Source stage: tree access, in-memory patch application, kernel-C parsing.

Public entry points are re-exported here; later stages import from
``patchlint.source`` only. The re-exports load on first use (PEP 562), so a run whose
patches touch no C never loads tree-sitter: one `patchlint check` process per patch,
as b4 runs checkpatch, starts in a fraction of checkpatch.pl's time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .apply import AppliedFile, AppliedPatch, HunkResult, apply_hunks, apply_series
    from .functions import CallSite, FunctionIndex, callers_in_file, calls_in, enclosing_functions
    from .language import C_LANGUAGE, parse_bytes
    from .literals import c_integer
    from .normalise import Construct, Dialect, Normalised, normalise, normalise_and_parse
    from .parse import FunctionDef, SourceFile, parse_c
    from .protocols import FunctionLookup, OverlayReader, SourceReader, SourceTree
    from .stats import ParseFigures, SideFigures, format_stats_text, parse_stats
    from .tree import (
        DirectoryTree,
        GitRevisionTree,
        Tree,
        TreeError,
        UnsafePathError,
        find_kernel_tree,
        open_tree,
    )
    from .verdict import DEFAULT_MAX_NESTING, IssueKind, ParseIssue, ParseVerdict

__all__ = [
    "AppliedFile",
    "AppliedPatch",
    "C_LANGUAGE",
    "CallSite",
    "Construct",
    "DEFAULT_MAX_NESTING",
    "Dialect",
    "DirectoryTree",
    "FunctionDef",
    "FunctionIndex",
    "FunctionLookup",
    "GitRevisionTree",
    "HunkResult",
    "IssueKind",
    "Normalised",
    "OverlayReader",
    "ParseFigures",
    "ParseIssue",
    "ParseVerdict",
    "SideFigures",
    "SourceFile",
    "SourceReader",
    "SourceTree",
    "Tree",
    "TreeError",
    "UnsafePathError",
    "apply_hunks",
    "apply_series",
    "callers_in_file",
    "c_integer",
    "calls_in",
    "enclosing_functions",
    "find_kernel_tree",
    "format_stats_text",
    "normalise",
    "normalise_and_parse",
    "open_tree",
    "parse_bytes",
    "parse_c",
    "parse_stats",
]


_MODULES = {
    "AppliedFile": "apply",
    "AppliedPatch": "apply",
    "HunkResult": "apply",
    "apply_hunks": "apply",
    "apply_series": "apply",
    "CallSite": "functions",
    "FunctionIndex": "functions",
    "callers_in_file": "functions",
    "calls_in": "functions",
    "enclosing_functions": "functions",
    "C_LANGUAGE": "language",
    "c_integer": "literals",
    "parse_bytes": "language",
    "Construct": "normalise",
    "Dialect": "normalise",
    "Normalised": "normalise",
    "normalise_and_parse": "normalise",
    "FunctionDef": "parse",
    "SourceFile": "parse",
    "parse_c": "parse",
    "FunctionLookup": "protocols",
    "OverlayReader": "protocols",
    "SourceReader": "protocols",
    "SourceTree": "protocols",
    "ParseFigures": "stats",
    "SideFigures": "stats",
    "format_stats_text": "stats",
    "parse_stats": "stats",
    "DirectoryTree": "tree",
    "GitRevisionTree": "tree",
    "Tree": "tree",
    "TreeError": "tree",
    "UnsafePathError": "tree",
    "find_kernel_tree": "tree",
    "open_tree": "tree",
    "DEFAULT_MAX_NESTING": "verdict",
    "IssueKind": "verdict",
    "ParseIssue": "verdict",
    "ParseVerdict": "verdict",
}


# The function `normalise` shares its name with its module: importing the module
# anywhere would make the package attribute the module, so the function is bound now
# (the normaliser does not load tree-sitter).
from .normalise import normalise  # noqa: E402


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
