"""Divergence search: every small world of a scenario's ranges, before and after the patch.

A scenario's ``[[range]]`` axes (thread counts, flag, freezer, PM and cgroup
states) span a product of worlds.  Each world is built and run on the before
view; worlds that break the scenario's ``assume`` condition (judged with the
unpatched tree's own code, e.g. "a frozen task is one the freezer wants frozen")
are left out as unreachable.  The others are run on the after view too, and
every world whose observation differs is reported: which tasks satisfy the
observation, the counters after every step and the invariants that fail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TypedDict

from patchlint.simulate.primitives import Primitives
from patchlint.simulate.resolve import Resolver
from patchlint.simulate.runner import RunOutcome, run_scenario
from patchlint.simulate.scenario import Scenario, ScenarioError


class ObservationSummary(TypedDict):
    holds: int
    total: int
    tasks: dict[str, bool | None]
    details: dict[str, str]
    counters: dict[str, list[int | None]]
    violated: list[str]
    stopped: str | None


class WorldSummary(TypedDict):
    world: dict[str, str]
    description: str
    before: ObservationSummary
    after: ObservationSummary


class SearchSummary(TypedDict):
    axes: dict[str, list[str]]
    differing_axes: dict[str, list[str]]
    worlds: int
    explored: int
    excluded: int
    unknown: int
    complete: bool
    seconds: float
    differing: list[WorldSummary]
    notes: list[str]
    excluded_examples: list[str]


@dataclass(frozen=True)
class WorldObservation:
    """What one run of one world showed, in a form two runs can be compared by."""

    holds: int
    total: int
    tasks: tuple[tuple[str, bool | None], ...]
    # The observation's terms per task ("running(t) = false, !freezing(t) = true").
    details: tuple[tuple[str, str], ...]
    counters: tuple[tuple[str, tuple[int | None, ...]], ...]
    violated: tuple[str, ...]
    stopped: str | None

    @classmethod
    def of(cls, run: RunOutcome) -> WorldObservation:
        return cls(
            holds=run.holds,
            total=run.total,
            tasks=tuple((t.task, t.holds) for t in run.per_task),
            details=tuple((t.task, t.details) for t in run.per_task),
            counters=tuple((c.name, tuple(c.values)) for c in run.counters),
            violated=tuple(v.text() for v in run.violated),
            stopped=run.stopped,
        )

    def same_as(self, other: WorldObservation) -> bool:
        return (self.tasks, self.counters, self.violated) == (
            other.tasks,
            other.counters,
            other.violated,
        )

    def text(self, explain: frozenset[str] = frozenset()) -> str:
        """``explain``: tasks whose terms are shown when the observation fails for them."""
        if self.stopped is not None:
            return f"unknown ({self.stopped})"
        holding = [task for task, holds in self.tasks if holds]
        parts = [f"{self.holds} of {self.total}" + (f" ({', '.join(holding)})" if holding else "")]
        failing = dict(self.details)
        parts.extend(
            f"{task}: {failing[task]}"
            for task, holds in self.tasks
            if task in explain and not holds
        )
        for name, values in self.counters:
            parts.append(f"{name} " + " -> ".join("?" if v is None else str(v) for v in values))
        parts.extend(f"{violation}" for violation in self.violated)
        return "; ".join(parts)

    def to_dict(self) -> ObservationSummary:
        return ObservationSummary(
            holds=self.holds,
            total=self.total,
            tasks=dict(self.tasks),
            details=dict(self.details),
            counters={name: list(values) for name, values in self.counters},
            violated=list(self.violated),
            stopped=self.stopped,
        )


@dataclass(frozen=True)
class WorldDifference:
    """A world where the observation differs before and after the patch."""

    world: tuple[tuple[str, str], ...]  # (axis, label) in axis order
    before: WorldObservation
    after: WorldObservation

    def description(self) -> str:
        return ", ".join(f"{axis}: {label}" for axis, label in self.world)

    def changed_tasks(self) -> frozenset[str]:
        return frozenset(
            task
            for (task, old), (_, new) in zip(self.before.tasks, self.after.tasks, strict=False)
            if old != new
        )

    def to_dict(self) -> WorldSummary:
        return WorldSummary(
            world=dict(self.world),
            description=self.description(),
            before=self.before.to_dict(),
            after=self.after.to_dict(),
        )


@dataclass
class SearchResult:
    """The exploration of one scenario's ranges."""

    axes: list[tuple[str, tuple[str, ...]]]
    worlds: int
    explored: int = 0
    excluded: int = 0
    unknown: int = 0
    differing: list[WorldDifference] = field(default_factory=list)
    complete: bool = True
    seconds: float = 0.0
    # Why the first few worlds were unknown, and the first excluded ones (so an
    # assumption can be checked by reading which worlds it leaves out).
    notes: list[str] = field(default_factory=list)
    excluded_examples: list[str] = field(default_factory=list)

    @staticmethod
    def add(into: list[str], description: dict[str, str], why: str) -> None:
        if len(into) < 5:
            world = ", ".join(f"{axis}: {label}" for axis, label in description.items())
            into.append(f"{world}: {why}")

    def summary(self) -> str:
        limit = "" if self.complete else f" (stopped at max_worlds; {self.worlds} in the ranges)"
        return (
            f"{self.explored} worlds explored{limit}, {self.excluded} excluded by the assumption,"
            f" {self.unknown} unknown, {len(self.differing)} differ"
        )

    def profile(self) -> list[tuple[str, list[str], list[str]]]:
        """Per axis: (name, values some differing world has, values none has)."""
        out = []
        for index, (name, labels) in enumerate(self.axes):
            seen = {d.world[index][1] for d in self.differing}
            out.append(
                (name, [v for v in labels if v in seen], [v for v in labels if v not in seen])
            )
        return out

    def profile_text(self) -> str:
        """The axes that tell differing worlds apart: "victim threads 2, 3, 4 (never 1)"."""
        if not self.differing:
            return ""
        parts = [
            f"{name} {', '.join(seen)} (never {', '.join(never)})"
            for name, seen, never in self.profile()
            if never
        ]
        return "; ".join(parts) or "every value of every axis"

    def to_dict(self) -> SearchSummary:
        return SearchSummary(
            axes={name: list(labels) for name, labels in self.axes},
            differing_axes={name: seen for name, seen, _ in self.profile()},
            worlds=self.worlds,
            explored=self.explored,
            excluded=self.excluded,
            unknown=self.unknown,
            complete=self.complete,
            seconds=round(self.seconds, 3),
            differing=[d.to_dict() for d in self.differing],
            notes=list(self.notes),
            excluded_examples=list(self.excluded_examples),
        )


