"""Evaluation of C expressions over the normalised tree-sitter tree."""

from __future__ import annotations

from tree_sitter import Node

from . import smt
from .ctype import (
    BOOL,
    CHAR,
    INT,
    ULONG,
    AnyType,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    VoidType,
    decay,
    size_align,
    type_key,
    usual_arithmetic,
)
from .declarations import (
    Unsupported,
    char_value,
    float_literal,
    int_literal,
    is_float_literal,
    text,
)
from .machine import Fault, LValue, MemRef, VarRef, ptrdiff
from .operators import ARITHMETIC, COMPARISON, binary, increment, unary
from .statictypes import StaticTypeMixin, repr_string, string_bytes
from .statictypes import child_node as _child
from .values import (
    AggV,
    FloatV,
    FuncV,
    IntV,
    OpaqueV,
    PtrV,
    Value,
    bool_value,
    convert,
    int_const,
    to_int,
    truth,
)

_ASSIGN_OPS = {"+=": "+", "-=": "-", "*=": "*", "/=": "/", "%=": "%", "<<=": "<<", ">>=": ">>"}
_ASSIGN_OPS |= {"&=": "&", "|=": "|", "^=": "^"}


class ExpressionMixin(StaticTypeMixin):
    # Implemented by the call and statement mixins.
    def call(self, node: Node) -> Value:
        raise NotImplementedError

    def statement_expression(self, body: Node) -> Value:
        raise NotImplementedError

    def identifier_value(self, name: str, node: Node) -> Value:
        raise NotImplementedError

    def identifier_lvalue(self, name: str, node: Node) -> LValue | None:
        raise NotImplementedError

    # -- dispatch -----------------------------------------------------------------
    def eval(self, node: Node) -> Value:
        self.tick()
        kind = node.type
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise Unsupported(_describe(node))
        return handler(self, node)

    def eval_number(self, node: Node) -> Value:
        literal = text(node)
        if is_float_literal(literal) and not literal.lower().startswith("0x"):
            parsed_float = float_literal(literal)
            if parsed_float is None:
                raise Unsupported(f"floating constant {literal}")
            value, ftype = parsed_float
            return FloatV(smt.fp_val(value, ftype.bits), ftype)
        parsed = int_literal(literal)
        if parsed is None:
            raise Unsupported(f"constant {literal}")
        number, ctype = parsed
        assert isinstance(ctype, IntType)
        return int_const(number, ctype)

    def eval_char(self, node: Node) -> Value:
        value = char_value(node)
        if value is None:
            raise Unsupported(f"character constant {text(node)}")
        return int_const(value, INT)

    def eval_string(self, node: Node) -> Value:
        data = string_bytes(node)
        oid = self.inputs.string_oid(data)
        zero = smt.bv_val(0, 32)
        return PtrV(
            smt.bv_val(oid, 32), zero, "", zero, PointerType(CHAR), repr_string(data), "char"
        )

    def eval_identifier(self, node: Node) -> Value:
        return self.identifier_value(text(node), node)

    def eval_parenthesized(self, node: Node) -> Value:
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) == 1 and inner[0].type == "compound_statement":
            return self.statement_expression(inner[0])
        if len(inner) != 1:
            raise Unsupported(_describe(node))
        return self.eval(inner[0])

    def eval_unary(self, node: Node) -> Value:
        op = text(node.child_by_field_name("operator"))
        argument = _child(node, "argument")
        value = self.rvalue(argument)
        if op == "!" and isinstance(value, PtrV | FuncV):
            return bool_value(smt.neg(truth(value)))
        return unary(op, value)

    def eval_binary(self, node: Node) -> Value:
        op = text(node.child_by_field_name("operator"))
        left_node = _child(node, "left")
        right_node = _child(node, "right")
        if op in ("&&", "||"):
            left = self.rvalue(left_node)
            taken = self.branch(truth(left), left_node)
            if (op == "&&" and not taken) or (op == "||" and taken):
                return int_const(int(taken), INT)
            right = self.rvalue(right_node)
            return bool_value(truth(right))
        left = self.rvalue(left_node)
        right = self.rvalue(right_node)
        return self.apply_binary(op, left, right, node)

    def apply_binary(self, op: str, left: Value, right: Value, node: Node) -> Value:
        if isinstance(left, PtrV) or isinstance(right, PtrV):
            pointer_result = self._pointer_arithmetic(op, left, right)
            if pointer_result is not None:
                return pointer_result
        if op not in ARITHMETIC and op not in COMPARISON:
            raise Unsupported(f"operator {op}")
        result = binary(op, left, right)
        for condition, what in result.undefined:
            if self.branch(condition, node):
                raise Fault(f"{what} at line {node.start_point[0] + 1}")
        return result.value

    def _pointer_arithmetic(self, op: str, left: Value, right: Value) -> Value | None:
        if isinstance(left, PtrV) and isinstance(right, IntV) and op in ("+", "-"):
            offset = to_int(right, IntType(64, right.ctype.signed, 4)).expr
            return self.pointer_add(left, offset if op == "+" else smt.simplify_bv(-offset))
        if isinstance(left, IntV) and isinstance(right, PtrV) and op == "+":
            return self.pointer_add(right, to_int(left, IntType(64, left.ctype.signed, 4)).expr)
        if isinstance(left, PtrV) and isinstance(right, PtrV):
            if op == "-":
                return ptrdiff(left, right, self)
            if op in ("<", "<=", ">", ">="):
                a = smt.sign_ext(32, self.pointer_index(left))
                b = smt.sign_ext(32, self.pointer_index(right))
                return binary(
                    op, IntV(a, IntType(64, True, 4)), IntV(b, IntType(64, True, 4))
                ).value
        if op in ("&&", "||"):
            return None
        if isinstance(left, PtrV) and isinstance(right, IntV) and op in ("&", "|", "^", "%", ">>"):
            raise Unsupported("bit operations on a pointer")
        return None

    def eval_assignment(self, node: Node) -> Value:
        op = text(node.child_by_field_name("operator"))
        target = self.lvalue(_child(node, "left"))
        right = self.rvalue(_child(node, "right"))
        if op == "=":
            return self.store(target, right, node)
        base_op = _ASSIGN_OPS.get(op)
        if base_op is None:
            raise Unsupported(f"assignment operator {op}")
        current = self.load(target, node)
        return self.store(target, self.apply_binary(base_op, current, right, node), node)

    def eval_update(self, node: Node) -> Value:
        op = text(node.child_by_field_name("operator"))
        argument = _child(node, "argument")
        if argument.type == "unary_expression":
            # tree-sitter-c reads "!x--" as "(!x)--"; C means "!(x--)".
            inner = _child(argument, "argument")
            value = self._update(op, inner, node)
            return unary(text(argument.child_by_field_name("operator")), value)
        return self._update(op, argument, node)

    def _update(self, op: str, argument: Node, node: Node) -> Value:
        target = self.lvalue(argument)
        current = self.load(target, node)
        delta = 1 if op == "++" else -1
        if isinstance(current, PtrV):
            new: Value = self.pointer_add(current, smt.bv_val(delta, 64))
        else:
            new = increment(current, delta)
        self.store(target, new, node)
        prefix = node.children[0].type in ("++", "--")
        return new if prefix else current

    def eval_conditional(self, node: Node) -> Value:
        cond = self.rvalue(_child(node, "condition"))
        consequence = node.child_by_field_name("consequence")
        taken = self.branch(truth(cond), node)
        if taken:
            value = cond if consequence is None else self.rvalue(consequence)
            other: AnyType | None = self.static_type(_child(node, "alternative"))
        else:
            value = self.rvalue(_child(node, "alternative"))
            other = self.static_type(consequence) if consequence is not None else None
        return _conditional_type(value, other)

    def eval_comma(self, node: Node) -> Value:
        self.eval(_child(node, "left"))
        return self.rvalue(_child(node, "right"))

    def eval_cast(self, node: Node) -> Value:
        target = self.type_of_descriptor(_child(node, "type"))
        value = self.rvalue(_child(node, "value"))
        if isinstance(target, VoidType):
            return value
        if isinstance(target, PointerType) and isinstance(value, PtrV):
            return PtrV(
                value.oid, value.elem, value.path, value.sub, target, value.origin, value.base
            )
        return convert(self.materialise(value, target), target)

    def eval_sizeof(self, node: Node) -> Value:
        type_node = node.child_by_field_name("type")
        if type_node is not None:
            ctype = self.type_of_descriptor(type_node)
        else:
            ctype = self.static_type(_child(node, "value"))
        return self.size_of(ctype)

    def size_of(self, ctype: AnyType) -> Value:
        layout = size_align(self.frame.symbols, ctype)
        if layout is not None:
            return int_const(layout[0], ULONG)
        # An incomplete type: a positive constant shared by both versions.
        key = f"sizeof({type_key(ctype)})"
        term = self.inputs.symbol(key, key, ULONG, 64, "constant")
        self.decider.assume(
            smt.conj(smt.ult(smt.bv_val(0, 64), term), smt.ult(term, smt.bv_val(1 << 32, 64)))
        )
        return IntV(term, ULONG)

    def eval_field(self, node: Node) -> Value:
        operator = text(node.child_by_field_name("operator"))
        if operator == ".":
            base_node = _child(node, "argument")
            if not _is_lvalue_form(base_node):
                aggregate = self.rvalue(base_node)
                if not isinstance(aggregate, AggV):
                    raise Unsupported(f"member of {aggregate.ctype}")
                member = aggregate.member(text(node.child_by_field_name("field")))
                if member is None:
                    raise Unsupported(
                        f"member {text(node.child_by_field_name('field'))} of a returned value"
                    )
                return member
        return self.load(self.lvalue(node), node)

    def eval_subscript(self, node: Node) -> Value:
        return self.load(self.lvalue(node), node)

    def eval_pointer_expression(self, node: Node) -> Value:
        op = node.children[0].type
        argument = _child(node, "argument")
        if op == "&":
            if argument.type == "identifier":
                name = text(argument)
                ref = self.identifier_lvalue(name, argument)
                if ref is None:
                    value = self.identifier_value(name, argument)
                    if isinstance(value, FuncV):
                        return value
                    if isinstance(value, OpaqueV):
                        # A global the headers do not declare (DEFINE_SPINLOCK(x), ...):
                        # an object of unknown type, the same in both versions.
                        return self.global_object(name, VoidType())
                    raise Unsupported(f"address of {name}")
                return self.address_of(ref, argument)
            return self.address_of(self.lvalue(argument), argument)
        value = self.rvalue(argument)
        if isinstance(value, FuncV):
            return value
        if isinstance(value, PtrV) and isinstance(value.ctype.target, FunctionType):
            return value
        return self.load(self.lvalue(node), node)

    def address_of(self, ref: LValue, node: Node) -> Value:
        if isinstance(ref, VarRef):
            if ref.var.obj is None:
                raise Unsupported(f"address of register variable {ref.var.name}")
            if isinstance(ref.var.ctype, ArrayType):
                raise Unsupported(f"address of array {ref.var.name} (pointer to array)")
            return ref.var.obj
        if ref.bitfield is not None:
            raise Unsupported("address of a bit-field")
        if ref.union_bits is not None:
            raise Unsupported("address of a member of a scalar union")
        return ref.ptr

    def eval_call(self, node: Node) -> Value:
        return self.call(node)

    def eval_true(self, node: Node) -> Value:
        return int_const(1, BOOL)

    def eval_false(self, node: Node) -> Value:
        return int_const(0, BOOL)

    def eval_null(self, node: Node) -> Value:
        return PtrV(
            smt.bv_val(0, 32), smt.bv_val(0, 32), "", smt.bv_val(0, 32), PointerType(VoidType())
        )

    def eval_compound_literal(self, node: Node) -> Value:
        ctype = self.type_of_descriptor(_child(node, "type"))
        value_node = _child(node, "value")
        from .initialise import initialise_object  # statements own initialisation

        if isinstance(ctype, ArrayType):
            first = self.new_local_object(ctype.elem, "(compound literal)")
            initialise_object(self, first, ctype, value_node)
            return first
        obj = self.new_local_object(ctype, "(compound literal)")
        initialise_object(self, obj, ctype, value_node)
        return self.load(MemRef(obj, "(compound literal)"), node)

    # -- lvalues ------------------------------------------------------------------
    def lvalue(self, node: Node) -> LValue:
        kind = node.type
        if kind == "identifier":
            ref = self.identifier_lvalue(text(node), node)
            if ref is None:
                raise Unsupported(f"assignment to {text(node)}, which is not a variable")
            return ref
        if kind == "parenthesized_expression":
            inner = [c for c in node.named_children if c.type != "comment"]
            if len(inner) == 1:
                return self.lvalue(inner[0])
        if kind == "field_expression":
            return self._field_lvalue(node)
        if kind == "subscript_expression":
            base = self.rvalue(_child(node, "argument"))
            index = self.rvalue(_child(node, "index"))
            if isinstance(index, PtrV) and isinstance(base, IntV):
                base, index = index, base
            if not isinstance(base, PtrV) or not isinstance(index, IntV):
                raise Unsupported(f"subscript of {base.ctype}")
            offset = to_int(index, IntType(64, index.ctype.signed, 4)).expr
            element = self.pointer_add(base, offset)
            shown = _index_text(index, self.inputs.placeholder(index.expr))
            return MemRef(element, f"{_origin(base)}[{shown}]")
        if kind == "pointer_expression" and node.children[0].type == "*":
            argument = _child(node, "argument")
            pointer = self._as_pointer(self.rvalue(argument), argument)
            if not isinstance(pointer, PtrV):
                raise Unsupported(f"dereference of {pointer.ctype}")
            return MemRef(pointer, f"*{_origin(pointer)}")
        if kind == "call_expression":
            value = self.call(node)
            if isinstance(value, PtrV):
                raise Unsupported("assignment to a call result")
        raise Unsupported(f"assignment to {_describe(node)}")

    def _field_lvalue(self, node: Node) -> LValue:
        operator = text(node.child_by_field_name("operator"))
        field_name = text(node.child_by_field_name("field"))
        base_node = _child(node, "argument")
        if operator == "->":
            pointer = self._as_pointer(self.rvalue(base_node), base_node)
            if not isinstance(pointer, PtrV):
                raise Unsupported(f"-> on {pointer.ctype}")
            self.check_deref(pointer, node)
            found = self.member(pointer, field_name, node)
            return MemRef(
                found.ptr, f"{_origin(pointer)}->{field_name}", found.bitfield, found.union_bits
            )
        base = self.lvalue(base_node)
        if isinstance(base, VarRef):
            if base.var.obj is None:
                raise Unsupported(f"member of register variable {base.var.name}")
            found = self.member(base.var.obj, field_name, node)
            return MemRef(
                found.ptr, f"{base.var.name}.{field_name}", found.bitfield, found.union_bits
            )
        found = self.member(base.ptr, field_name, node)
        return MemRef(found.ptr, f"{base.name}.{field_name}", found.bitfield, found.union_bits)

    def rvalue(self, node: Node) -> Value:
        return self.eval(node)

    def _as_pointer(self, value: Value, node: Node) -> Value:
        """A value of unknown type dereferenced: a pointer to what the code reads from it."""
        if isinstance(value, OpaqueV):
            try:
                return self.materialise(value, decay(self.static_type(node)))
            except Unsupported:
                return self.materialise(value, PointerType(VoidType()))
        return value

    # -- static types ----------------------------------------------------------------


