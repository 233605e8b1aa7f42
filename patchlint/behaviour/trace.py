"""What one path of one version did, as the comparison sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .memory import Memory
from .smt import BitVecRef, BoolRef
from .values import Value


@dataclass(frozen=True)
class LocalContent:
    """The cells of a local object whose address a call received, at the call."""

    cells: tuple[tuple[BitVecRef, int, BitVecRef], ...]  # (location in the object, bits, value)
    offset: tuple[BitVecRef, BitVecRef, str]  # where in the object the pointer points
    type_key: str


@dataclass(frozen=True)
class CallEvent:
    index: int  # position among the calls of its stream (calls or logs)
    callee: str  # the function's name; "" for a call through a pointer
    target: BitVecRef | None  # the pointer called through
    args: tuple[Value, ...]
    locals_passed: tuple[LocalContent | None, ...]
    memory_mark: int  # length of the memory log when the call was made
    line: int
    text: str  # the call as written (for reports)
    kind: str  # "call", "lock", "unlock", "log"


@dataclass(frozen=True)
class LockHeld:
    lock: str  # lock class from rules/kernel/locks.toml ("siglock", "rcu", ...)
    resource: Value | None
    line: int
    text: str


@dataclass
class PathOutcome:
    version: str
    constraints: list[BoolRef]
    events: list[CallEvent] = field(default_factory=list)
    logs: list[CallEvent] = field(default_factory=list)
    ret: Value | None = None
    fault: str | None = None
    memory: Memory | None = None
    locks: list[LockHeld] = field(default_factory=list)
    # Names of helpers that were called but not interpreted because of the depth bound.
    cut_helpers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
