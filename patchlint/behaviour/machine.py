"""State of one run of one version along one path: frames, memory access, pointers.

The expression, call and statement mixins build on this base; the explorer
decides every branch whose condition the path does not already fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tree_sitter import Node

from patchlint.source import SourceFile

from . import smt
from .ctype import (
    LONG,
    AnyType,
    ArrayType,
    FloatType,
    IntType,
    PointerType,
    RecordDef,
    RecordType,
    field_path,
    type_key,
)
from .declarations import Unsupported
from .inputs import Inputs
from .memory import Memory
from .smt import BitVecRef, BoolRef
from .symbols import Symbols
from .trace import CallEvent, LockHeld
from .values import (
    INT_OID,
    LOCAL_BASE,
    NULL_OID,
    AggV,
    IntV,
    PtrV,
    Value,
)

# Bounds of one run (the explorer's budget bounds the whole exploration).
MAX_DEPTH = 6
MAX_AGGREGATE_CELLS = 256


class Decider(Protocol):
    def decide(self, cond: BoolRef, where: str) -> bool: ...

    def decide_loop(self, cond: BoolRef, where: str, bound_reached: bool) -> bool: ...

    def assume(self, cond: BoolRef) -> None: ...

    def tick(self) -> None: ...


class Fault(Exception):  # noqa: N818 - the C program's crash, observed
    """The path ends in a crash: NULL dereference, division by zero, BUG()."""


class PathCut(Exception):  # noqa: N818
    """The path leaves the bounds (loop unrolling, depth): exploration is incomplete."""


class ControlSignal(Exception):  # noqa: N818
    pass


class BreakSignal(ControlSignal):
    pass


class ContinueSignal(ControlSignal):
    pass


class ReturnSignal(ControlSignal):
    def __init__(self, value: Value | None) -> None:
        super().__init__()
        self.value = value


class GotoSignal(ControlSignal):
    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


@dataclass
class Var:
    name: str
    ctype: AnyType
    value: Value | None = None  # a register variable
    obj: PtrV | None = None  # a variable that lives in memory (address taken, aggregate)


@dataclass
class MacroArg:
    node: Node
    frame: Frame


@dataclass
class Frame:
    function: str
    symbols: Symbols
    return_type: AnyType
    scopes: list[dict[str, Var]] = field(default_factory=lambda: [{}])
    macro_args: dict[str, MacroArg] = field(default_factory=dict)
    address_taken: frozenset[str] = frozenset()
    # Cleanups (guard(), __free()) to run when a block scope closes.
    cleanups: list[list[tuple[str, tuple[Value, ...], int]]] = field(default_factory=lambda: [[]])
    # The file the function's text comes from (for the front end's construct table).
    source: SourceFile | None = None

    def lookup(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            found = scope.get(name)
            if found is not None:
                return found
        return None


@dataclass
class VarRef:
    var: Var


@dataclass(frozen=True)
class Member:
    """A member reached through a pointer: where it is and how it is stored."""

    ptr: PtrV
    bitfield: int | None = None
    # A member of a union of plain scalars: the union's storage is one cell of this
    # many bits and the member is its low bits (x86-64 is little endian).
    union_bits: int | None = None


@dataclass
class MemRef:
    ptr: PtrV  # points at the lvalue; ptr.ctype.target is the lvalue's type
    name: str
    bitfield: int | None = None
    union_bits: int | None = None


LValue = VarRef | MemRef


class RunBase:
    """Shared state and memory access; see Interpreter for the whole machine."""

    def __init__(
        self,
        version: str,
        inputs: Inputs,
        symbols: Symbols,
        decider: Decider,
        loop_bound: int,
    ) -> None:
        self.version = version
        self.inputs = inputs
        self.symbols = symbols
        self.decider = decider
        self.loop_bound = loop_bound
        self.memory = Memory(inputs, version)
        self.frames: list[Frame] = []
        self.events: list[CallEvent] = []
        self.logs: list[CallEvent] = []
        self.locks: list[LockHeld] = []
        self.cut_helpers: list[str] = []
        self.next_local = LOCAL_BASE
        self.local_types: dict[int, AnyType] = {}
        self.union_members: dict[str, str] = {}
        self.notes: list[str] = []
        # Macros being expanded (not expanded again inside themselves) and whether a
        # header constant is being expanded (its function-like macros expand too).
        self.expanding: list[str] = []
        self.header_constant_depth = 0
        # Object-id terms this path has dereferenced: neither NULL nor an error pointer.
        self.valid_objects: set[int] = set()

    # -- hooks the mixins implement -------------------------------------------
    def eval(self, node: Node) -> Value:
        raise NotImplementedError

    def lvalue(self, node: Node) -> LValue:
        raise NotImplementedError

    def exec_statement(self, node: Node) -> None:
        raise NotImplementedError

    # -- frames ----------------------------------------------------------------
    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def tick(self) -> None:
        self.decider.tick()

    def branch(self, cond: BoolRef, node: Node) -> bool:
        return self.decider.decide(smt.simplify_bool(cond), _where(node))

    # -- objects ----------------------------------------------------------------
    def new_local_object(self, ctype: AnyType, name: str) -> PtrV:
        oid = self.next_local
        self.next_local += 1
        self.local_types[oid] = ctype
        zero = smt.bv_val(0, 32)
        return PtrV(smt.bv_val(oid, 32), zero, "", zero, PointerType(ctype), name, type_key(ctype))

    def global_object(self, name: str, ctype: AnyType) -> PtrV:
        """The object of a global; for an array, a pointer to its first element."""
        oid = self.inputs.global_oid(name)
        zero = smt.bv_val(0, 32)
        if isinstance(ctype, ArrayType):
            elem = ctype.elem
            return PtrV(
                smt.bv_val(oid, 32), zero, "", zero, PointerType(elem), name, type_key(elem)
            )
        return PtrV(smt.bv_val(oid, 32), zero, "", zero, PointerType(ctype), name, type_key(ctype))

    # -- pointers ------------------------------------------------------------------
    def check_deref(self, ptr: PtrV, node: Node) -> None:
        oid = smt.const_int(ptr.oid)
        if oid is not None and oid >= 2:
            return
        what = ptr.origin or "a pointer"
        if oid == NULL_OID:
            raise Fault(f"NULL pointer dereference ({what})")
        if oid == INT_OID:
            raise Fault(f"dereference of an integer or error pointer ({what})")
        key = self.inputs.term_key(ptr.oid)
        if key in self.valid_objects:
            return  # this path already went through a dereference of it
        if self.branch(smt.eq(ptr.oid, smt.bv_val(NULL_OID, 32)), node):
            raise Fault(f"NULL pointer dereference ({what})")
        if self.branch(smt.eq(ptr.oid, smt.bv_val(INT_OID, 32)), node):
            raise Fault(f"dereference of an error pointer ({what})")
        self.valid_objects.add(key)

    def member(self, ptr: PtrV, name: str, node: Node) -> Member:
        """Member ``name`` of the record ``ptr`` points to."""
        target = ptr.ctype.target
        if not isinstance(target, RecordType):
            raise Unsupported(f"member access .{name} on {target}")
        chain = field_path(self.frame.symbols, target, name)
        if chain is None:
            raise Unsupported(f"member {name} of {target} (definition not found)")
        prefix = ptr.path or type_key(target)
        if ptr.path == "" and ptr.base and ptr.base not in (type_key(target), "void"):
            raise Unsupported(f"access to {target} through a pointer to {ptr.base}")
        path = prefix
        union_bits: int | None = None
        for position, (record, member) in enumerate(chain):
            last = position == len(chain) - 1
            if record.union:
                width = _scalar_union_bits(record) if last else None
                if width is not None:
                    union_bits = width
                    break
                self._check_union(path, member.name or "<anonymous>")
            if member.name is not None:
                path = f"{path}.{member.name}"
        last_member = chain[-1][1]
        pointer = PtrV(
            ptr.oid, ptr.elem, path, ptr.sub, PointerType(last_member.ctype), ptr.origin, ptr.base
        )
        return Member(pointer, last_member.bits, union_bits)

    def _check_union(self, path: str, member: str) -> None:
        seen = self.union_members.setdefault(path, member)
        if seen != member:
            raise Unsupported(
                f"union members {seen} and {member} of {path} used together (type punning)"
            )

    def decay(self, ptr: PtrV) -> PtrV:
        """An array lvalue used as a value: a pointer to its first element.

        Array variables are held by their first element already (``declare``), so an
        array reached through memory is always embedded: a member, or an element of an
        array of arrays, whose elements are indexed by ``sub``."""
        target = ptr.ctype.target
        assert isinstance(target, ArrayType)
        if "[]" in ptr.path:
            raise Unsupported("arrays nested in arrays of a member (two index levels)")
        return PtrV(
            ptr.oid,
            ptr.elem,
            f"{ptr.path}[]",
            smt.bv_val(0, 32),
            PointerType(target.elem),
            ptr.origin,
            ptr.base,
        )

    def pointer_add(self, ptr: PtrV, offset: BitVecRef) -> PtrV:
        delta = smt.resize(offset, 32, True)
        if ptr.path == "":
            return PtrV(
                ptr.oid,
                smt.simplify_bv(ptr.elem + delta),
                "",
                ptr.sub,
                ptr.ctype,
                ptr.origin,
                ptr.base,
            )
        if ptr.path.endswith("[]"):
            return PtrV(
                ptr.oid,
                ptr.elem,
                ptr.path,
                smt.simplify_bv(ptr.sub + delta),
                ptr.ctype,
                ptr.origin,
                ptr.base,
            )
        raise Unsupported("pointer arithmetic on a pointer to a struct member")

    def pointer_index(self, ptr: PtrV) -> BitVecRef:
        return ptr.elem if ptr.path == "" else ptr.sub

    # -- loads and stores ------------------------------------------------------------
    def note_escape(self, value: Value) -> None:
        if isinstance(value, PtrV):
            oid = smt.const_int(value.oid)
            if oid is not None and oid >= LOCAL_BASE:
                self.memory.escaped.add(oid)
        elif isinstance(value, AggV):
            for _, member in value.members:
                self.note_escape(member)

    # -- variables -------------------------------------------------------------------
    def declare(self, name: str, ctype: AnyType, in_memory: bool) -> Var:
        var = Var(name, ctype)
        if isinstance(ctype, ArrayType):
            var.obj = self.new_local_object(ctype.elem, name)
        elif in_memory or isinstance(ctype, RecordType):
            var.obj = self.new_local_object(ctype, name)
        self.frame.scopes[-1][name] = var
        return var

    def lock_note(self, held: LockHeld) -> None:
        self.locks.append(held)


def _scalar_union_bits(record: RecordDef) -> int | None:
    """The width of a union whose members are all integers or floats, else None."""
    widths = []
    for member in record.fields:
        if member.bits is not None or not isinstance(member.ctype, IntType | FloatType):
            return None
        widths.append(member.ctype.bits)
    return max(widths) if widths else None


def _where(node: Node) -> str:
    return f"line {node.start_point[0] + 1}"


def ptrdiff(a: PtrV, b: PtrV, run: RunBase) -> IntV:
    diff = smt.sign_ext(32, run.pointer_index(a)) - smt.sign_ext(32, run.pointer_index(b))
    return IntV(smt.simplify_bv(diff), LONG)


__all__ = [
    "MAX_DEPTH",
    "BreakSignal",
    "ContinueSignal",
    "ControlSignal",
    "Decider",
    "Fault",
    "Frame",
    "GotoSignal",
    "LValue",
    "MacroArg",
    "MemRef",
    "Member",
    "PathCut",
    "ReturnSignal",
    "RunBase",
    "Var",
    "VarRef",
    "ptrdiff",
]
