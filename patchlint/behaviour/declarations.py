"""Reading C declarations from tree-sitter nodes into ``ctype`` types.

The names a declaration needs (typedefs, struct tags, enum constants, macros in
array sizes) are looked up through a ``TypeScope``, which the symbol table
implements over the file, the model header and the kernel headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from tree_sitter import Node

from .ctype import (
    BOOL,
    CHAR,
    DOUBLE,
    FLOAT,
    INT,
    LLONG,
    LONG,
    SHORT,
    UCHAR,
    UINT,
    ULLONG,
    ULONG,
    USHORT,
    VOID,
    AnyType,
    ArrayType,
    FieldDef,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    RecordDef,
    RecordType,
    UnknownType,
    VoidType,
    size_align,
)

# tree-sitter-c reads these as primitive types; their LP64 meaning is fixed by C.
PRIMITIVES: dict[str, AnyType] = {
    "void": VOID,
    "char": CHAR,
    "int": INT,
    "short": SHORT,
    "long": LONG,
    "float": FLOAT,
    "double": DOUBLE,
    "_Bool": BOOL,
    "bool": BOOL,
    "size_t": ULONG,
    "ssize_t": LONG,
    "ptrdiff_t": LONG,
    "intptr_t": LONG,
    "uintptr_t": ULONG,
    "int8_t": IntType(8, True, 1),
    "uint8_t": UCHAR,
    "int16_t": SHORT,
    "uint16_t": USHORT,
    "int32_t": INT,
    "uint32_t": UINT,
    "int64_t": LONG,
    "uint64_t": ULONG,
    "char16_t": USHORT,
    "char32_t": UINT,
}


class Unsupported(Exception):  # noqa: N818 - names the construct, not an error class
    """A construct the engine does not model; the verdict becomes unknown with this text."""


class TypeScope(Protocol):
    def typedef(self, name: str) -> AnyType | None: ...

    def record_tag(self, tag: str, union: bool) -> RecordType | None: ...

    def define_record(self, node: Node, union: bool) -> RecordType: ...

    def record(self, rtype: RecordType) -> RecordDef | None: ...

    def enum_type(self, node: Node) -> AnyType: ...

    def constant(self, name: str) -> int | None: ...


@dataclass
class Declared:
    name: str | None
    ctype: AnyType
    node: Node | None  # the innermost declarator (identifier) or None


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def specifier_type(scope: TypeScope, node: Node) -> AnyType:
    """The type named by a declaration's ``type`` field."""
    kind = node.type
    if kind == "primitive_type":
        return PRIMITIVES.get(text(node), UnknownType(text(node)))
    if kind == "sized_type_specifier":
        return _sized(node)
    if kind == "type_identifier":
        name = text(node)
        found = scope.typedef(name)
        return found if found is not None else UnknownType(name)
    if kind in ("struct_specifier", "union_specifier"):
        union = kind == "union_specifier"
        if node.child_by_field_name("body") is not None:
            return scope.define_record(node, union)
        tag = text(node.child_by_field_name("name"))
        found_record = scope.record_tag(tag, union)
        return found_record if found_record is not None else RecordType(tag, union)
    if kind == "enum_specifier":
        return scope.enum_type(node)
    return UnknownType(text(node) or kind)


def _sized(node: Node) -> AnyType:
    words = [text(child) for child in node.children if child.type != "comment"]
    inner = node.child_by_field_name("type")
    base = text(inner) if inner is not None else ""
    longs = words.count("long")
    unsigned = "unsigned" in words
    if base == "double":
        return UnknownType("long double") if longs else DOUBLE
    if base == "char":
        return UCHAR if unsigned else (IntType(8, True, 1) if "signed" in words else CHAR)
    if "short" in words:
        return USHORT if unsigned else SHORT
    if longs >= 2:
        return ULLONG if unsigned else LLONG
    if longs == 1:
        return ULONG if unsigned else LONG
    if base and base != "int":
        return UnknownType(" ".join(words))
    return UINT if unsigned else INT


