"""Loads and stores of C values through lvalues: scalars, records, arrays, bit-fields,
members of scalar unions, and the input naming that witnesses use."""

from __future__ import annotations

from tree_sitter import Node

from . import smt
from .ctype import (
    AnyType,
    ArrayType,
    FunctionType,
    IntType,
    PointerType,
    RecordType,
    UnknownType,
    VoidType,
    is_scalar,
    type_key,
)
from .declarations import Unsupported
from .machine import MAX_AGGREGATE_CELLS, LValue, MemRef, RunBase, VarRef
from .memory import Havoc, is_local
from .smt import BitVecRef
from .values import (
    AggV,
    FuncV,
    IntV,
    OpaqueV,
    PtrV,
    Value,
    convert,
    encode,
    from_storage,
    storage_bits,
    to_storage,
)


class AccessMixin(RunBase):
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
        self,
        ptr: PtrV,
        name: str,
        bitfield: int | None,
        node: Node,
        depth: int,
        union_bits: int | None = None,
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
            if isinstance(target, IntType) and target.rank == 0 and not target.is_enum:
                # A _Bool object holds 0 or 1 (other bytes are not values of the type).
                self.decider.assume(smt.ule(raw, smt.bv_val(1, bits)))
        if isinstance(target, PointerType):
            return self._load_pointer(raw, target, name)
        value = from_storage(raw, target, name)
        if bitfield is not None and isinstance(value, IntV):
            value = _bitfield_value(value, bitfield)
        return value

    def _note_input(
        self, name: str, location: BitVecRef, bits: int, ctype: AnyType, raw: BitVecRef
    ) -> None:
        initial = smt.select(self.inputs.memory("", bits), location)
        self.inputs.record(name, initial, ctype, "memory")
        for entry in reversed(self.memory.log):
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
        return PtrV(
            pointer.oid, pointer.elem, "", pointer.sub, target, name, type_key(target.target)
        )

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
                inner_ptr = PtrV(
                    ptr.oid,
                    ptr.elem,
                    ptr.path,
                    ptr.sub,
                    PointerType(member.ctype),
                    ptr.origin,
                    ptr.base,
                )
                inner = self._load_cells(inner_ptr, name, None, node, depth + 1)
                members.append((f"<anonymous {index}>", inner))
                continue
            if target.union and index > 0:
                break
            found = self.member(ptr, member.name, node)
            members.append(
                (
                    member.name,
                    self._load_cells(
                        found.ptr,
                        f"{name}.{member.name}",
                        found.bitfield,
                        node,
                        depth + 1,
                        found.union_bits,
                    ),
                )
            )
        return AggV(target, tuple(members))

    def _load_array(self, ptr: PtrV, name: str, node: Node, depth: int) -> Value:
        target = ptr.ctype.target
        assert isinstance(target, ArrayType)
        if target.length is None or target.length > MAX_AGGREGATE_CELLS:
            raise Unsupported(
                f"copy of array {target} (length unknown or above {MAX_AGGREGATE_CELLS})"
            )
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
                pointer, constraint = self.inputs.pointer_input(
                    f"{value.key}:pointer", value.what, pointer_type, "call"
                )
                self.decider.assume(constraint)
                return pointer
        return value

    def store(self, ref: LValue, value: Value, node: Node) -> Value:
        """Assign ``value`` (converted to the lvalue's type); returns the stored value."""
        value = self.materialise(
            value, ref.var.ctype if isinstance(ref, VarRef) else ref.ptr.ctype.target
        )
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
                    self._store_cells(
                        found.ptr,
                        member_value,
                        found.bitfield,
                        node,
                        f"{name}.{member_name}",
                        found.union_bits,
                    )
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


def _compatible_view(base: str, target: AnyType) -> bool:
    # Signedness changes keep the bits (char vs unsigned char over one buffer).
    if isinstance(target, IntType):
        sizes = {
            "char": 8,
            "unsigned char": 8,
            "_Bool": 8,
            "short": 16,
            "unsigned short": 16,
            "int": 32,
            "unsigned int": 32,
            "long": 64,
            "unsigned long": 64,
            "long long": 64,
            "unsigned long long": 64,
        }
        return sizes.get(base) == target.bits
    return False


def _bitfield_value(value: IntV, width: int) -> IntV:
    bits = value.ctype.bits
    if width >= bits:
        return value
    low = smt.extract(width - 1, 0, value.expr)
    widened = (
        smt.sign_ext(bits - width, low) if value.ctype.signed else smt.zero_ext(bits - width, low)
    )
    return IntV(smt.simplify_bv(widened), value.ctype)


def _is_input_term(raw: BitVecRef) -> bool:
    """A select from one of the shared memory arrays: a value the function did not write."""
    text = raw.decl().name()
    if text != "select":
        return False
    array_name = raw.arg(0).decl().name()
    return array_name.startswith("mem") and "uninit" not in array_name
