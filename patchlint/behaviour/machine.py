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
    FunctionType,
    IntType,
    PointerType,
    RecordType,
    UnknownType,
    VoidType,
    FloatType,
    RecordDef,
    field_path,
    is_scalar,
    type_key,
)
from .declarations import Unsupported
from .inputs import Inputs
from .memory import Memory, is_local
from .smt import BitVecRef, BoolRef
from .symbols import Symbols
from .trace import CallEvent, LockHeld
from .values import (
    INT_OID,
    FuncV,
    OpaqueV,
    LOCAL_BASE,
    NULL_OID,
    AggV,
    IntV,
    PtrV,
    Value,
    convert,
    encode,
    from_storage,
    storage_bits,
    to_storage,
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
            return PtrV(smt.bv_val(oid, 32), zero, "", zero, PointerType(elem), name, type_key(elem))
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
        if self.branch(smt.eq(ptr.oid, smt.bv_val(NULL_OID, 32)), node):
            raise Fault(f"NULL pointer dereference ({what})")
        if self.branch(smt.eq(ptr.oid, smt.bv_val(INT_OID, 32)), node):
            raise Fault(f"dereference of an error pointer ({what})")

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
        pointer = PtrV(ptr.oid, ptr.elem, path, ptr.sub, PointerType(last_member.ctype), ptr.origin, ptr.base)
        return Member(pointer, last_member.bits, union_bits)

    def _check_union(self, path: str, member: str) -> None:
        seen = self.union_members.setdefault(path, member)
        if seen != member:
            raise Unsupported(f"union members {seen} and {member} of {path} used together (type punning)")

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
                ptr.oid, smt.simplify_bv(ptr.elem + delta), "", ptr.sub, ptr.ctype, ptr.origin, ptr.base
            )
        if ptr.path.endswith("[]"):
            return PtrV(
                ptr.oid, ptr.elem, ptr.path, smt.simplify_bv(ptr.sub + delta), ptr.ctype, ptr.origin, ptr.base
            )
        raise Unsupported("pointer arithmetic on a pointer to a struct member")

    def pointer_index(self, ptr: PtrV) -> BitVecRef:
        return ptr.elem if ptr.path == "" else ptr.sub

    # -- loads and stores ------------------------------------------------------------
    def load(self, ref: LValue, node: Node) -> Value:
        if isinstance(ref, VarRef):
            if ref.var.obj is not None:
                if isinstance(ref.var.ctype, ArrayType):
                    return ref.var.obj
                return self.load(MemRef(ref.var.obj, ref.var.name), node)
            if ref.var.value is None:
                raise Unsupported(f"read of {ref.var.name} before it is set")
            return ref.var.value
        target = ref.ptr.ctype.target
        if isinstance(target, ArrayType):
            return self.decay(ref.ptr)
        if isinstance(target, FunctionType):
            raise Unsupported("a function read through a pointer")
        self.check_deref(ref.ptr, node)
        return self._load_cells(ref.ptr, ref.name, ref.bitfield, node, 0, ref.union_bits)

    def _load_cells(
        self, ptr: PtrV, name: str, bitfield: int | None, node: Node, depth: int, union_bits: int | None = None
    ) -> Value:
        target = ptr.ctype.target
        if isinstance(target, RecordType):
            return self._load_record(ptr, name, node, depth)
        if isinstance(target, ArrayType):
            return self._load_array(ptr, name, node, depth)
        if isinstance(target, VoidType):
            raise Unsupported("a read through a void pointer")
        if isinstance(target, UnknownType) and target.name.startswith(("struct ", "union ")):
            raise Unsupported(f"a value of {target}, whose definition was not found")
        if ptr.path == "" and ptr.base and ptr.base not in (type_key(target), "void"):
            if not _compatible_view(ptr.base, target):
                raise Unsupported(f"{ptr.base} object read as {target} through a cast pointer")
        location = encode(ptr)
        bits = storage_bits(target)
        if union_bits is not None:
            whole = self.memory.read(location, union_bits)
            if not is_local(location):
                self._note_input(name, location, union_bits, target, whole)
            raw = smt.simplify_bv(smt.extract(bits - 1, 0, whole)) if bits < union_bits else whole
            return from_storage(raw, target, name)
        raw = self.memory.read(location, bits)
        if not is_local(location):
            self._note_input(name, location, bits, target, raw)
        if isinstance(target, PointerType):
            return self._load_pointer(raw, target, name)
        value = from_storage(raw, target, name)
        if bitfield is not None and isinstance(value, IntV):
            value = _bitfield_value(value, bitfield)
        return value

    def _note_input(self, name: str, location: BitVecRef, bits: int, ctype: AnyType, raw: BitVecRef) -> None:
        initial = smt.select(self.inputs.memory("", bits), location)
        self.inputs.record(name, initial, ctype, "memory")
        for entry in reversed(self.memory.log):
            from .memory import Havoc

            if isinstance(entry, Havoc):
                after = smt.select(self.inputs.memory(entry.epoch, bits), location)
                self.inputs.record(f"{name} after {entry.epoch}", after, ctype, "memory")
                break

    def _load_pointer(self, raw: BitVecRef, target: PointerType, name: str) -> Value:
        try:
            return from_storage(raw, target, name)
        except Unsupported:
            if not _is_input_term(raw):
                raise
        pointer, constraint = self.inputs.constrain_pointer(raw, target, name)
        self.decider.assume(constraint)
        return PtrV(pointer.oid, pointer.elem, "", pointer.sub, target, name, type_key(target.target))

    def _load_record(self, ptr: PtrV, name: str, node: Node, depth: int) -> Value:
        target = ptr.ctype.target
        assert isinstance(target, RecordType)
        definition = self.frame.symbols.record(target)
        if definition is None:
            raise Unsupported(f"copy of {target}, whose definition was not found")
        if depth > 8:
            raise Unsupported(f"copy of deeply nested {target}")
        members: list[tuple[str, Value]] = []
        for index, member in enumerate(definition.fields):
            if member.name is None:
                if target.union:
                    raise Unsupported(f"copy of {target} with an anonymous member")
                inner_ptr = PtrV(ptr.oid, ptr.elem, ptr.path, ptr.sub, PointerType(member.ctype), ptr.origin, ptr.base)
                inner = self._load_cells(inner_ptr, name, None, node, depth + 1)
                members.append((f"<anonymous {index}>", inner))
                continue
            if target.union and index > 0:
                break
            found = self.member(ptr, member.name, node)
            members.append(
                (member.name, self._load_cells(found.ptr, f"{name}.{member.name}", found.bitfield, node, depth + 1, found.union_bits))
            )
        return AggV(target, tuple(members))

    def _load_array(self, ptr: PtrV, name: str, node: Node, depth: int) -> Value:
        target = ptr.ctype.target
        assert isinstance(target, ArrayType)
        if target.length is None or target.length > MAX_AGGREGATE_CELLS:
            raise Unsupported(f"copy of array {target} (length unknown or above {MAX_AGGREGATE_CELLS})")
        first = self.decay(ptr)
        members = []
        for i in range(target.length):
            cell = self.pointer_add(first, smt.bv_val(i, 32))
            members.append((str(i), self._load_cells(cell, f"{name}[{i}]", None, node, depth + 1)))
        return AggV(target, tuple(members))

    def materialise(self, value: Value, target: AnyType) -> Value:
        """A value of unknown type used as a pointer: an input pointer derived from it
        (NULL, an error pointer or an object), the same in both versions."""
        if isinstance(value, FuncV) and isinstance(target, PointerType):
            # A function passed as a callback: a pointer to that function.
            zero = smt.bv_val(0, 32)
            oid = smt.bv_val(self.inputs.function_oid(value.name), 32)
            return PtrV(oid, zero, "", zero, target, value.name, "function")
        if isinstance(value, OpaqueV) and value.key:
            pointer_type = target if isinstance(target, PointerType) else None
            if isinstance(target, ArrayType):
                pointer_type = PointerType(target.elem)
            if pointer_type is not None:
                pointer, constraint = self.inputs.pointer_input(f"{value.key}:pointer", value.what, pointer_type, "call")
                self.decider.assume(constraint)
                return pointer
        return value

    def store(self, ref: LValue, value: Value, node: Node) -> Value:
        """Assign ``value`` (converted to the lvalue's type); returns the stored value."""
        value = self.materialise(value, ref.var.ctype if isinstance(ref, VarRef) else ref.ptr.ctype.target)
        if isinstance(ref, VarRef):
            if ref.var.obj is not None:
                if isinstance(ref.var.ctype, ArrayType):
                    raise Unsupported(f"assignment to array {ref.var.name}")
                return self.store(MemRef(ref.var.obj, ref.var.name), value, node)
            converted = convert(value, ref.var.ctype)
            ref.var.value = converted
            return converted
        target = ref.ptr.ctype.target
        self.check_deref(ref.ptr, node)
        converted = convert(value, target)
        self._store_cells(ref.ptr, converted, ref.bitfield, node, ref.name, ref.union_bits)
        return converted

    def _store_cells(
        self,
        ptr: PtrV,
        value: Value,
        bitfield: int | None,
        node: Node,
        name: str = "",
        union_bits: int | None = None,
    ) -> None:
        target = ptr.ctype.target
        if isinstance(value, AggV):
            if isinstance(target, RecordType):
                for member_name, member_value in value.members:
                    if member_name.startswith("<anonymous"):
                        raise Unsupported(f"assignment of {target} with an anonymous member")
                    found = self.member(ptr, member_name, node)
                    self._store_cells(found.ptr, member_value, found.bitfield, node, f"{name}.{member_name}", found.union_bits)
                return
            if isinstance(target, ArrayType):
                first = self.decay(ptr)
                for index_text, member_value in value.members:
                    cell = self.pointer_add(first, smt.bv_val(int(index_text), 32))
                    self._store_cells(cell, member_value, None, node, f"{name}[{index_text}]")
                return
            raise Unsupported(f"aggregate stored into {target}")
        if not is_scalar(target) and not isinstance(target, UnknownType):
            raise Unsupported(f"store of a scalar into {target}")
        location = encode(ptr)
        if isinstance(value, PtrV) and not is_local(location):
            self.note_escape(value)
        raw = to_storage(value, target)
        if bitfield is not None and isinstance(value, IntV):
            raw = _bitfield_value(value, bitfield).expr
        if union_bits is not None:
            bits = storage_bits(target)
            if bits < union_bits:
                # Writing a narrower member keeps the union's other bytes.
                old = self.memory.read(location, union_bits)
                raw = smt.simplify_bv(smt.concat(smt.extract(union_bits - 1, bits, old), raw))
            self.memory.write(location, union_bits, raw, name, IntType(union_bits, False, 4))
            return
        self.memory.write(location, storage_bits(target), raw, name, target)

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


def _compatible_view(base: str, target: AnyType) -> bool:
    # Signedness changes keep the bits (char vs unsigned char over one buffer).
    if isinstance(target, IntType):
        sizes = {"char": 8, "unsigned char": 8, "_Bool": 8, "short": 16, "unsigned short": 16,
                 "int": 32, "unsigned int": 32, "long": 64, "unsigned long": 64,
                 "long long": 64, "unsigned long long": 64}
        return sizes.get(base) == target.bits
    return False


def _bitfield_value(value: IntV, width: int) -> IntV:
    bits = value.ctype.bits
    if width >= bits:
        return value
    low = smt.extract(width - 1, 0, value.expr)
    widened = smt.sign_ext(bits - width, low) if value.ctype.signed else smt.zero_ext(bits - width, low)
    return IntV(smt.simplify_bv(widened), value.ctype)


def _is_input_term(raw: BitVecRef) -> bool:
    """A select from one of the shared memory arrays: a value the function did not write."""
    text = raw.decl().name()
    if text != "select":
        return False
    array_name = raw.arg(0).decl().name()
    return array_name.startswith("mem") and "uninit" not in array_name


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
