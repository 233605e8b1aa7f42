"""What one run of the interpreter is made of: frames, call records, control signals.

``Engine`` is the interface the interpreter's parts (expressions, statements,
iterators, primitives) use of each other; ``Interpreter`` implements it.  It is
split this way only to keep modules small and typed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import tree_sitter

from patchlint.simulate.world import Location, Obj, Slot, Stop, Value, World
from patchlint.source import FunctionDef, SourceFile

if TYPE_CHECKING:
    from patchlint.simulate.constants import ConstantResolver
    from patchlint.simulate.macros import MacroTable
    from patchlint.simulate.primitives import Primitives

Node: TypeAlias = tree_sitter.Node
Found: TypeAlias = "tuple[SourceFile, FunctionDef]"
# resolve(name, from_path) -> the definition a call from from_path runs, if any.
Resolve: TypeAlias = "Callable[[str, str | None], Found | None]"
# (kind, line, decision) for branches, (kind, callee) for calls.
PathStep: TypeAlias = "tuple[str, int, object] | tuple[str, str]"


def text_of(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def child(node: Node, name: str) -> Node:
    """The ``name`` field of a node; a stop (never a crash) when the parse lacks it."""
    found = node.child_by_field_name(name)
    if found is None:
        raise Stop(f"{node.type} without {name}", kind="unsupported")
    return found


def line_of(node: Node) -> int:
    return node.start_point[0] + 1


@dataclass
class CallRecord:
    """One executed call: what it was given, which way it went, what it returned."""

    function: str
    args: tuple[str, ...]
    line: int
    primitive: bool = False
    path: list[PathStep] = field(default_factory=list)
    children: list[CallRecord] = field(default_factory=list)
    result: str | None = None
    stopped: str | None = None

    def signature(self) -> str:
        return f"{self.function}({', '.join(self.args)})"


@dataclass
class TraceStep:
    function: str
    line: int
    what: str
    depth: int


@dataclass
class Frame:
    function: str
    src: SourceFile
    env: dict[str, Slot]
    types: dict[str, str]
    record: CallRecord
    scopes: list[list[Callable[[], None]]] = field(default_factory=list)
    # Extra files whose constants are visible (a macro body runs in its caller).
    context: list[str] = field(default_factory=list)


class Signal(Exception):  # noqa: N818 - non-local control flow of the C program
    pass


class Break(Signal):
    pass


class Continue(Signal):
    pass


class Return(Signal):
    def __init__(self, value: Value) -> None:
        super().__init__()
        self.value = value


class Goto(Signal):
    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


class Engine(ABC):
    """State and operations shared by the parts of the interpreter."""

    world: World
    primitives: Primitives
    constants: ConstantResolver
    macros: MacroTable | None
    resolve: Resolve
    parse_snippet: Callable[[str], Node]
    budget: int
    max_depth: int
    steps: int
    tracing: bool
    trace: list[TraceStep]
    frames: list[Frame]
    root: CallRecord

    # -- bookkeeping ------------------------------------------------------------
    def tick(self, frame: Frame | None = None) -> None:
        self.steps += 1
        if self.steps > self.budget:
            where = f" in {frame.function}" if frame else ""
            raise Stop(f"step budget of {self.budget} exhausted{where}", kind="budget")

    def note(self, frame: Frame, node: Node, what: str) -> None:
        if self.tracing:
            self.trace.append(TraceStep(frame.function, line_of(node), what, len(self.frames)))

    def branch(self, frame: Frame, node: Node, taken: object) -> None:
        frame.record.path.append(("branch", line_of(node), taken))
        self.note(frame, node, f"branch {taken}")

    # -- implemented by the expression and statement parts ------------------------
    @abstractmethod
    def eval(self, node: Node, frame: Frame) -> Value: ...

    @abstractmethod
    def lvalue(self, node: Node, frame: Frame) -> Location: ...

    @abstractmethod
    def store(self, loc: Location, value: Value, frame: Frame) -> None: ...

    @abstractmethod
    def deref_obj(self, value: Value, node: Node) -> Obj: ...

    @abstractmethod
    def exec_stmt(self, node: Node, frame: Frame) -> None: ...

    @abstractmethod
    def exec_block(self, node: Node, frame: Frame) -> None: ...

    @abstractmethod
    def loop_body(self, body: Node, frame: Frame) -> bool: ...

    @abstractmethod
    def statements_of(self, node: Node) -> list[Node]: ...

    @abstractmethod
    def lookup(self, name: str, frame: Frame) -> Value: ...

    @abstractmethod
    def address_of(self, node: Node, frame: Frame) -> Value: ...

    @abstractmethod
    def call(
        self,
        name: str,
        args: list[Value],
        caller: Frame | None,
        line: int = 0,
        from_path: str | None = None,
    ) -> Value: ...
