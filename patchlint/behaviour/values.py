"""Run-time values of the engine and the C conversions between them.

Integers are bit-vectors of their type's width; floats are IEEE terms; a pointer
is an object id, an element index, a static member path and an index into an
embedded array (``oid, elem, path, sub``), encoded as one 112-bit vector when it
is stored, passed or compared.  Object id 0 is NULL and id 1 the integer
address space (``(void *)-EINVAL``); every other object is an input object, a
global, a string literal or a local.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import smt
from .ctype import (
    BOOL,
    INT,
    ULONG,
    AnyType,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    RecordType,
    UnknownType,
    VoidType,
)
from .declarations import Unsupported
from .smt import BitVecRef, BoolRef, FPRef

PTR_BITS = 112
OID_BITS = 32
NULL_OID = 0
INT_OID = 1  # pointers made from integers: (void *)-ENOMEM
LOCAL_BASE = 1 << 31  # locals get concrete ids from here up


class PathRegistry:
    """Member paths ("struct s.a", "struct s.arr[]") as small integers, shared by both versions."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {"": 0}
        self._names: list[str] = [""]

    def id(self, path: str) -> int:
        found = self._ids.get(path)
        if found is None:
            found = len(self._names)
            if found >= 1 << 16:
                raise Unsupported("more than 65535 distinct member paths")
            self._ids[path] = found
            self._names.append(path)
        return found

    def name(self, index: int) -> str | None:
        return self._names[index] if 0 <= index < len(self._names) else None


@dataclass(frozen=True)
class IntV:
    expr: BitVecRef
    ctype: IntType


@dataclass(frozen=True)
class FloatV:
    expr: FPRef
    ctype: FloatType


@dataclass(frozen=True)
class OpaqueV:
    """A value whose C type is unknown (an undeclared identifier, a call with no
    prototype): it can be passed, stored, returned and compared for equality."""

    expr: BitVecRef  # 64 bits
    what: str
    ctype: UnknownType
    key: str = ""  # the input symbol's key, to derive typed views of the same value


@dataclass(frozen=True)
class PtrV:
    oid: BitVecRef
    elem: BitVecRef
    path: str
    sub: BitVecRef
    ctype: PointerType
    # How a witness names the object: "p", "p->next", "global g".
    origin: str | None = None
    # The type of the object's elements where known ("" unknown): an access through
    # a pointer cast to another type is type punning, which is not modelled.
    base: str = ""

    def target(self) -> AnyType:
        return self.ctype.target


@dataclass(frozen=True)
class AggV:
    """A struct, union or array value in flight (copied, passed or returned)."""

    ctype: RecordType | ArrayType
    members: tuple[tuple[str, Value], ...]

    def member(self, name: str) -> Value | None:
        for key, value in self.members:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class FuncV:
    """A function designator: the name of a function used as a value."""

    name: str
    ctype: FunctionType


Value = IntV | FloatV | OpaqueV | PtrV | AggV | FuncV


def int_const(value: int, ctype: IntType = INT) -> IntV:
    return IntV(smt.bv_val(value, ctype.bits), ctype)


def truth(value: Value) -> BoolRef:
    """C truth value: compares unequal to zero."""
    if isinstance(value, IntV):
        return smt.nonzero(value.expr)
    if isinstance(value, FloatV):
        return smt.neg(smt.fp_is_zero(value.expr))
    if isinstance(value, PtrV):
        return smt.nonzero(encode(value))
    if isinstance(value, OpaqueV):
        return smt.nonzero(value.expr)
    if isinstance(value, FuncV):
        return smt.TRUE
    raise Unsupported(f"{value.ctype} used as a condition")


def encode(pointer: PtrV, paths: PathRegistry | None = None) -> BitVecRef:
    """The 112-bit form of a pointer: oid, elem, path id, sub."""
    path_id = (paths or PATHS).id(pointer.path)
    return smt.simplify_bv(
        smt.concat(pointer.oid, pointer.elem, smt.bv_val(path_id, 16), pointer.sub)
    )


PATHS = PathRegistry()


def decode_parts(raw: BitVecRef) -> tuple[BitVecRef, BitVecRef, BitVecRef, BitVecRef]:
    oid = smt.simplify_bv(smt.extract(111, 80, raw))
    elem = smt.simplify_bv(smt.extract(79, 48, raw))
    path = smt.simplify_bv(smt.extract(47, 32, raw))
    sub = smt.simplify_bv(smt.extract(31, 0, raw))
    return oid, elem, path, sub


