"""The one module that talks to z3: typed helpers for C bit-vector and float terms.

z3-solver has no annotations of its own; ``typings/z3`` declares the subset used
here, and the rest of the package only sees the names exported below.
"""

from __future__ import annotations

import z3
from z3 import (
    ArrayRef,
    BitVecNumRef,
    BitVecRef,
    BoolRef,
    ExprRef,
    FPNumRef,
    FPRef,
    FPSortRef,
    ModelRef,
)

__all__ = [
    "ArrayRef",
    "BitVecNumRef",
    "BitVecRef",
    "BoolRef",
    "ExprRef",
    "FPRef",
    "FPSortRef",
    "ModelRef",
    "PathSolver",
]

TRUE: BoolRef = z3.BoolVal(True)
FALSE: BoolRef = z3.BoolVal(False)


def bv(name: str, bits: int) -> BitVecRef:
    return z3.BitVec(name, bits)


_CONSTANTS: dict[tuple[int, int], BitVecRef] = {}


def bv_val(value: int, bits: int) -> BitVecRef:
    """A bit-vector constant; the small ones are made once (the engine makes millions)."""
    value &= (1 << bits) - 1
    key = (value, bits)
    found = _CONSTANTS.get(key)
    if found is None:
        found = z3.BitVecVal(value, bits)
        if len(_CONSTANTS) < 65536:
            _CONSTANTS[key] = found
    return found


def bool_const(name: str) -> BoolRef:
    return z3.Bool(name)


def fp_sort(bits: int) -> FPSortRef:
    return z3.Float32() if bits == 32 else z3.Float64()


def fp(name: str, bits: int) -> FPRef:
    return z3.FP(name, fp_sort(bits))


def fp_val(value: float, bits: int) -> FPRef:
    return z3.FPVal(value, None, fp_sort(bits))


def fp_from_bits(raw: BitVecRef, bits: int) -> FPRef:
    return z3.fpBVToFP(raw, fp_sort(bits))


def fp_to_bits(value: FPRef) -> BitVecRef:
    return z3.fpToIEEEBV(value)


def apply_function(name: str, args: list[BitVecRef], result_bits: int) -> BitVecRef:
    """An uninterpreted function of bit-vectors: equal arguments give equal results."""
    sorts = [z3.BitVecSort(arg.size()) for arg in args]
    declaration = z3.Function(name, *sorts, z3.BitVecSort(result_bits))
    value = declaration(*args)
    assert isinstance(value, BitVecRef)
    return value


def array(name: str, domain_bits: int, range_bits: int) -> ArrayRef:
    return z3.Array(name, z3.BitVecSort(domain_bits), z3.BitVecSort(range_bits))


def select(memory: ArrayRef, index: BitVecRef) -> BitVecRef:
    value = z3.Select(memory, index)
    assert isinstance(value, BitVecRef)
    return value


def ite_bv(cond: BoolRef, then: BitVecRef, other: BitVecRef) -> BitVecRef:
    if is_true(cond):
        return then
    if is_false(cond):
        return other
    if then.eq(other):
        return then
    value = z3.If(cond, then, other)
    assert isinstance(value, BitVecRef)
    return value


def ite_fp(cond: BoolRef, then: FPRef, other: FPRef) -> FPRef:
    if is_true(cond):
        return then
    if is_false(cond):
        return other
    value = z3.If(cond, then, other)
    assert isinstance(value, FPRef)
    return value


def ite_bool(cond: BoolRef, then: BoolRef, other: BoolRef) -> BoolRef:
    value = z3.If(cond, then, other)
    assert isinstance(value, BoolRef)
    return value


def simplify_bv(value: BitVecRef) -> BitVecRef:
    out = z3.simplify(value)
    assert isinstance(out, BitVecRef)
    return out


def simplify_bool(value: BoolRef) -> BoolRef:
    out = z3.simplify(value)
    assert isinstance(out, BoolRef)
    return out


def is_true(value: ExprRef) -> bool:
    return z3.is_true(value)


def is_false(value: ExprRef) -> bool:
    return z3.is_false(value)


def const_int(value: BitVecRef) -> int | None:
    """The unsigned value of a literal bit-vector term, else None."""
    if isinstance(value, BitVecNumRef):
        return value.as_long()
    return None


