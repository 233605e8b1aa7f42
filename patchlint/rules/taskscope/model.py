"""Data types of the task-scope inference: where task state lives and what code does to it.

Everything here is plain data that survives a JSON round trip, so the knowledge
inferred from one tree is computed once and reloaded from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["thread", "group", "mm"]
Op = Literal["read", "set", "clear"]
JSON = dict[str, object]


@dataclass(frozen=True)
class Where:
    """A place in the tree, for evidence lines."""

    file: str
    line: int
    function: str = ""

    def text(self) -> str:
        place = f"{self.file}:{self.line}"
        return f"{self.function}() {place}" if self.function else place


@dataclass(frozen=True)
class FieldInfo:
    name: str
    line: int
    target: str | None  # the struct the member is (or points to), if any


@dataclass
class StructInfo:
    """A scope-defining struct as declared in the tree."""

    name: str
    scope: Scope
    file: str
    line: int
    fields: dict[str, FieldInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class Loc:
    """An lvalue reached from a base by member steps.

    ``base`` is ``$N`` (parameter N of a summarised function), ``current``, or the
    spelling of a local or global.  ``chain[i]`` is the struct type of the
    location after ``i`` steps (``chain[0]`` the base's), None when unknown.
    """

    base: str
    path: tuple[str, ...] = ()
    chain: tuple[str | None, ...] = (None,)

    @property
    def struct(self) -> str | None:
        return self.chain[-1]

    @property
    def holder(self) -> str | None:
        """The struct whose member the last step reads."""
        return self.chain[-2] if len(self.chain) >= 2 else None

    @property
    def member(self) -> str | None:
        return self.path[-1] if self.path else None

    def step(self, member: str, holder: str | None, target: str | None) -> Loc:
        chain = self.chain[:-1] + (holder or self.chain[-1], target)
        return Loc(self.base, self.path + (member,), chain)

    def retyped(self, struct: str | None) -> Loc:
        return Loc(self.base, self.path, self.chain[:-1] + (struct,))

    def spelled(self) -> str:
        return "->".join((self.base,) + self.path)


@dataclass(frozen=True)
class Access:
    """A read or write of one member (and, for flag words, one bit) at a location."""

    op: Op
    loc: Loc  # its path ends with the member
    bit: str | None = None  # a constant, or "$N" for a bit given by parameter N
    cond: bool = False  # the value decides a branch or is returned
    pos: int = 0  # byte offset in the function, for ordering
    line: int = 0
    via: str = ""  # the callee this access was reached through, if any
    plain: bool = False  # the bit came from a plain ``word = CONSTANT`` (maybe not a flag)
    addr: bool = False  # only its address was handed to a call the reader cannot see


@dataclass(frozen=True)
class Select:
    """A parameter compared with a constant picks between a thread and a group location
    (``pending = type != PIDTYPE_PID ? &t->signal->shared_pending : &t->pending``)."""

    param: int
    constant: str
    when_equal: Scope
    otherwise: Scope
    where: Where


@dataclass(frozen=True)
class Wake:
    """The function makes a task run: the root primitive reached on ``loc``'s task."""

    loc: Loc
    via: tuple[str, ...]  # call chain down to the root
    select: Select | None = None  # still open: decided by a parameter
    scope: Scope = "thread"  # whom it reaches once the selection is made
    pos: int = 0
    line: int = 0
    decided: str = ""  # the constant that made the selection ("PIDTYPE_PID")
    selector: str = ""  # the constant the selection compares with


@dataclass(frozen=True)
class WalkWake:
    """A thread walk over ``group``'s threads making each cursor run through ``action``."""

    walk: str
    group: Loc
    action: str
    line: int = 0


@dataclass
class Summary:
    """What one function or function-like macro does to task state, its callees included."""

    name: str
    file: str
    line: int
    params: tuple[str, ...]
    param_structs: tuple[str | None, ...]
    accesses: tuple[Access, ...] = ()
    wakes: tuple[Wake, ...] = ()
    walk_wakes: tuple[WalkWake, ...] = ()
    selects: tuple[Select, ...] = ()
    returns: Loc | None = None
    returns_struct: str | None = None
    calls: tuple[str, ...] = ()
    macro: bool = False
    value: bool = False  # returns a value (a predicate candidate)
    static: bool = False
    breadth: int = 0  # distinct facts it touches: 1 for an accessor or a predicate of one
    # Task parameters whose own per-thread state it reads or writes (directly or in
    # callees): it works on that thread.
    thread_params: tuple[int, ...] = ()
    # Task parameters it replaces by their process link (``p = p->group_leader``): it
    # treats them as processes.
    as_process: tuple[int, ...] = ()

    def where(self) -> Where:
        return Where(self.file, self.line, self.name)


@dataclass(frozen=True)
class Fact:
    """One piece of task state: a member, or one bit of a flag word."""

    scope: Scope
    holder: str
    member: str
    bit: str | None = None

    @property
    def name(self) -> str:
        return self.bit if self.bit else f"{self.holder}->{self.member}"

    def describe(self) -> str:
        if self.bit:
            return f"{self.bit} (a {self.holder}->{self.member} bit)"
        return f"{self.holder}->{self.member}"


@dataclass(frozen=True)
class Evidence:
    """Why two facts answer the same question, or why a fact has a role."""

    kind: str  # "written-together", "sequence", "tested-together", "tested-before-set", ...
    text: str
    where: Where


@dataclass
class Counterpart:
    thread: Fact
    group: Fact
    evidence: list[Evidence]
    replacement: str  # group-wide spelling with "{task}"
    predicate: str = ""  # the group predicate named in replacement, if any

    @property
    def score(self) -> tuple[int, int]:
        return (len({e.kind for e in self.evidence}), len(self.evidence))


@dataclass
class ThreadFact:
    """A per-thread fact that has a group counterpart: how the rules must treat it."""

    fact: Fact
    declared: Where | None
    counterpart: Counterpart
    marker: bool  # set on one chosen thread as a mark of a group event
    marker_evidence: Evidence | None
    writers: list[Where]  # the functions that set or clear it (its owners)
    clearers_on_current: list[str]  # a test guarding one of these is the owner pattern


@dataclass(frozen=True)
class Predicate:
    name: str
    param: int
    scope: Scope
    reads: tuple[str, ...]  # Fact names
    where: Where
    macro: bool = False
    param_struct: str | None = None
    direct: bool = True  # reads the state itself, not through another predicate


@dataclass(frozen=True)
class Action:
    """A call that makes one task (or, by pid type, its group) run."""

    name: str
    task_param: int
    via: tuple[str, ...]
    select: Select | None
    where: Where


@dataclass(frozen=True)
class GroupForm:
    """A function that applies ``action`` to every thread of its parameter's group."""

    name: str
    action: str
    param: int
    walk: str
    where: Where
