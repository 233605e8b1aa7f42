"""Inputs shared by the two versions of a function: one registry per comparison.

Everything the function reads from outside is created here, lazily and by name,
so the before and after runs see the very same symbols: parameters by position,
globals by name, memory through one initial array per width, the k-th
uninterpreted call's result and memory effect by (k, callee), and the object an
input pointer points to by the term of that pointer (UC-KLEE's lazy
initialisation: the object exists once something reads through the pointer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import smt
from .ctype import AnyType, PointerType, type_key
from .smt import ArrayRef, BitVecRef, BoolRef, ExprRef
from .values import INT_OID, NULL_OID, PTR_BITS, PtrV, encode

# Error pointers hold -MAX_ERRNO..-1 (include/linux/err.h).
MAX_ERRNO = 4095


def pretty_epoch(epoch: str) -> str:
    """ "call3:foo" -> "foo() #4" (the fourth uninterpreted call)."""
    head, _, callee = epoch.partition(":")
    for prefix in ("call", "log"):
        if head.startswith(prefix) and head[len(prefix) :].isdigit():
            return f"{callee or '(pointer)'}() #{int(head[len(prefix) :]) + 1}"
    return epoch


@dataclass
class InputObject:
    oid: int
    target: str  # type key of what the pointer points to
    name: str  # how a witness names it: "*p", "*p->next"


@dataclass
class InputSymbol:
    """One input a witness reports: a parameter, a global, a memory cell, a call result."""

    name: str
    term: BitVecRef
    ctype: AnyType
    kind: str  # "param", "global", "memory", "call", "constant"


@dataclass
class Inputs:
    memory_arrays: dict[tuple[str, int], ArrayRef] = field(default_factory=dict)
    objects: dict[str, InputObject] = field(default_factory=dict)
    by_oid: dict[int, InputObject] = field(default_factory=dict)
    globals: dict[str, int] = field(default_factory=dict)
    strings: dict[bytes, int] = field(default_factory=dict)
    string_bytes: dict[int, bytes] = field(default_factory=dict)
    functions: dict[str, int] = field(default_factory=dict)
    function_names: dict[int, str] = field(default_factory=dict)
    symbols: dict[str, InputSymbol] = field(default_factory=dict)
    next_oid: int = 2
    # Identifiers no header defined, modelled as unknown constants.
    unresolved: set[str] = field(default_factory=set)
    # z3 recycles the id of a term nobody references: terms whose id is used as a
    # key are kept alive here for the whole comparison.
    kept: dict[int, ExprRef] = field(default_factory=dict)
    # Const tables spelled out from their initialisers: (oid, initialiser) -> cells.
    constant_tables: dict[tuple[int, str], list[tuple[BitVecRef, BitVecRef]]] = field(
        default_factory=dict
    )

    def placeholder(self, term: BitVecRef) -> str:
        """A name part for a symbolic index: the witness shows its value ("p[{{t42}}]")."""
        if term.size() < 64:
            term = smt.sign_ext(64 - term.size(), term)
        return "{{t" + str(self.term_key(term)) + "}}"

    def term_key(self, term: ExprRef) -> int:
        key = term.get_id()
        self.kept.setdefault(key, term)
        return key

    def _new_oid(self) -> int:
        oid = self.next_oid
        self.next_oid += 1
        return oid

    # -- memory -------------------------------------------------------------------
    def memory(self, epoch: str, bits: int) -> ArrayRef:
        """The array holding non-local memory of one width at an epoch ("" = entry,
        "call3:foo" = after the fourth uninterpreted call, made to foo)."""
        key = (epoch, bits)
        found = self.memory_arrays.get(key)
        if found is None:
            name = f"mem{bits}" + (f"@{epoch}" if epoch else "")
            found = self.memory_arrays[key] = smt.array(name, PTR_BITS, bits)
        return found

    # -- named objects --------------------------------------------------------------
    def global_oid(self, name: str) -> int:
        found = self.globals.get(name)
        if found is None:
            found = self.globals[name] = self._new_oid()
            self.by_oid[found] = InputObject(found, "", name)
        return found

    def string_oid(self, data: bytes) -> int:
        found = self.strings.get(data)
        if found is None:
            found = self.strings[data] = self._new_oid()
            self.string_bytes[found] = data
            shown = data.decode("utf-8", "replace")
            self.by_oid[found] = InputObject(found, "char", f'"{shown}"')
        return found

    def function_oid(self, name: str) -> int:
        found = self.functions.get(name)
        if found is None:
            found = self.functions[name] = self._new_oid()
            self.function_names[found] = name
            self.by_oid[found] = InputObject(found, "function", name)
        return found

    def fresh_object(self, key: str, target: AnyType, name: str) -> InputObject:
        found = self.objects.get(key)
        if found is None:
            oid = self._new_oid()
            found = self.objects[key] = InputObject(oid, type_key(target), name)
            self.by_oid[oid] = found
        return found

    def objects_of(self, target: AnyType) -> list[InputObject]:
        wanted = type_key(target)
        return [obj for obj in self.objects.values() if obj.target == wanted]

    # -- symbols --------------------------------------------------------------------
    def symbol(self, key: str, name: str, ctype: AnyType, bits: int, kind: str) -> BitVecRef:
        found = self.symbols.get(key)
        if found is not None and found.term.size() != bits:
            # The same input seen with another width (a parameter whose type the patch
            # changes): a distinct input.
            key = f"{key}/{bits}"
            found = self.symbols.get(key)
        if found is None:
            term = smt.bv(key, bits)
            found = self.symbols[key] = InputSymbol(name, term, ctype, kind)
        return found.term

    def record(self, name: str, term: BitVecRef, ctype: AnyType, kind: str) -> None:
        """Remember a term a witness must report (a memory cell read by the function)."""
        key = f"{kind}:{name}:{self.term_key(term)}"
        if key not in self.symbols:
            self.symbols[key] = InputSymbol(name, term, ctype, kind)

    def pointer_input(
        self, key: str, name: str, ctype: PointerType, kind: str
    ) -> tuple[PtrV, BoolRef]:
        """A pointer that comes from outside: NULL, an error pointer, or a lazily built
        object of its target type which may be one the function already reached."""
        raw = self.symbol(key, name, ctype, PTR_BITS, kind)
        return self.constrain_pointer(raw, ctype, name)

    def constrain_pointer(
        self, raw: BitVecRef, ctype: PointerType, name: str
    ) -> tuple[PtrV, BoolRef]:
        oid = smt.simplify_bv(smt.extract(111, 80, raw))
        elem = smt.simplify_bv(smt.extract(79, 48, raw))
        path = smt.simplify_bv(smt.extract(47, 32, raw))
        sub = smt.simplify_bv(smt.extract(31, 0, raw))
        zero32 = smt.bv_val(0, 32)
        flat = smt.conj(smt.eq(elem, zero32), smt.eq(sub, zero32))
        candidates = []
        if ctype.target.__class__.__name__ == "FunctionType":
            fresh = self.fresh_object(f"fn:{self.term_key(raw)}", ctype.target, name)
        else:
            fresh = self.fresh_object(f"obj:{self.term_key(raw)}", ctype.target, f"*{name}")
        for obj in [fresh, *[o for o in self.objects_of(ctype.target) if o is not fresh]]:
            candidates.append(smt.eq(oid, smt.bv_val(obj.oid, 32)))
        integer = smt.concat(elem, sub)
        error = smt.conj(
            smt.eq(oid, smt.bv_val(INT_OID, 32)),
            smt.ule(smt.bv_val(-MAX_ERRNO, 64), integer),
        )
        null = smt.conj(smt.eq(oid, smt.bv_val(NULL_OID, 32)), flat)
        constraint = smt.conj(
            smt.eq(path, smt.bv_val(0, 16)),
            smt.disj(null, error, smt.conj(flat, smt.disj(*candidates))),
        )
        return PtrV(oid, elem, "", sub, ctype, name, type_key(ctype.target)), constraint

    def describe_oid(self, oid: int) -> str:
        found = self.by_oid.get(oid)
        if oid == NULL_OID:
            return "NULL"
        return found.name if found is not None else f"object {oid}"


def pointer_term(pointer: PtrV) -> BitVecRef:
    return encode(pointer)