def conj(*items: BoolRef) -> BoolRef:
    kept = [item for item in items if not is_true(item)]
    if any(is_false(item) for item in kept):
        return FALSE
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else z3.And(*kept)


def disj(*items: BoolRef) -> BoolRef:
    kept = [item for item in items if not is_false(item)]
    if any(is_true(item) for item in kept):
        return TRUE
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else z3.Or(*kept)


def neg(item: BoolRef) -> BoolRef:
    if is_true(item):
        return FALSE
    if is_false(item):
        return TRUE
    return z3.Not(item)


def eq(left: ExprRef, right: ExprRef) -> BoolRef:
    if left.eq(right):
        return TRUE
    return left == right


def differ(left: ExprRef, right: ExprRef) -> BoolRef:
    if left.eq(right):
        return FALSE
    return left != right


# -- bit-vector operations with C meaning -------------------------------------------


def extract(high: int, low: int, value: BitVecRef) -> BitVecRef:
    return z3.Extract(high, low, value)


def concat(*parts: BitVecRef) -> BitVecRef:
    return z3.Concat(*parts)


def zero_ext(extra: int, value: BitVecRef) -> BitVecRef:
    return value if extra == 0 else z3.ZeroExt(extra, value)


def sign_ext(extra: int, value: BitVecRef) -> BitVecRef:
    return value if extra == 0 else z3.SignExt(extra, value)


def resize(value: BitVecRef, bits: int, signed: bool) -> BitVecRef:
    """Truncate or extend ``value`` to ``bits`` (sign-extending if ``signed``)."""
    size = value.size()
    if size == bits:
        return value
    if size > bits:
        return z3.Extract(bits - 1, 0, value)
    return sign_ext(bits - size, value) if signed else zero_ext(bits - size, value)


def udiv(a: BitVecRef, b: BitVecRef) -> BitVecRef:
    return z3.UDiv(a, b)


def urem(a: BitVecRef, b: BitVecRef) -> BitVecRef:
    return z3.URem(a, b)


def sdiv(a: BitVecRef, b: BitVecRef) -> BitVecRef:
    # z3's bvsdiv truncates toward zero, as C99 requires.
    return a / b


def srem(a: BitVecRef, b: BitVecRef) -> BitVecRef:
    return z3.SRem(a, b)


def lshr(a: BitVecRef, b: BitVecRef) -> BitVecRef:
    return z3.LShR(a, b)


def ult(a: BitVecRef, b: BitVecRef) -> BoolRef:
    return z3.ULT(a, b)


def ule(a: BitVecRef, b: BitVecRef) -> BoolRef:
    return z3.ULE(a, b)


def slt(a: BitVecRef, b: BitVecRef) -> BoolRef:
    return a < b


def sle(a: BitVecRef, b: BitVecRef) -> BoolRef:
    return a <= b


def bool_to_bv(cond: BoolRef, bits: int) -> BitVecRef:
    return ite_bv(cond, bv_val(1, bits), bv_val(0, bits))


def nonzero(value: BitVecRef) -> BoolRef:
    return differ(value, bv_val(0, value.size()))


# -- floating point ---------------------------------------------------------------


def fp_add(a: FPRef, b: FPRef) -> FPRef:
    return z3.fpAdd(z3.RNE(), a, b)


def fp_sub(a: FPRef, b: FPRef) -> FPRef:
    return z3.fpSub(z3.RNE(), a, b)


def fp_mul(a: FPRef, b: FPRef) -> FPRef:
    return z3.fpMul(z3.RNE(), a, b)


def fp_div(a: FPRef, b: FPRef) -> FPRef:
    return z3.fpDiv(z3.RNE(), a, b)


def fp_neg(a: FPRef) -> FPRef:
    return z3.fpNeg(a)


def fp_cmp(op: str, a: FPRef, b: FPRef) -> BoolRef:
    if op == "==":
        return z3.fpEQ(a, b)
    if op == "!=":
        return z3.Not(z3.fpEQ(a, b))
    if op == "<":
        return z3.fpLT(a, b)
    if op == "<=":
        return z3.fpLEQ(a, b)
    if op == ">":
        return z3.fpGT(a, b)
    return z3.fpGEQ(a, b)


def fp_is_nan(a: FPRef) -> BoolRef:
    return z3.fpIsNaN(a)


def fp_is_zero(a: FPRef) -> BoolRef:
    return z3.fpIsZero(a)


