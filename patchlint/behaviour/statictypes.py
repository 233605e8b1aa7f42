"""Static types of expressions (for sizeof, typeof-free ?: conversions and the types of
macro constants), computed without evaluating anything; and C string literals."""

from __future__ import annotations

from tree_sitter import Node

from .access import AccessMixin
from .ctype import (
    CHAR,
    INT,
    ULONG,
    AnyType,
    ArrayType,
    FloatType,
    IntType,
    PointerType,
    RecordType,
    UnknownType,
    VoidType,
    decay,
    promote,
    usual_arithmetic,
)
from .declarations import (
    Unsupported,
    declarator_type,
    float_literal,
    int_literal,
    is_float_literal,
    specifier_type,
    text,
    unescape,
)
from .operators import COMPARISON


class StaticTypeMixin(AccessMixin):
    def type_of_descriptor(self, node: Node) -> AnyType:
        spec = node.child_by_field_name("type")
        if spec is None:
            raise Unsupported(f"type {text(node)}")
        if spec.type == "macro_type_specifier" or text(spec).startswith("typeof"):
            raise Unsupported(f"type {text(node)}")
        base = specifier_type(self.frame.symbols, spec)
        return declarator_type(
            self.frame.symbols, base, node.child_by_field_name("declarator")
        ).ctype

    def static_type(self, node: Node) -> AnyType:
        """The type of an expression without evaluating it (sizeof, typeof, ?:)."""
        kind = node.type
        if kind == "identifier":
            return self.identifier_type(text(node), node)
        if kind == "parenthesized_expression" and len(node.named_children) == 1:
            return self.static_type(node.named_children[0])
        if kind == "number_literal":
            literal = text(node)
            if is_float_literal(literal) and not literal.lower().startswith("0x"):
                parsed_float = float_literal(literal)
                return parsed_float[1] if parsed_float else UnknownType(literal)
            parsed = int_literal(literal)
            return parsed[1] if parsed else UnknownType(literal)
        if kind == "char_literal":
            return INT
        if kind == "null":
            return PointerType(VoidType())
        if kind in ("true", "false"):
            return INT
        if kind in ("string_literal", "concatenated_string"):
            return ArrayType(CHAR, len(string_bytes(node)) + 1)
        if kind == "cast_expression":
            return self.type_of_descriptor(child_node(node, "type"))
        if kind == "field_expression":
            return self._static_field_type(node)
        if kind == "subscript_expression":
            base = decay(self.static_type(child_node(node, "argument")))
            if isinstance(base, PointerType):
                return base.target
        if kind == "pointer_expression":
            inner = self.static_type(child_node(node, "argument"))
            if node.children[0].type == "&":
                return PointerType(inner)
            inner = decay(inner)
            if isinstance(inner, PointerType):
                return inner.target
        if kind == "binary_expression":
            return self._static_binary_type(node)
        if kind == "unary_expression":
            op = text(node.child_by_field_name("operator"))
            inner = self.static_type(child_node(node, "argument"))
            if op == "!":
                return INT
            return promoted(inner)
        if kind in ("assignment_expression",):
            return self.static_type(child_node(node, "left"))
        if kind == "update_expression":
            return self.static_type(child_node(node, "argument"))
        if kind == "conditional_expression":
            return self.static_type(child_node(node, "alternative"))
        if kind == "call_expression":
            return self.call_type(node)
        if kind == "sizeof_expression":
            return ULONG
        if kind == "comma_expression":
            return self.static_type(child_node(node, "right"))
        raise Unsupported(f"type of {node.type.replace('_', ' ')} `{text(node)[:40]}`")

    def identifier_type(self, name: str, node: Node) -> AnyType:
        raise NotImplementedError

    def call_type(self, node: Node) -> AnyType:
        raise NotImplementedError

    def _static_field_type(self, node: Node) -> AnyType:
        from .ctype import field_path

        base = self.static_type(child_node(node, "argument"))
        if text(node.child_by_field_name("operator")) == "->":
            base = decay(base)
            if not isinstance(base, PointerType):
                raise Unsupported(f"type of {text(node)}")
            base = base.target
        if not isinstance(base, RecordType):
            raise Unsupported(f"type of {text(node)}")
        chain = field_path(self.frame.symbols, base, text(node.child_by_field_name("field")))
        if chain is None:
            raise Unsupported(f"type of {text(node)}")
        return chain[-1][1].ctype

    def _static_binary_type(self, node: Node) -> AnyType:
        op = text(node.child_by_field_name("operator"))
        if op in COMPARISON or op in ("&&", "||"):
            return INT
        left = decay(self.static_type(child_node(node, "left")))
        right = decay(self.static_type(child_node(node, "right")))
        if isinstance(left, PointerType) and isinstance(right, PointerType):
            return IntType(64, True, 4)
        if isinstance(left, PointerType):
            return left
        if isinstance(right, PointerType):
            return right
        if isinstance(left, FloatType) or isinstance(right, FloatType):
            bits = max(t.bits for t in (left, right) if isinstance(t, FloatType))
            return FloatType(bits)
        if isinstance(left, IntType) and isinstance(right, IntType):
            if op in ("<<", ">>"):
                return promoted(left)
            return usual_arithmetic(left, right)
        raise Unsupported(f"type of {text(node)}")


def promoted(ctype: AnyType) -> AnyType:
    return promote(ctype) if isinstance(ctype, IntType) else ctype


def child_node(node: Node, name: str) -> Node:
    child = node.child_by_field_name(name)
    if child is None:
        raise Unsupported(f"incomplete {node.type} at line {node.start_point[0] + 1}")
    return child


def string_bytes(node: Node) -> bytes:
    if node.type == "concatenated_string":
        return b"".join(string_bytes(c) for c in node.named_children if c.type == "string_literal")
    if node.type != "string_literal":
        raise Unsupported(f"string {text(node)}")
    raw = text(node)
    if raw[:1] in ("L", "u", "U"):
        raise Unsupported(f"wide string {raw}")
    return unescape(raw[1:-1])


def repr_string(data: bytes) -> str:
    shown = (
        data.decode("utf-8", "replace")
        .replace("\\", "\\\\")
        .replace("\n", "\\n")
        .replace('"', '\\"')
    )
    return f'"{shown}"'