def null_pointer(ctype: PointerType) -> PtrV:
    zero = smt.bv_val(0, 32)
    return PtrV(zero, zero, "", zero, ctype)


def pointer_from_int(value: BitVecRef, ctype: PointerType) -> PtrV:
    """``(T *)n``: NULL for 0, otherwise an address in the integer address space."""
    wide = smt.resize(value, 64, signed=False)
    is_zero = smt.eq(wide, smt.bv_val(0, 64))
    oid = smt.ite_bv(is_zero, smt.bv_val(NULL_OID, 32), smt.bv_val(INT_OID, 32))
    high = smt.simplify_bv(smt.extract(63, 32, wide))
    low = smt.simplify_bv(smt.extract(31, 0, wide))
    return PtrV(smt.simplify_bv(oid), high, "", low, ctype)


def pointer_to_int(pointer: PtrV) -> BitVecRef:
    """``(unsigned long)p``: the integer for integer-space pointers; a real object gets an
    address below the error range that is unique per (oid, elem, path) in practice."""
    if pointer.path and pointer.path != "":
        path_bits = smt.bv_val(PATHS.id(pointer.path) & 0xFF, 8)
    else:
        path_bits = smt.bv_val(0, 8)
    object_address = smt.concat(
        smt.bv_val(0, 8),
        smt.extract(23, 0, pointer.oid),
        smt.extract(15, 0, pointer.elem),
        path_bits,
        smt.extract(7, 0, pointer.sub),
    )
    integer = smt.concat(pointer.elem, pointer.sub)
    is_int = smt.eq(pointer.oid, smt.bv_val(INT_OID, 32))
    is_null = smt.eq(pointer.oid, smt.bv_val(NULL_OID, 32))
    return smt.simplify_bv(
        smt.ite_bv(is_null, smt.bv_val(0, 64), smt.ite_bv(is_int, integer, object_address))
    )


def convert(value: Value, target: AnyType) -> Value:
    """C conversion of ``value`` to ``target`` (assignment, cast, argument, return)."""
    if isinstance(target, VoidType):
        return value
    if isinstance(target, IntType):
        return to_int(value, target)
    if isinstance(target, FloatType):
        return to_float(value, target)
    if isinstance(target, PointerType):
        return to_pointer(value, target)
    if isinstance(target, RecordType | ArrayType):
        if isinstance(value, AggV):
            return value
        raise Unsupported(f"conversion of {value.ctype} to {target}")
    if isinstance(target, UnknownType):
        if isinstance(value, OpaqueV):
            return value
        if isinstance(value, IntV):
            return OpaqueV(smt.resize(value.expr, 64, value.ctype.signed), str(target), target)
        if isinstance(value, PtrV):
            return value
        raise Unsupported(f"conversion to {target}, a type that was not resolved")
    if isinstance(target, FunctionType):
        return value
    raise Unsupported(f"conversion to {target}")


def to_int(value: Value, target: IntType) -> IntV:
    if isinstance(value, IntV):
        if target.rank == 0 and not target.is_enum:
            return IntV(smt.bool_to_bv(smt.nonzero(value.expr), target.bits), target)
        return IntV(smt.resize(value.expr, target.bits, value.ctype.signed), target)
    if isinstance(value, FloatV):
        if target.rank == 0:
            return IntV(smt.bool_to_bv(truth(value), target.bits), target)
        return IntV(smt.fp_to_int(value.expr, target.signed, target.bits), target)
    if isinstance(value, PtrV):
        if target.rank == 0:
            return IntV(smt.bool_to_bv(truth(value), target.bits), target)
        return IntV(smt.resize(pointer_to_int(value), target.bits, False), target)
    if isinstance(value, OpaqueV):
        # A call result or constant of unknown type, converted where the code says which
        # type it has: its value as that type.
        return IntV(smt.resize(value.expr, target.bits, True), target)
    if isinstance(value, FuncV):
        raise Unsupported(f"integer value of function {value.name}")
    raise Unsupported(f"conversion of {value.ctype} to {target}")


def to_float(value: Value, target: FloatType) -> FloatV:
    if isinstance(value, FloatV):
        return FloatV(smt.fp_convert(value.expr, target.bits), target)
    if isinstance(value, IntV):
        if value.ctype.rank == 0:
            return FloatV(smt.fp_from_int(value.expr, False, target.bits), target)
        return FloatV(smt.fp_from_int(value.expr, value.ctype.signed, target.bits), target)
    raise Unsupported(f"conversion of {value.ctype} to {target}")


