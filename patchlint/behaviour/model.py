"""The engine's results: one verdict per changed function, with its witness.

These are the typed public results of ``patchlint.behaviour``; ``to_dict`` gives
the JSON shape documented in patchlint/report/check-output.schema.json
(``patches[].behaviour[]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["equivalent", "diverges", "unknown"]
Observable = Literal["return", "call", "write", "lock", "fault", "log"]
InputValue = int | float | str
JSONValue = int | float | str | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


@dataclass(frozen=True)
class Observation:
    """What one version did on the witness inputs."""

    returns: InputValue | None
    calls: tuple[str, ...] = ()
    writes: tuple[tuple[str, InputValue], ...] = ()
    locks: tuple[str, ...] = ()
    fault: str | None = None
    logs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "return": self.returns,
            "calls": list(self.calls),
            "writes": {name: value for name, value in self.writes},
            "locks": list(self.locks),
            "fault": self.fault,
            "logs": list(self.logs),
        }


@dataclass(frozen=True)
class Witness:
    inputs: tuple[tuple[str, InputValue], ...]
    before: Observation
    after: Observation
    first_difference: str
    observable: Observable

    @property
    def output_only(self) -> bool:
        return self.observable == "log"

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "inputs": {name: value for name, value in self.inputs},
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "first_difference": self.first_difference,
            "observable": self.observable,
        }


@dataclass(frozen=True)
class Explored:
    paths: int
    complete: bool
    paths_before: int = 0
    paths_after: int = 0
    limits: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "paths": self.paths,
            "complete": self.complete,
            "paths_before": self.paths_before,
            "paths_after": self.paths_after,
            "limits": list(self.limits),
        }


@dataclass(frozen=True)
class FunctionVerdict:
    function: str
    file: str
    verdict: Verdict
    witness: Witness | None
    explored: Explored
    reason: str
    seconds: float = 0.0
    # For a renamed function: its name before the patch.
    old_name: str | None = None
    notes: tuple[str, ...] = field(default=())
    line: int | None = None  # where the function starts after the patch

    def to_dict(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {
            "function": self.function,
            "file": self.file,
            "verdict": self.verdict,
            "witness": self.witness.to_dict() if self.witness is not None else None,
            "explored": self.explored.to_dict(),
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }
        if self.line is not None:
            data["line"] = self.line
        if self.old_name is not None:
            data["old_name"] = self.old_name
        if self.notes:
            data["notes"] = list(self.notes)
        return data
