"""Source stage: tree access, in-memory patch application, kernel-C parsing.

Public entry points are re-exported here; later stages import from
``patchlint.source`` only.
"""

from .apply import AppliedFile, AppliedPatch, HunkResult, apply_hunks, apply_series
from .functions import CallSite, FunctionIndex, callers_in_file, calls_in, enclosing_functions
from .language import C_LANGUAGE
from .normalise import Construct, Dialect, Normalised, normalise
from .parse import FunctionDef, SourceFile, parse_c
from .stats import format_stats_text, parse_stats
from .tree import (
    DirectoryTree,
    GitRevisionTree,
    Tree,
    TreeError,
    UnsafePathError,
    find_kernel_tree,
    open_tree,
)

__all__ = [
    "C_LANGUAGE",
    "AppliedFile",
    "AppliedPatch",
    "CallSite",
    "Construct",
    "Dialect",
    "DirectoryTree",
    "FunctionDef",
    "FunctionIndex",
    "GitRevisionTree",
    "HunkResult",
    "Normalised",
    "SourceFile",
    "Tree",
    "TreeError",
    "UnsafePathError",
    "apply_hunks",
    "apply_series",
    "callers_in_file",
    "calls_in",
    "enclosing_functions",
    "find_kernel_tree",
    "format_stats_text",
    "normalise",
    "open_tree",
    "parse_c",
    "parse_stats",
]