def to_pointer(value: Value, target: PointerType) -> PtrV:
    if isinstance(value, PtrV):
        return PtrV(value.oid, value.elem, value.path, value.sub, target, value.origin, value.base)
    if isinstance(value, IntV):
        return pointer_from_int(value.expr, target)
    if isinstance(value, OpaqueV):
        raise Unsupported(f"pointer use of {value.what}, whose type ({value.ctype}) is unknown")
    if isinstance(value, FuncV):
        raise Unsupported(f"function {value.name} converted to a data pointer")
    raise Unsupported(f"conversion of {value.ctype} to {target}")


def storage_bits(ctype: AnyType) -> int:
    """How many bits a scalar of this type occupies in the engine's memory."""
    if isinstance(ctype, IntType):
        return ctype.bits
    if isinstance(ctype, FloatType):
        return ctype.bits
    if isinstance(ctype, PointerType):
        return PTR_BITS
    if isinstance(ctype, UnknownType):
        return 64
    raise Unsupported(f"{ctype} is not a scalar")


def to_storage(value: Value, ctype: AnyType) -> BitVecRef:
    """The bits stored for a scalar value already converted to ``ctype``."""
    if isinstance(value, IntV):
        return value.expr
    if isinstance(value, FloatV):
        return smt.fp_to_bits(value.expr)
    if isinstance(value, PtrV):
        return encode(value)
    if isinstance(value, OpaqueV):
        return value.expr
    if isinstance(value, FuncV):
        raise Unsupported(f"storing function {value.name} outside a function pointer")
    raise Unsupported(f"storing a {ctype} value")


def from_storage(raw: BitVecRef, ctype: AnyType, origin: str | None = None) -> Value:
    """A value of ``ctype`` from its stored bits (pointers keep their path symbolic-free)."""
    if isinstance(ctype, IntType):
        return IntV(raw, ctype)
    if isinstance(ctype, FloatType):
        return FloatV(smt.fp_from_bits(raw, ctype.bits), ctype)
    if isinstance(ctype, PointerType):
        oid, elem, path_bits, sub = decode_parts(raw)
        path_id = smt.const_int(path_bits)
        if path_id is None:
            raise Unsupported("a pointer to a member read back through memory")
        path = PATHS.name(path_id)
        if path is None:
            raise Unsupported("a pointer with an unknown member path")
        return PtrV(oid, elem, path, sub, ctype, origin)
    if isinstance(ctype, UnknownType):
        return OpaqueV(raw, origin or str(ctype), ctype)
    raise Unsupported(f"reading a {ctype} as a scalar")


def bool_value(cond: BoolRef) -> IntV:
    """Comparison results have type int in C."""
    return IntV(smt.bool_to_bv(cond, 32), INT)


def value_equal(left: Value, right: Value) -> BoolRef:
    """Observable equality (bit-identical; all NaNs alike) of two values of one kind."""
    if isinstance(left, IntV) and isinstance(right, IntV):
        if left.ctype.bits != right.ctype.bits:
            return smt.FALSE
        return smt.eq(left.expr, right.expr)
    if isinstance(left, FloatV) and isinstance(right, FloatV):
        if left.ctype != right.ctype:
            return smt.FALSE
        both_nan = smt.conj(smt.fp_is_nan(left.expr), smt.fp_is_nan(right.expr))
        return smt.disj(both_nan, smt.eq(left.expr, right.expr))
    if isinstance(left, PtrV) and isinstance(right, PtrV):
        return smt.eq(encode(left), encode(right))
    if isinstance(left, OpaqueV) and isinstance(right, OpaqueV):
        return smt.eq(left.expr, right.expr)
    if isinstance(left, FuncV) and isinstance(right, FuncV):
        return smt.TRUE if left.name == right.name else smt.FALSE
    if isinstance(left, AggV) and isinstance(right, AggV):
        if left.ctype != right.ctype or len(left.members) != len(right.members):
            return smt.FALSE
        parts = []
        for (lname, lvalue), (rname, rvalue) in zip(left.members, right.members, strict=True):
            if lname != rname:
                return smt.FALSE
            parts.append(value_equal(lvalue, rvalue))
        return smt.conj(*parts)
    if isinstance(left, IntV) and isinstance(right, OpaqueV | PtrV):
        return smt.FALSE
    return smt.FALSE


ULONG_T = ULONG
BOOL_T = BOOL
