"""Protocols of the source stage: what a tree, an overlay and a function index offer.

Later stages type against these, so a tree seen through a series overlay (the
files patches 1..N-1 changed) or a view of the function index for patch N can
stand in for the plain ones without inheriting from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .functions import CallSite
    from .parse import FunctionDef, SourceFile

__all__ = ["FunctionLookup", "OverlayReader", "SourceReader", "SourceTree"]


class SourceReader(Protocol):
    """Reads a tree-relative path: its text, or None when there is no such file."""

    def __call__(self, path: str) -> str | None: ...


@runtime_checkable
class OverlayReader(Protocol):
    """A reader over changed files: ``paths()`` names the files it changes, so an
    index sees mentions of a name in them that the tree's own files lack."""

    def __call__(self, path: str) -> str | None: ...

    def paths(self) -> Iterable[str]: ...


class SourceTree(Protocol):
    """A read-only kernel tree (``Tree`` and its subclasses, or an overlay of one)."""

    root: Path

    def read(self, path: str) -> str | None: ...

    def exists(self, path: str) -> bool: ...


class FunctionLookup(Protocol):
    """Tree-wide function lookups (``FunctionIndex``, or a view of it for one patch)."""

    def source(self, path: str) -> SourceFile | None: ...

    def candidates(self, name: str) -> list[str]: ...

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]: ...

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]: ...
