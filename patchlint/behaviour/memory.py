"""Memory of one run: a log of writes and call effects over the shared initial memory.

A location is the 112-bit encoding of a pointer to a scalar (``values.encode``).
Reads walk the log from the newest entry and stop at the first write to the very
same location term; writes whose location may or may not be the one read become
``If`` terms, so aliasing is left to the solver.  Locations of different widths
never share storage, so a read of a location last written with another width
(type punning outside the unions the engine models) is reported unsupported.

An uninterpreted call may change any memory it can reach: after it, non-local
memory and the locals whose address escaped read from a fresh array named after
the call, which both versions share while their calls agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import smt
from .ctype import AnyType
from .declarations import Unsupported
from .inputs import Inputs
from .smt import BitVecRef
from .values import LOCAL_BASE


@dataclass(frozen=True)
class Write:
    location: BitVecRef
    bits: int
    value: BitVecRef
    local: bool
    name: str = ""  # how the program named the location ("p->count")
    ctype: AnyType | None = None
    # The location as a number when it is one, and its object id when that is known:
    # most reads are decided on these without building a term.
    constant: int | None = None
    oid: int | None = None


def _same_location(
    entry: Write, location: BitVecRef, constant: int | None, oid: int | None
) -> smt.BoolRef:
    if constant is not None and entry.constant is not None:
        return smt.TRUE if constant == entry.constant else smt.FALSE
    if oid is not None and entry.oid is not None and oid != entry.oid:
        return smt.FALSE
    if entry.location.eq(location):
        return smt.TRUE
    return smt.simplify_bool(smt.eq(entry.location, location))


@dataclass(frozen=True)
class Havoc:
    epoch: str  # "call3:foo"
    escaped: frozenset[int]  # local object ids the callee could reach


@dataclass(frozen=True)
class Fill:
    """Every cell of a local object set to zero (``= {}``, ``= {0}``)."""

    oid: int


Entry = Write | Havoc | Fill


def oid_of(location: BitVecRef) -> int | None:
    return smt.const_int(smt.simplify_bv(smt.extract(111, 80, location)))


def is_local(location: BitVecRef) -> bool:
    oid = oid_of(location)
    return oid is not None and oid >= LOCAL_BASE


@dataclass
class Memory:
    inputs: Inputs
    version: str  # "before" / "after": uninitialised locals differ per version
    log: list[Entry] = field(default_factory=list)
    escaped: set[int] = field(default_factory=set)
    # Fixed contents of const tables (oid -> location id -> bits), and their cells.
    constant_objects: dict[int, dict[int, BitVecRef]] = field(default_factory=dict)
    constant_cells: dict[int, list[tuple[BitVecRef, BitVecRef]]] = field(default_factory=dict)

    def read(self, location: BitVecRef, bits: int, upto: int | None = None) -> BitVecRef:
        location = smt.simplify_bv(location)
        constant = smt.const_int(location)
        read_oid = constant >> 80 if constant is not None else oid_of(location)
        local = read_oid is not None and read_oid >= LOCAL_BASE
        entries = self.log if upto is None else self.log[:upto]
        pending: list[tuple[smt.BoolRef, BitVecRef]] = []
        base: BitVecRef | None = None
        for entry in reversed(entries):
            if isinstance(entry, Write):
                if entry.local != local:
                    continue
                same = _same_location(entry, location, constant, read_oid)
                if smt.is_false(same):
                    continue
                if entry.bits != bits:
                    raise Unsupported(
                        f"memory written as {entry.bits}-bit and read as {bits}-bit (type punning)"
                    )
                if smt.is_true(same):
                    base = entry.value
                    break
                pending.append((same, entry.value))
            elif isinstance(entry, Fill):
                if oid_of(location) == entry.oid:
                    base = smt.bv_val(0, bits)
                    break
            else:
                if local:
                    oid = oid_of(location)
                    if oid not in entry.escaped:
                        continue
                base = smt.select(self.inputs.memory(entry.epoch, bits), location)
                break
        if base is None:
            base = self._initial(location, bits, local)
        for cond, value in reversed(pending):
            base = smt.ite_bv(cond, value, base)
        return base

    def _initial(self, location: BitVecRef, bits: int, local: bool) -> BitVecRef:
        if local:
            # Reading a local before writing it: an unspecified value, not shared.
            return smt.select(self.inputs.memory(f"uninit-{self.version}", bits), location)
        oid = oid_of(location)
        if oid is not None and oid in self.constant_objects:
            return self._constant(oid, location, bits)
        if oid is not None and oid in self.inputs.string_bytes:
            return self._string(oid, location, bits)
        return smt.select(self.inputs.memory("", bits), location)

    def _string(self, oid: int, location: BitVecRef, bits: int) -> BitVecRef:
        data = self.inputs.string_bytes[oid] + b"\0"
        if bits != 8:
            raise Unsupported("a string literal read other than by character")
        elem = smt.simplify_bv(smt.extract(79, 48, location))
        index = smt.const_int(elem)
        if index is not None:
            signed = index - (1 << 32) if index >= 1 << 31 else index
            if 0 <= signed < len(data):
                return smt.bv_val(data[signed], 8)
            raise Unsupported("a read past the end of a string literal")
        result = smt.bv_val(0, 8)
        for position in range(len(data) - 1, -1, -1):
            result = smt.ite_bv(
                smt.eq(elem, smt.bv_val(position, 32)), smt.bv_val(data[position], 8), result
            )
        return result

    def _constant(self, oid: int, location: BitVecRef, bits: int) -> BitVecRef:
        cells = self.constant_objects[oid]
        key = location.get_id()
        found = cells.get(key)
        if found is not None:
            return found
        constant = smt.const_int(location)
        if constant is not None:
            return smt.bv_val(0, bits)  # a cell the initialiser did not name
        # A symbolic index into a constant table: an If over its cells (zero elsewhere,
        # as the initialiser left it).
        result = smt.bv_val(0, bits)
        for cell_location, value in self._cell_locations(oid):
            if value.size() != bits:
                continue
            result = smt.ite_bv(smt.eq(location, cell_location), value, result)
        return result

    def _cell_locations(self, oid: int) -> list[tuple[BitVecRef, BitVecRef]]:
        return self.constant_cells.get(oid, [])

    def define_constant(self, oid: int, location: BitVecRef, value: BitVecRef) -> None:
        location = smt.simplify_bv(location)
        self.constant_objects.setdefault(oid, {})[location.get_id()] = value
        self.constant_cells.setdefault(oid, []).append((location, value))

    def write(
        self,
        location: BitVecRef,
        bits: int,
        value: BitVecRef,
        name: str = "",
        ctype: AnyType | None = None,
    ) -> None:
        location = smt.simplify_bv(location)
        oid = oid_of(location)
        if oid is not None and (oid in self.inputs.string_bytes or oid in self.constant_objects):
            raise Unsupported("a write to a string literal or a const table")
        constant = smt.const_int(location)
        cell_oid = constant >> 80 if constant is not None else oid
        local = cell_oid is not None and cell_oid >= LOCAL_BASE
        self.log.append(
            Write(location, bits, smt.simplify_bv(value), local, name, ctype, constant, cell_oid)
        )

    def fill_zero(self, oid: int) -> None:
        self.log.append(Fill(oid))

    def havoc(self, epoch: str) -> None:
        self.log.append(Havoc(epoch, frozenset(self.escaped)))

    def written_types(self) -> list[tuple[BitVecRef, int, str, AnyType | None]]:
        """Non-local written locations with their names and types (for witnesses)."""
        out = []
        for entry in self.log:
            if isinstance(entry, Write) and not entry.local:
                out.append((entry.location, entry.bits, entry.name, entry.ctype))
        return out

    def nonlocal_writes(self, upto: int | None = None) -> list[tuple[BitVecRef, int, str]]:
        """Distinct non-local locations written so far, in first-write order, named."""
        seen: set[int] = set()
        out: list[tuple[BitVecRef, int, str]] = []
        entries = self.log if upto is None else self.log[:upto]
        for entry in entries:
            if isinstance(entry, Write) and not entry.local:
                key = entry.location.get_id() * 1000 + entry.bits
                if key not in seen:
                    seen.add(key)
                    out.append((entry.location, entry.bits, entry.name))
        return out

    def local_writes(self, oid: int, upto: int | None = None) -> list[tuple[BitVecRef, int]]:
        seen: set[int] = set()
        out: list[tuple[BitVecRef, int]] = []
        entries = self.log if upto is None else self.log[:upto]
        for entry in entries:
            if isinstance(entry, Write) and entry.local and oid_of(entry.location) == oid:
                key = entry.location.get_id() * 1000 + entry.bits
                if key not in seen:
                    seen.add(key)
                    out.append((entry.location, entry.bits))
        return out