def _conditional_type(value: Value, other: AnyType | None) -> Value:
    """?: converts both arms to their common type."""
    if other is None or not isinstance(value, IntV | FloatV):
        return value
    other = decay(other)
    if isinstance(value, IntV) and isinstance(other, IntType):
        return convert(value, usual_arithmetic(value.ctype, other))
    if isinstance(value, IntV) and isinstance(other, FloatType):
        return convert(value, other)
    if isinstance(value, FloatV) and isinstance(other, FloatType) and other.bits > value.ctype.bits:
        return convert(value, other)
    return value


def _is_lvalue_form(node: Node) -> bool:
    if node.type == "parenthesized_expression" and len(node.named_children) == 1:
        return _is_lvalue_form(node.named_children[0])
    return node.type in (
        "identifier",
        "field_expression",
        "subscript_expression",
        "pointer_expression",
    )


def _origin(value: Value) -> str:
    if isinstance(value, PtrV) and value.origin:
        return value.origin
    return "(pointer)"


def _index_text(index: IntV, placeholder: str) -> str:
    """A constant index as a number; a symbolic one as a placeholder the witness fills."""
    literal = smt.const_int(index.expr)
    if literal is not None:
        signed = (
            literal - (1 << index.ctype.bits)
            if index.ctype.signed and literal >> (index.ctype.bits - 1)
            else literal
        )
        return str(signed)
    return placeholder