def search_divergences(
    pre: Resolver, post: Resolver, scenario: Scenario, primitives: Primitives | None = None
) -> SearchResult:
    """Run every world of ``scenario``'s ranges before and after; keep those that differ."""
    prims = primitives or Primitives()
    start = time.perf_counter()
    result = SearchResult(
        axes=[(axis.name, axis.labels) for axis in scenario.ranges],
        worlds=scenario.world_count(),
    )
    for description, world in scenario.worlds():
        if result.explored >= scenario.max_worlds:
            result.complete = False
            break
        result.explored += 1
        if isinstance(world, ScenarioError):
            # A combination of axis values no scenario can have: unknown, with why.
            result.unknown += 1
            result.add(result.notes, description, str(world))
            continue
        before = run_scenario(pre, world, primitives=prims, check_assumption=True)
        if before.excluded is not None:
            result.excluded += 1
            result.add(result.excluded_examples, description, before.excluded)
            continue
        after = run_scenario(post, world, primitives=prims)
        if before.stopped is not None or after.stopped is not None:
            result.unknown += 1
            result.add(result.notes, description, str(before.stopped or after.stopped))
            continue
        old, new = WorldObservation.of(before), WorldObservation.of(after)
        if not old.same_as(new):
            result.differing.append(WorldDifference(tuple(description.items()), old, new))
    result.seconds = time.perf_counter() - start
    return result
