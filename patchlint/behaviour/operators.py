"""C operators on engine values: arithmetic, bitwise, shifts, comparisons.

Integers follow C11 on LP64: integer promotions, the usual arithmetic conversions,
unsigned wrap-around.  Signed overflow wraps too, as the kernel is built with
-fno-strict-overflow.  Division by zero, INT_MIN / -1 and shifts by a negative
count or by the width or more are undefined: the caller turns the condition
returned in ``Arith.undefined`` into a crash of the path ("fault").
"""

from __future__ import annotations

from dataclasses import dataclass

from . import smt
from .ctype import DOUBLE, INT, LONG, FloatType, IntType, promote, usual_arithmetic
from .declarations import Unsupported
from .smt import BoolRef
from .values import FloatV, IntV, OpaqueV, PtrV, Value, bool_value, encode, to_float, to_int

ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"})
COMPARISON = frozenset({"==", "!=", "<", "<=", ">", ">="})


@dataclass
class Arith:
    value: Value
    # Conditions under which the operation is undefined, with what to call it.
    undefined: list[tuple[BoolRef, str]]


def binary(op: str, left: Value, right: Value) -> Arith:
    """``left op right`` for arithmetic operands (pointer arithmetic is the caller's)."""
    if isinstance(left, OpaqueV) or isinstance(right, OpaqueV):
        return Arith(_opaque(op, left, right), [])
    if isinstance(left, FloatV) or isinstance(right, FloatV):
        return Arith(_floating(op, left, right), [])
    if isinstance(left, PtrV) or isinstance(right, PtrV):
        return Arith(_pointer_compare(op, left, right), [])
    if not isinstance(left, IntV) or not isinstance(right, IntV):
        raise Unsupported(f"operator {op} on {left.ctype} and {right.ctype}")
    if op in ("<<", ">>"):
        return _shift(op, left, right)
    ctype = usual_arithmetic(left.ctype, right.ctype)
    a = to_int(left, ctype).expr
    b = to_int(right, ctype).expr
    if op in COMPARISON:
        return Arith(bool_value(_compare(op, a, b, ctype.signed)), [])
    undefined: list[tuple[BoolRef, str]] = []
    if op in ("/", "%"):
        zero = smt.eq(b, smt.bv_val(0, ctype.bits))
        undefined.append((zero, "division by zero"))
        if ctype.signed:
            overflow = smt.conj(
                smt.eq(a, smt.bv_val(1 << (ctype.bits - 1), ctype.bits)),
                smt.eq(b, smt.bv_val(-1, ctype.bits)),
            )
            undefined.append((overflow, "signed division overflow"))
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op == "/":
        result = smt.sdiv(a, b) if ctype.signed else smt.udiv(a, b)
    elif op == "%":
        result = smt.srem(a, b) if ctype.signed else smt.urem(a, b)
    elif op == "&":
        result = a & b
    elif op == "|":
        result = a | b
    elif op == "^":
        result = a ^ b
    else:
        raise Unsupported(f"operator {op}")
    return Arith(IntV(smt.simplify_bv(result), ctype), undefined)


def _compare(op: str, a: smt.BitVecRef, b: smt.BitVecRef, signed: bool) -> BoolRef:
    if op == "==":
        return smt.eq(a, b)
    if op == "!=":
        return smt.differ(a, b)
    if op == "<":
        return smt.slt(a, b) if signed else smt.ult(a, b)
    if op == "<=":
        return smt.sle(a, b) if signed else smt.ule(a, b)
    if op == ">":
        return smt.slt(b, a) if signed else smt.ult(b, a)
    return smt.sle(b, a) if signed else smt.ule(b, a)


def _shift(op: str, left: IntV, right: IntV) -> Arith:
    ctype = promote(left.ctype)
    a = to_int(left, ctype).expr
    count_type = promote(right.ctype)
    count = to_int(right, count_type).expr
    width = smt.bv_val(ctype.bits, count_type.bits)
    if count_type.signed:
        bad = smt.disj(smt.slt(count, smt.bv_val(0, count_type.bits)), smt.sle(width, count))
    else:
        bad = smt.ule(width, count)
    amount = smt.resize(count, ctype.bits, False)
    if op == "<<":
        result = a << amount
    elif ctype.signed:
        result = a >> amount
    else:
        result = smt.lshr(a, amount)
    return Arith(
        IntV(smt.simplify_bv(result), ctype), [(smt.simplify_bool(bad), "shift count out of range")]
    )