def declarator_type(scope: TypeScope, base: AnyType, node: Node | None) -> Declared:
    """Apply a (possibly abstract) declarator to ``base``; C reads declarators inside out."""
    ctype = base
    while node is not None:
        kind = node.type
        if kind in ("identifier", "field_identifier", "type_identifier"):
            return Declared(text(node), ctype, node)
        if kind in ("pointer_declarator", "abstract_pointer_declarator"):
            ctype = PointerType(ctype)
        elif kind in ("array_declarator", "abstract_array_declarator"):
            size = node.child_by_field_name("size")
            length = const_eval(scope, size) if size is not None else None
            ctype = ArrayType(ctype, length)
        elif kind in ("function_declarator", "abstract_function_declarator"):
            ctype = function_type(scope, ctype, node.child_by_field_name("parameters"))
        elif kind == "init_declarator":
            pass
        elif kind in ("parenthesized_declarator", "abstract_parenthesized_declarator"):
            inner = next((c for c in node.named_children if c.type != "comment"), None)
            node = inner
            continue
        elif kind == "attributed_declarator":
            pass
        else:
            return Declared(None, ctype, None)
        node = node.child_by_field_name("declarator")
    return Declared(None, ctype, None)


def function_type(scope: TypeScope, ret: AnyType, params: Node | None) -> FunctionType:
    types: list[AnyType] = []
    variadic = False
    prototyped = params is not None
    if params is not None:
        for param in params.named_children:
            if param.type == "variadic_parameter":
                variadic = True
            elif param.type == "parameter_declaration":
                declared = parameter(scope, param)
                types.append(declared.ctype)
    if len(types) == 1 and isinstance(types[0], VoidType):
        types = []
    return FunctionType(_complete(ret), tuple(_complete(t) for t in types), variadic, prototyped)


def _complete(ctype: AnyType) -> AnyType:
    return ctype


def parameter(scope: TypeScope, param: Node) -> Declared:
    type_node = param.child_by_field_name("type")
    base = specifier_type(scope, type_node) if type_node is not None else INT
    declared = declarator_type(scope, base, param.child_by_field_name("declarator"))
    # Parameters of array and function type are adjusted to pointers (C11 6.7.6.3).
    if isinstance(declared.ctype, ArrayType):
        declared.ctype = PointerType(declared.ctype.elem)
    elif isinstance(declared.ctype, FunctionType):
        declared.ctype = PointerType(declared.ctype)
    return declared


def declaration_types(scope: TypeScope, node: Node) -> list[tuple[Declared, Node | None]]:
    """Every (declared name and type, initialiser) of a declaration or field declaration."""
    type_node = node.child_by_field_name("type")
    if type_node is None:
        return []
    base = specifier_type(scope, type_node)
    out: list[tuple[Declared, Node | None]] = []
    for index in range(node.child_count):
        if node.field_name_for_child(index) != "declarator":
            continue
        child = node.child(index)
        if child is not None:
            value = child.child_by_field_name("value") if child.type == "init_declarator" else None
            out.append((declarator_type(scope, base, child), value))
    return out


class _NoConstants:
    """Member array sizes are not needed to find a member; reading them would look up
    every size macro of a large kernel struct.  Lengths stay unknown (None)."""

    def __init__(self, scope: TypeScope) -> None:
        self._scope = scope

    def typedef(self, name: str) -> AnyType | None:
        return self._scope.typedef(name)

    def record_tag(self, tag: str, union: bool) -> RecordType | None:
        return self._scope.record_tag(tag, union)

    def define_record(self, node: Node, union: bool) -> RecordType:
        return self._scope.define_record(node, union)

    def record(self, rtype: RecordType) -> RecordDef | None:
        return self._scope.record(rtype)

    def enum_type(self, node: Node) -> AnyType:
        return self._scope.enum_type(node)

    def constant(self, name: str) -> int | None:
        return None