def fp_convert(a: FPRef, bits: int) -> FPRef:
    if a.sbits() == (24 if bits == 32 else 53):
        return a
    return z3.fpToFP(z3.RNE(), a, fp_sort(bits))


def fp_from_int(value: BitVecRef, signed: bool, bits: int) -> FPRef:
    if signed:
        return z3.fpSignedToFP(z3.RNE(), value, fp_sort(bits))
    return z3.fpUnsignedToFP(z3.RNE(), value, fp_sort(bits))


def fp_to_int(value: FPRef, signed: bool, bits: int) -> BitVecRef:
    """C conversion: truncation toward zero (out-of-range results are unspecified)."""
    sort = z3.BitVecSort(bits)
    if signed:
        return z3.fpToSBV(z3.RTZ(), value, sort)
    return z3.fpToUBV(z3.RTZ(), value, sort)


def fp_literal(value: ExprRef) -> float | None:
    if isinstance(value, FPNumRef):
        if value.isNaN():
            return float("nan")
        if value.isInf():
            return float("-inf") if value.isNegative() else float("inf")
        text = value.as_string()
        try:
            return float(text)
        except ValueError:
            return _fp_from_z3_text(text)
    return None


def _fp_from_z3_text(text: str) -> float | None:
    # z3 prints some values as "1.5*(2**3)".
    if "*(2**" in text:
        mantissa, _, exponent = text.partition("*(2**")
        try:
            return float(mantissa) * 2.0 ** int(exponent.rstrip(")"))
        except (ValueError, OverflowError):
            return None
    return None


# -- solving ----------------------------------------------------------------------


class PathSolver:
    """An incremental solver with a per-query timeout."""

    def __init__(self, timeout_ms: int = 500) -> None:
        self._solver = z3.Solver()
        self._solver.set("timeout", max(1, timeout_ms))
        self.queries = 0

    def set_timeout(self, timeout_ms: int) -> None:
        self._solver.set("timeout", max(1, timeout_ms))

    def push(self) -> None:
        self._solver.push()

    def pop(self) -> None:
        self._solver.pop()

    def add(self, *constraints: BoolRef) -> None:
        for constraint in constraints:
            if not is_true(constraint):
                self._solver.add(constraint)

    def check(self, *assumptions: BoolRef) -> str:
        """ "sat", "unsat" or "unknown" (timeout or undecided)."""
        self.queries += 1
        result = self._solver.check(*assumptions)
        if result == z3.sat:
            return "sat"
        if result == z3.unsat:
            return "unsat"
        return "unknown"

    def model(self) -> ModelRef:
        return self._solver.model()


def model_int(model: ModelRef, term: BitVecRef) -> int:
    value = model.eval(term, model_completion=True)
    assert isinstance(value, BitVecNumRef), value
    return value.as_long()


def model_bool(model: ModelRef, term: BoolRef) -> bool:
    return is_true(model.eval(term, model_completion=True))


def model_fp(model: ModelRef, term: FPRef) -> float:
    """The Python float of a floating-point term, exact (read from its IEEE bits)."""
    import struct

    value = model.eval(term, model_completion=True)
    if isinstance(value, FPNumRef) and value.isNaN():
        return float("nan")
    bits = model_bits_of_fp(model, term)
    if term.sbits() == 24:
        return float(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])
    return float(struct.unpack("<d", struct.pack("<Q", bits & 0xFFFFFFFFFFFFFFFF))[0])


def model_bits_of_fp(model: ModelRef, term: FPRef) -> int:
    raw = model.eval(fp_to_bits(term), model_completion=True)
    if isinstance(raw, BitVecNumRef):
        return raw.as_long()
    # fpToIEEEBV of NaN is not a value in z3's model; use the canonical quiet NaN.
    return 0x7FC00000 if term.sbits() == 24 else 0x7FF8000000000000


def model_pins(model: ModelRef) -> list[BoolRef]:
    """Constraints fixing every constant (and memory array) of ``model`` to its value."""
    pins: list[BoolRef] = []
    for decl in model.decls():
        if decl.arity() != 0:
            continue
        term = decl()
        value = model.eval(term, model_completion=True)
        pins.append(term == value)
    return pins


def term_key(term: ExprRef) -> int:
    """A structural identity: z3 hash-conses terms, so equal terms share an id."""
    return term.get_id()
