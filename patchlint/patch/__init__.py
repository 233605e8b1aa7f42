"""Diff parsing: :func:`parse_patch` turns diff text into files, hunks and errors."""

from .model import FilePatch, Hunk, HunkLine, Patch, PatchError
from .parse import parse_patch

__all__ = ["FilePatch", "Hunk", "HunkLine", "Patch", "PatchError", "parse_patch"]