def record_fields(scope: TypeScope, body: Node, sizes: bool = True) -> tuple[FieldDef, ...]:
    if not sizes:
        scope = _NoConstants(scope)
    fields: list[FieldDef] = []
    seen: set[str] = set()
    for member in _members(body):
        type_node = member.child_by_field_name("type")
        if type_node is None:
            continue
        base = specifier_type(scope, type_node)
        declarators = [
            member.child(i)
            for i in range(member.child_count)
            if member.field_name_for_child(i) == "declarator"
        ]
        width_node = next((c for c in member.named_children if c.type == "bitfield_clause"), None)
        width = None
        if width_node is not None and width_node.named_children:
            width = const_eval(scope, width_node.named_children[0])
        if not declarators:
            fields.append(FieldDef(None, base, width))
            continue
        for declarator in declarators:
            declared = declarator_type(scope, base, declarator)
            if declared.name is not None and declared.name in seen:
                continue  # the other arm of an #if declaring the same member
            if declared.name is not None:
                seen.add(declared.name)
            fields.append(FieldDef(declared.name, declared.ctype, width))
    return tuple(fields)


_PREPROC = frozenset(
    {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"}
)


def _members(body: Node) -> list[Node]:
    """Member declarations, including those inside #if blocks (kernel structs are full
    of CONFIG_ members; a function that uses one is built with it)."""
    out: list[Node] = []
    stack = list(reversed(body.named_children))
    while stack:
        node = stack.pop()
        if node.type == "field_declaration":
            out.append(node)
        elif node.type in _PREPROC:
            stack.extend(reversed(node.named_children))
    return out


_INT_SUFFIX = re.compile(r"[uUlL]+$")


def int_literal(literal: str) -> tuple[int, AnyType] | None:
    """Value and C type of an integer constant (C11 6.4.4.1, LP64)."""
    body = literal.strip().replace("'", "")
    suffix_match = _INT_SUFFIX.search(body)
    suffix = suffix_match.group().lower() if suffix_match else ""
    digits = body[: len(body) - len(suffix)]
    try:
        if digits.lower().startswith("0x"):
            value, decimal = int(digits, 16), False
        elif digits.lower().startswith("0b"):
            value, decimal = int(digits[2:], 2), False
        elif len(digits) > 1 and digits.startswith("0"):
            value, decimal = int(digits, 8), False
        else:
            value, decimal = int(digits, 10), True
    except ValueError:
        return None
    unsigned = "u" in suffix
    longs = suffix.count("l")
    candidates: list[IntType] = []
    if longs == 0:
        candidates = [INT, UINT, LONG, ULONG] if not decimal else [INT, LONG]
    elif longs == 1:
        candidates = [LONG, ULONG] if not decimal else [LONG]
    else:
        candidates = [LLONG, ULLONG] if not decimal else [LLONG]
    if unsigned:
        candidates = [IntType(c.bits, False, c.rank) for c in candidates if c.signed] or [ULONG]
    for candidate in candidates:
        limit = 1 << (candidate.bits - 1 if candidate.signed else candidate.bits)
        if value < limit:
            return value, candidate
    return value, ULLONG


_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "a": 7, "b": 8}
_ESCAPES |= {"f": 12, "v": 11, "e": 27, "?": 63}


def unescape(body: str) -> bytes:
    """The bytes of a C string or character literal body."""
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.extend(ch.encode("utf-8", "surrogatepass"))
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "x":
            match = re.match(r"[0-9a-fA-F]+", body[i + 2 :])
            digits = match.group() if match else "0"
            out.append(int(digits, 16) & 0xFF)
            i += 2 + len(digits) if match else 2
        elif nxt in "01234567":
            match = re.match(r"[0-7]{1,3}", body[i + 1 :])
            assert match is not None
            out.append(int(match.group(), 8) & 0xFF)
            i += 1 + len(match.group())
        else:
            out.append(_ESCAPES.get(nxt, ord(nxt) & 0xFF))
            i += 2
    return bytes(out)