def _floating(op: str, left: Value, right: Value) -> Value:
    ctype = DOUBLE
    if isinstance(left, FloatV) and isinstance(right, FloatV):
        ctype = left.ctype if left.ctype.bits >= right.ctype.bits else right.ctype
    elif isinstance(left, FloatV):
        ctype = left.ctype
    elif isinstance(right, FloatV):
        ctype = right.ctype
    a = to_float(left, ctype).expr
    b = to_float(right, ctype).expr
    if op in COMPARISON:
        return bool_value(smt.fp_cmp(op, a, b))
    if op == "+":
        return FloatV(smt.fp_add(a, b), ctype)
    if op == "-":
        return FloatV(smt.fp_sub(a, b), ctype)
    if op == "*":
        return FloatV(smt.fp_mul(a, b), ctype)
    if op == "/":
        return FloatV(smt.fp_div(a, b), ctype)
    raise Unsupported(f"operator {op} on floating-point operands")


def _pointer_compare(op: str, left: Value, right: Value) -> Value:
    if op not in ("==", "!="):
        if isinstance(left, PtrV) and isinstance(right, PtrV):
            raise Unsupported("relational comparison of pointers")  # handled by the caller
        raise Unsupported(f"operator {op} between a pointer and a non-pointer")
    if isinstance(left, PtrV) and isinstance(right, PtrV) and left.path != right.path:
        symbolic = smt.const_int(left.oid) is None or smt.const_int(right.oid) is None
        if symbolic:
            # Input pointers are modelled as pointing to whole objects; whether one
            # equals the address of a member is beyond the model: refuse to guess.
            raise Unsupported(
                f"comparison of the input pointer {left.origin or right.origin} "
                "with the address of a member"
            )
    a = _pointer_bits(left)
    b = _pointer_bits(right)
    same = smt.eq(a, b)
    return bool_value(same if op == "==" else smt.neg(same))


def _pointer_bits(value: Value) -> smt.BitVecRef:
    if isinstance(value, PtrV):
        return encode(value)
    if isinstance(value, IntV):
        # Only the null pointer constant compares with pointers in valid C.
        literal = smt.const_int(value.expr)
        if literal == 0:
            return smt.bv_val(0, 112)
        raise Unsupported("comparison of a pointer with a non-zero integer")
    raise Unsupported(f"pointer comparison with {value.ctype}")


def _opaque(op: str, left: Value, right: Value) -> Value:
    """Values of unknown type support equality only."""
    if op not in ("==", "!="):
        opaque = left if isinstance(left, OpaqueV) else right
        assert isinstance(opaque, OpaqueV)
        raise Unsupported(f"operator {op} on {opaque.what}, whose type ({opaque.ctype}) is unknown")
    a = _opaque_bits(left, right)
    b = _opaque_bits(right, left)
    same = smt.eq(a, b)
    return bool_value(same if op == "==" else smt.neg(same))


def _opaque_bits(value: Value, other: Value) -> smt.BitVecRef:
    if isinstance(value, OpaqueV):
        if isinstance(other, IntV):
            return smt.resize(value.expr, other.ctype.bits, False)
        return value.expr
    if isinstance(value, IntV):
        return value.expr
    if isinstance(value, PtrV) and smt.const_int(encode(value)) == 0:
        return smt.bv_val(0, 64)  # comparison with NULL
    raise Unsupported(f"comparison of {value.ctype} with a value of unknown type")


def unary(op: str, value: Value) -> Value:
    if op == "!":
        from .values import truth

        return bool_value(smt.neg(truth(value)))
    if isinstance(value, FloatV):
        if op == "-":
            return FloatV(smt.fp_neg(value.expr), value.ctype)
        if op == "+":
            return value
        raise Unsupported(f"operator {op} on a floating-point operand")
    if not isinstance(value, IntV):
        if isinstance(value, OpaqueV):
            raise Unsupported(
                f"operator {op} on {value.what}, whose type ({value.ctype}) is unknown"
            )
        raise Unsupported(f"operator {op} on {value.ctype}")
    ctype = promote(value.ctype)
    operand = to_int(value, ctype).expr
    if op == "-":
        return IntV(smt.simplify_bv(-operand), ctype)
    if op == "~":
        return IntV(smt.simplify_bv(~operand), ctype)
    if op == "+":
        return IntV(operand, ctype)
    raise Unsupported(f"unary operator {op}")


def increment(value: Value, delta: int) -> Value:
    """``value + delta`` in the value's own type (for ++ and --)."""
    if isinstance(value, IntV):
        one = smt.bv_val(delta, value.ctype.bits)
        if value.ctype.rank == 0:
            return to_int(
                binary("+", IntV(value.expr, INT), IntV(smt.bv_val(delta, 32), INT)).value,
                value.ctype,
            )
        return IntV(smt.simplify_bv(value.expr + one), value.ctype)
    if isinstance(value, FloatV):
        return FloatV(
            smt.fp_add(value.expr, smt.fp_val(float(delta), value.ctype.bits)), value.ctype
        )
    raise Unsupported(f"++/-- on {value.ctype}")


def common_float(left: FloatType, right: FloatType) -> FloatType:
    return left if left.bits >= right.bits else right


def int_of_size(bits: int, signed: bool) -> IntType:
    return LONG if bits == 64 and signed else IntType(bits, signed, 4 if bits == 64 else 3)
