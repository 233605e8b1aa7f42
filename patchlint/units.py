"""What a rule looks at: one typed unit per rule scope.

=========== ==================================== ==========================================
scope       unit                                 built by
=========== ==================================== ==========================================
function    :class:`AnalysisUnit` (one C image)  pipeline.analyse (check), scan (whole tree)
mail        :class:`patchlint.mail.Message`      pipeline (every patch)
series      :class:`SeriesUnit`                  pipeline (every series of the input)
behaviour   :class:`BehaviourUnit` (Protocol)    the behaviour engine, per changed function
=========== ==================================== ==========================================

This module sits between the stages (like ``findings``): the analysis stage reads an
``AnalysisUnit`` and the rules stage runs on it, so neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from patchlint.mail import Series, SeriesProblem
    from patchlint.source import CallSite, FunctionDef, SourceFile

T = TypeVar("T")

Scope = Literal["function", "mail", "series", "behaviour"]
# Where rules leave the reasons they could not analyse a unit (AnalysisUnit.not_analysed).
NOT_ANALYSED = "not-analysed"
SCOPES: tuple[Scope, ...] = ("function", "mail", "series", "behaviour")


class FunctionLookup(Protocol):
    """Tree-wide questions a C rule may ask (``patchlint.source.FunctionIndex``, or the
    series view of it, or a scan's batched index)."""

    def source(self, path: str) -> SourceFile | None: ...

    def definitions(self, name: str) -> Sequence[tuple[str, FunctionDef]]: ...

    def callers(self, name: str) -> Sequence[tuple[str, FunctionDef, CallSite]]: ...


@dataclass
class AnalysisUnit:
    """Everything a function-scope rule may look at for one file image."""

    source: SourceFile
    path: str
    # Restrict findings to these functions (the ones a patch touches); None means all.
    functions: set[str] | None = None
    # Tree-wide callers and definitions, seen with the earlier patches of the series
    # applied; None in patch-only mode and for fixtures.
    index: FunctionLookup | None = None
    # Facts computed once per unit and shared by its rules (``analysis.file_facts``).
    cache: dict[str, object] = field(default_factory=dict)

    def wants(self, function_name: str | None) -> bool:
        return self.functions is None or (function_name in self.functions)

    def not_analysed(self, reason: str) -> None:
        """A rule could not analyse this unit: the reason goes to the report as a note
        (``notes()``), never as a guessed finding."""
        reasons = self.cache.setdefault(NOT_ANALYSED, [])
        if isinstance(reasons, list) and reason not in reasons:
            reasons.append(reason)

    def notes(self) -> list[str]:
        reasons = self.cache.get(NOT_ANALYSED, [])
        return [str(r) for r in reasons] if isinstance(reasons, list) else []

    def cached(self, key: str, build: Callable[[], T]) -> T:
        """The fact stored under ``key``, built on first use: rules of one file image
        share it. Each key holds one type, chosen by whoever builds it."""
        if key not in self.cache:
            self.cache[key] = build()
        return cast(T, self.cache[key])


FunctionUnit = AnalysisUnit


@dataclass
class SeriesUnit:
    """One series of the input (or a lone patch's pseudo-series) and its problems."""

    key: str
    series: Series | None
    problems: list[SeriesProblem] = field(default_factory=list)


class BehaviourUnit(Protocol):
    """The behaviour engine's result for one changed function (differential execution).

    Placeholder contract: the ``behaviour`` package defines the concrete type and may
    add members; a behaviour-scope rule reads only what is declared here.
    """

    @property
    def path(self) -> str: ...

    @property
    def function(self) -> str: ...