def char_value(node: Node) -> int | None:
    raw = text(node)
    if raw[:1] in ("L", "u", "U") or not raw.startswith("'") or not raw.endswith("'"):
        return None
    data = unescape(raw[1:-1])
    if len(data) != 1:
        return None
    value = data[0]
    return value - 256 if value >= 128 else value


def const_eval(scope: TypeScope, node: Node | None, depth: int = 0) -> int | None:
    """An integer constant expression's value, or None when it is not one we can read."""
    if node is None or depth > 64:
        return None
    kind = node.type
    if kind == "number_literal":
        parsed = int_literal(text(node))
        return parsed[0] if parsed is not None else None
    if kind == "char_literal":
        return char_value(node)
    if kind == "parenthesized_expression":
        inner = node.named_children
        return const_eval(scope, inner[0], depth + 1) if len(inner) == 1 else None
    if kind == "identifier":
        return scope.constant(text(node))
    if kind == "true":
        return 1
    if kind == "false":
        return 0
    if kind == "unary_expression":
        value = const_eval(scope, node.child_by_field_name("argument"), depth + 1)
        op = text(node.child_by_field_name("operator"))
        if value is None:
            return None
        return {"-": -value, "+": value, "~": ~value, "!": int(not value)}.get(op)
    if kind == "binary_expression":
        return _const_binary(scope, node, depth)
    if kind == "conditional_expression":
        cond = const_eval(scope, node.child_by_field_name("condition"), depth + 1)
        if cond is None:
            return None
        branch = "consequence" if cond else "alternative"
        return const_eval(scope, node.child_by_field_name(branch), depth + 1)
    if kind == "cast_expression":
        return const_eval(scope, node.child_by_field_name("value"), depth + 1)
    if kind == "sizeof_expression":
        type_node = node.child_by_field_name("type")
        if type_node is None:
            return None
        spec = type_node.child_by_field_name("type")
        if spec is None:
            return None
        declared = declarator_type(
            scope, specifier_type(scope, spec), type_node.child_by_field_name("declarator")
        )
        layout = size_align(scope, declared.ctype)
        return layout[0] if layout is not None else None
    return None


def _const_binary(scope: TypeScope, node: Node, depth: int) -> int | None:
    left = const_eval(scope, node.child_by_field_name("left"), depth + 1)
    right = const_eval(scope, node.child_by_field_name("right"), depth + 1)
    op = text(node.child_by_field_name("operator"))
    if left is None or right is None:
        return None
    if op in ("/", "%") and right == 0:
        return None
    if op in ("<<", ">>") and not 0 <= right < 64:
        return None
    table = {
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: int(left / right),
        "%": lambda: left - int(left / right) * right,
        "<<": lambda: left << right,
        ">>": lambda: left >> right,
        "&": lambda: left & right,
        "|": lambda: left | right,
        "^": lambda: left ^ right,
        "==": lambda: int(left == right),
        "!=": lambda: int(left != right),
        "<": lambda: int(left < right),
        "<=": lambda: int(left <= right),
        ">": lambda: int(left > right),
        ">=": lambda: int(left >= right),
        "&&": lambda: int(bool(left) and bool(right)),
        "||": lambda: int(bool(left) or bool(right)),
    }
    compute = table.get(op)
    return compute() if compute is not None else None


def is_float_literal(literal: str) -> bool:
    body = literal.lower()
    if body.startswith("0x"):
        return "p" in body
    return any(ch in body for ch in ".e") or body.endswith("f") and not body.startswith("0x")


def float_literal(literal: str) -> tuple[float, FloatType] | None:
    body = literal.strip()
    ftype = DOUBLE
    if body[-1:] in ("f", "F"):
        ftype, body = FLOAT, body[:-1]
    elif body[-1:] in ("l", "L"):
        return None
    try:
        value = float.fromhex(body) if body.lower().startswith("0x") else float(body)
    except ValueError:
        return None
    return value, ftype