def _describe(node: Node) -> str:
    names = {
        "gnu_asm_expression": "inline assembly",
        "asm_statement": "inline assembly",
        "generic_expression": "_Generic selection",
        "offsetof_expression": "offsetof",
        "alignof_expression": "_Alignof",
        "initializer_list": "initializer list outside a declaration",
        "ERROR": "code the parser could not read",
    }
    shown = names.get(node.type, node.type.replace("_", " "))
    snippet = text(node).split("\n")[0][:40]
    return f"{shown} `{snippet}` at line {node.start_point[0] + 1}"


_HANDLERS = {
    "number_literal": ExpressionMixin.eval_number,
    "char_literal": ExpressionMixin.eval_char,
    "string_literal": ExpressionMixin.eval_string,
    "concatenated_string": ExpressionMixin.eval_string,
    "identifier": ExpressionMixin.eval_identifier,
    "parenthesized_expression": ExpressionMixin.eval_parenthesized,
    "unary_expression": ExpressionMixin.eval_unary,
    "binary_expression": ExpressionMixin.eval_binary,
    "assignment_expression": ExpressionMixin.eval_assignment,
    "update_expression": ExpressionMixin.eval_update,
    "conditional_expression": ExpressionMixin.eval_conditional,
    "comma_expression": ExpressionMixin.eval_comma,
    "cast_expression": ExpressionMixin.eval_cast,
    "sizeof_expression": ExpressionMixin.eval_sizeof,
    "field_expression": ExpressionMixin.eval_field,
    "subscript_expression": ExpressionMixin.eval_subscript,
    "pointer_expression": ExpressionMixin.eval_pointer_expression,
    "call_expression": ExpressionMixin.eval_call,
    "true": ExpressionMixin.eval_true,
    "false": ExpressionMixin.eval_false,
    "null": ExpressionMixin.eval_null,
    "compound_literal_expression": ExpressionMixin.eval_compound_literal,
}

__all__ = ["ExpressionMixin", "repr_string", "string_bytes"]
_UNUSED = (OpaqueV,)
