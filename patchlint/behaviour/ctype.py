"""C types as the engine needs them (x86-64 LP64, as the kernel and gcc use), and
their layout where it can be computed.

Records are named by tag; their members live in the symbol table, so recursive
types (``struct node *next``) stay finite.  A type the front end cannot resolve
(a typedef from a header that was not read) is ``UnknownType`` and anything that
depends on its width stops the run as unsupported rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class IntType:
    bits: int
    signed: bool
    # Conversion rank: 0 _Bool, 1 char, 2 short, 3 int, 4 long, 5 long long.
    rank: int
    is_enum: bool = False

    def __str__(self) -> str:
        names = {0: "_Bool", 1: "char", 2: "short", 3: "int", 4: "long", 5: "long long"}
        base = names.get(self.rank, f"int{self.bits}")
        if self.rank == 0:
            return base
        return base if self.signed else f"unsigned {base}"


@dataclass(frozen=True)
class FloatType:
    bits: int

    def __str__(self) -> str:
        return "float" if self.bits == 32 else "double"


@dataclass(frozen=True)
class VoidType:
    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True)
class PointerType:
    target: AnyType

    def __str__(self) -> str:
        return f"{self.target} *"


@dataclass(frozen=True)
class ArrayType:
    elem: AnyType
    length: int | None

    def __str__(self) -> str:
        return f"{self.elem}[{'' if self.length is None else self.length}]"


@dataclass(frozen=True)
class RecordType:
    tag: str
    union: bool

    def __str__(self) -> str:
        return f"{'union' if self.union else 'struct'} {self.tag}"


@dataclass(frozen=True)
class FunctionType:
    ret: AnyType
    params: tuple[AnyType, ...] = ()
    variadic: bool = False
    prototyped: bool = True

    def __str__(self) -> str:
        return f"{self.ret} (*)({', '.join(map(str, self.params))})"


@dataclass(frozen=True)
class UnknownType:
    name: str

    def __str__(self) -> str:
        return self.name


CType = IntType | FloatType | VoidType | PointerType | ArrayType | RecordType | FunctionType
AnyType = CType | UnknownType

BOOL = IntType(8, False, 0)
CHAR = IntType(8, True, 1)
UCHAR = IntType(8, False, 1)
SHORT = IntType(16, True, 2)
USHORT = IntType(16, False, 2)
INT = IntType(32, True, 3)
UINT = IntType(32, False, 3)
LONG = IntType(64, True, 4)
ULONG = IntType(64, False, 4)
LLONG = IntType(64, True, 5)
ULLONG = IntType(64, False, 5)
FLOAT = FloatType(32)
DOUBLE = FloatType(64)
VOID = VoidType()
VOID_PTR = PointerType(VOID)
CHAR_PTR = PointerType(CHAR)


@dataclass(frozen=True)
class FieldDef:
    name: str | None  # None: an anonymous struct/union member
    ctype: AnyType
    bits: int | None = None  # bit-field width


@dataclass(frozen=True)
class RecordDef:
    tag: str
    union: bool
    fields: tuple[FieldDef, ...]


class RecordLookup(Protocol):
    def record(self, rtype: RecordType) -> RecordDef | None: ...


def is_scalar(ctype: AnyType) -> bool:
    return isinstance(ctype, IntType | FloatType | PointerType)


def is_integer(ctype: AnyType) -> bool:
    return isinstance(ctype, IntType)


def decay(ctype: AnyType) -> AnyType:
    """Arrays and functions used as values become pointers."""
    if isinstance(ctype, ArrayType):
        return PointerType(ctype.elem)
    if isinstance(ctype, FunctionType):
        return PointerType(ctype)
    return ctype


def promote(ctype: IntType) -> IntType:
    """Integer promotion: anything narrower than int becomes int."""
    if ctype.rank < 3 or ctype.bits < 32:
        return INT
    return ctype


def usual_arithmetic(left: IntType, right: IntType) -> IntType:
    """C11 6.3.1.8 for two integer operands (after promotion)."""
    a, b = promote(left), promote(right)
    if a == b:
        return a
    if a.signed == b.signed:
        return a if (a.rank, a.bits) >= (b.rank, b.bits) else b
    unsigned, signed = (a, b) if not a.signed else (b, a)
    if unsigned.bits >= signed.bits:
        return unsigned
    if signed.bits > unsigned.bits:
        return signed
    return IntType(signed.bits, False, signed.rank)


def field_path(
    records: RecordLookup, rtype: RecordType, name: str
) -> list[tuple[RecordDef, FieldDef]] | None:
    """The members leading to ``name``, through anonymous structs and unions."""
    definition = records.record(rtype)
    if definition is None:
        return None
    for member in definition.fields:
        if member.name == name:
            return [(definition, member)]
    for member in definition.fields:
        if member.name is None and isinstance(member.ctype, RecordType):
            inner = field_path(records, member.ctype, name)
            if inner is not None:
                return [(definition, member), *inner]
    return None


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def size_align(records: RecordLookup, ctype: AnyType, depth: int = 0) -> tuple[int, int] | None:
    """(sizeof, alignof) on x86-64, or None when not computable (incomplete types)."""
    if depth > 32:
        return None
    if isinstance(ctype, IntType):
        size = max(1, ctype.bits // 8)
        return size, size
    if isinstance(ctype, FloatType):
        return ctype.bits // 8, ctype.bits // 8
    if isinstance(ctype, PointerType):
        return 8, 8
    if isinstance(ctype, ArrayType):
        inner = size_align(records, ctype.elem, depth + 1)
        if inner is None or ctype.length is None:
            return None
        return inner[0] * ctype.length, inner[1]
    if isinstance(ctype, RecordType):
        definition = records.record(ctype)
        if definition is None:
            return None
        return _record_layout(records, definition, depth)
    return None


def _record_layout(
    records: RecordLookup, definition: RecordDef, depth: int
) -> tuple[int, int] | None:
    offset_bits = 0
    size = 0
    align = 1
    for member in definition.fields:
        inner = size_align(records, member.ctype, depth + 1)
        if inner is None:
            return None
        msize, malign = inner
        align = max(align, malign)
        if member.bits is not None:
            # gcc: a bit-field goes in the current storage unit of its type if it fits.
            unit = msize * 8
            if member.bits == 0:
                offset_bits = _align_up(offset_bits, unit)
                continue
            if definition.union:
                size = max(size, msize)
                continue
            if offset_bits // unit != (offset_bits + member.bits - 1) // unit:
                offset_bits = _align_up(offset_bits, unit)
            offset_bits += member.bits
            continue
        if definition.union:
            size = max(size, msize)
        else:
            offset = _align_up(_align_up(offset_bits, 8) // 8, malign)
            offset_bits = (offset + msize) * 8
    if not definition.union:
        size = _align_up(offset_bits, 8) // 8
    return _align_up(max(size, 0), align), align


def type_key(ctype: AnyType) -> str:
    """A stable text for a type, used to name symbols consistently across versions."""
    return str(ctype)
