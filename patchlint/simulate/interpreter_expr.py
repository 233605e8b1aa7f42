"""Expressions of the interpreter: literals, operators, field access, casts, assignments.

``ExpressionMixin`` is mixed into ``Interpreter``; C integer semantics are kept
where they change outcomes (``bool`` conversion, unsigned wrap-around, C
division), and anything else stops the run rather than guessing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TypeAlias

from patchlint.simulate.frames import Engine, Frame, Node, child, line_of, text_of
from patchlint.simulate.world import (
    ElemLoc,
    FieldLoc,
    Obj,
    Ptr,
    Slot,
    Stop,
    Uninitialised,
    Value,
    VarLoc,
    describe,
    truth,
)

_INT_TYPES = {
    "bool": (1, False),
    "_Bool": (1, False),
    "char": (8, True),
    "u8": (8, False),
    "s8": (8, True),
    "short": (16, True),
    "u16": (16, False),
    "s16": (16, True),
    "int": (32, True),
    "u32": (32, False),
    "s32": (32, True),
    "unsigned": (32, False),
    "long": (64, True),
    "u64": (64, False),
    "s64": (64, True),
    "size_t": (64, False),
    "ssize_t": (64, True),
    "gfp_t": (32, False),
    "pid_t": (32, True),
}


@functools.lru_cache(maxsize=1024)
def int_type(type_text: str) -> tuple[int, bool] | None:
    """(bits, signed) for a scalar C type name, ``None`` for anything else."""
    words = [
        w
        for w in re.split(r"\s+", type_text.strip())
        if w not in ("const", "volatile", "static", "register")
    ]
    if not words or any(w.startswith(("struct", "union", "*")) for w in words):
        return None
    if "bool" in words or "_Bool" in words:
        return (1, False)
    unsigned = "unsigned" in words
    core = [w for w in words if w not in ("unsigned", "signed")]
    if not core:
        return (32, not unsigned)
    if core[0] == "enum":
        return (32, True)
    if core[0] not in _INT_TYPES:
        return None
    bits, signed = _INT_TYPES[core[0]]
    if core.count("long") >= 1 and core[0] == "long":
        bits = 64
    return (bits, signed and not unsigned)


def convert(value: Slot, type_text: str, pointer: bool = False) -> Slot:
    """C conversion of a value to a declared type (bool keeps 0/1, unsigned wraps)."""
    if pointer or isinstance(value, Uninitialised):
        return value
    kind = int_type(type_text)
    if kind is None:
        return value
    bits, signed = kind
    if bits == 1:
        return int(truth(value))
    if not isinstance(value, int):
        return value
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def convert_value(value: Value, type_text: str, pointer: bool = False) -> Value:
    converted = convert(value, type_text, pointer)
    return None if isinstance(converted, Uninitialised) else converted


def _number(text: str) -> int:
    text = text.strip()
    if text.startswith(("-", "+")):
        # tree-sitter folds a sign into the literal in some positions.
        value = _number(text[1:])
        return -value if text[0] == "-" else value
    body = text.rstrip("uUlL")
    if body.startswith(("0x", "0X")):
        return int(body, 16)
    if body.startswith(("0b", "0B")):
        return int(body, 2)
    if len(body) > 1 and body.startswith("0") and body.isdigit():
        return int(body, 8)
    if not body.isdigit():
        raise Stop(f"number {text}", kind="unsupported")
    return int(body)


def same(a: Value, b: Value) -> bool:
    """C pointer/scalar equality, treating an embedded object as its address."""
    if isinstance(a, Obj):
        a = Ptr(a)
    if isinstance(b, Obj):
        b = Ptr(b)
    if a is None:
        a = 0
    if b is None:
        b = 0
    return a == b


_ARITH: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << b if 0 <= b < 128 else 0,
    ">>": lambda a, b: a >> b if b >= 0 else 0,
    "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b),
    "<=": lambda a, b: int(a <= b),
    ">=": lambda a, b: int(a >= b),
}

ExpressionHandler: TypeAlias = "Callable[[ExpressionMixin, Node, Frame], Value]"
_EXPRESSIONS: dict[str, ExpressionHandler] = {}


def _handles(*kinds: str) -> Callable[[ExpressionHandler], ExpressionHandler]:
    def register(handler: ExpressionHandler) -> ExpressionHandler:
        for kind in kinds:
            _EXPRESSIONS[kind] = handler
        return handler

    return register


class ExpressionMixin(Engine):
    """Expression evaluation; see ``Interpreter`` for the state it relies on."""

    def eval(self, node: Node, frame: Frame) -> Value:
        handler = _EXPRESSIONS.get(node.type)
        if handler is None:
            raise Stop(
                f"unsupported expression {node.type} at {frame.function}:{line_of(node)}",
                kind="unsupported",
            )
        return handler(self, node, frame)

    @_handles("number_literal")
    def _number_literal(self, node: Node, frame: Frame) -> Value:
        return _number(text_of(node))

    @_handles("char_literal")
    def _char_literal(self, node: Node, frame: Frame) -> Value:
        body = text_of(node)[1:-1]
        escapes = {"\\n": 10, "\\t": 9, "\\0": 0, "\\\\": 92, "\\'": 39}
        if body in escapes:
            return escapes[body]
        if len(body) != 1:
            raise Stop(f"char literal {body}", kind="unsupported")
        return ord(body)

    @_handles("string_literal", "concatenated_string")
    def _string_literal(self, node: Node, frame: Frame) -> Value:
        return text_of(node)

    @_handles("true")
    def _true(self, node: Node, frame: Frame) -> Value:
        return 1

    @_handles("false", "null")
    def _false(self, node: Node, frame: Frame) -> Value:
        return 0

    @_handles("identifier")
    def _identifier(self, node: Node, frame: Frame) -> Value:
        return self.lookup(text_of(node), frame)

    @_handles("parenthesized_expression")
    def _parenthesized_expression(self, node: Node, frame: Frame) -> Value:
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            raise Stop("empty parentheses", kind="unsupported")
        return self.eval(inner[0], frame)

    @_handles("comma_expression")
    def _comma_expression(self, node: Node, frame: Frame) -> Value:
        self.eval(child(node, "left"), frame)
        return self.eval(child(node, "right"), frame)

    @_handles("conditional_expression")
    def _conditional_expression(self, node: Node, frame: Frame) -> Value:
        condition = child(node, "condition")
        cond = truth(self.eval(condition, frame))
        self.branch(frame, node, cond)
        chosen = node.child_by_field_name("consequence" if cond else "alternative")
        if chosen is None:  # GNU `a ?: b`
            return self.eval(condition, frame)
        return self.eval(chosen, frame)

    @_handles("unary_expression")
    def _unary_expression(self, node: Node, frame: Frame) -> Value:
        op = text_of(node.child_by_field_name("operator"))
        value = self.eval(child(node, "argument"), frame)
        if op == "!":
            return int(not truth(value))
        if not isinstance(value, int):
            raise Stop(f"arithmetic {op} on {describe(value)}", kind="error")
        return {"~": ~value, "-": -value, "+": value}.get(op, value)

    @_handles("binary_expression")
    def _binary_expression(self, node: Node, frame: Frame) -> Value:
        op = text_of(node.child_by_field_name("operator"))
        left_node, right_node = child(node, "left"), child(node, "right")
        if op in ("&&", "||"):
            first = truth(self.eval(left_node, frame))
            if (op == "&&" and not first) or (op == "||" and first):
                return int(first)
            return int(truth(self.eval(right_node, frame)))
        left = self.eval(left_node, frame)
        right = self.eval(right_node, frame)
        if op == "==":
            return int(same(left, right))
        if op == "!=":
            return int(not same(left, right))
        return self.arith(op, left, right, node)

    def arith(self, op: str, left: Value, right: Value, node: Node) -> int:
        if not isinstance(left, int) or not isinstance(right, int):
            raise Stop(
                f"arithmetic {op} on {describe(left)} and {describe(right)} ({text_of(node)[:60]})",
                kind="unsupported",
            )
        if op in ("/", "%"):
            if right == 0:
                raise Stop(f"division by zero in {text_of(node)[:60]}", kind="error")
            quotient = abs(left) // abs(right) * (1 if (left >= 0) == (right >= 0) else -1)
            return quotient if op == "/" else left - quotient * right
        if op not in _ARITH:
            raise Stop(f"operator {op}", kind="unsupported")
        return _ARITH[op](left, right)

    @_handles("pointer_expression")
    def _pointer_expression(self, node: Node, frame: Frame) -> Value:
        op = text_of(node.child_by_field_name("operator"))
        argument = child(node, "argument")
        if op == "&":
            return self.address_of(argument, frame)
        target = self.eval(argument, frame)
        if isinstance(target, Ptr):
            return target.obj
        if isinstance(target, FieldLoc | ElemLoc | VarLoc):
            return target.load()
        raise Stop(f"dereference of {describe(target)}", kind="error")

    @_handles("field_expression")
    def _field_expression(self, node: Node, frame: Frame) -> Value:
        base = self.eval(child(node, "argument"), frame)
        obj = self.deref_obj(base, node)
        return obj.get(text_of(node.child_by_field_name("field")))

    @_handles("subscript_expression")
    def _subscript_expression(self, node: Node, frame: Frame) -> Value:
        return self.lvalue(node, frame).load()

    @_handles("cast_expression")
    def _cast_expression(self, node: Node, frame: Frame) -> Value:
        value = self.eval(child(node, "value"), frame)
        type_node = node.child_by_field_name("type")
        pointer = type_node is not None and type_node.child_by_field_name("declarator") is not None
        base = text_of(type_node.child_by_field_name("type")) if type_node is not None else ""
        return convert_value(value, base, pointer)

    @_handles("assignment_expression")
    def _assignment_expression(self, node: Node, frame: Frame) -> Value:
        op = text_of(node.child_by_field_name("operator"))
        loc = self.lvalue(child(node, "left"), frame)
        value = self.eval(child(node, "right"), frame)
        if op != "=":
            value = self.arith(op[:-1], loc.load(), value, node)
        self.store(loc, value, frame)
        return loc.load()

    @_handles("update_expression")
    def _update_expression(self, node: Node, frame: Frame) -> Value:
        op = text_of(node.child_by_field_name("operator"))
        loc = self.lvalue(child(node, "argument"), frame)
        old = loc.load()
        if not isinstance(old, int):
            raise Stop(f"{op} on {describe(old)}", kind="unsupported")
        self.store(loc, old + (1 if op == "++" else -1), frame)
        prefix = node.children[0].type in ("++", "--")
        return loc.load() if prefix else old

    @_handles("sizeof_expression")
    def _sizeof_expression(self, node: Node, frame: Frame) -> Value:
        raise Stop("sizeof is not modelled", kind="unsupported")
