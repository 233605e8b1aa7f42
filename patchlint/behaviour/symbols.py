"""What a function's names mean: typedefs, records, enum constants, macros, globals,
prototypes and the other functions of its file.

Names are looked up in layers: the file itself, then the model header shipped in
``rules/behaviour/model.h`` (C types and library models written in C), then
declarations found in the kernel headers the file includes (``headers.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from tree_sitter import Node

from patchlint.knowledge import data_path
from patchlint.source import FunctionDef, SourceFile, parse_c

from .ctype import (
    INT,
    UINT,
    AnyType,
    FunctionType,
    IntType,
    RecordDef,
    RecordType,
    UnknownType,
)
from .declarations import (
    Declared,
    const_eval,
    declaration_types,
    declarator_type,
    record_fields,
    specifier_type,
    text,
)

_TRANSPARENT = frozenset(
    {
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
    }
)


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...] | None  # None: object-like
    body: str
    variadic: bool = False


@dataclass
class GlobalVar:
    name: str
    ctype: AnyType
    init: Node | None
    is_const: bool
    declaration: Node


@dataclass
class Layer:
    """One parsed source's file-scope declarations, indexed by name."""

    source: SourceFile
    origin: str
    typedefs: dict[str, Node] = field(default_factory=dict)
    records: dict[tuple[str, bool], Node] = field(default_factory=dict)
    enumerators: dict[str, Node] = field(default_factory=dict)  # constant -> enum_specifier
    macros: dict[str, Macro] = field(default_factory=dict)
    variables: dict[str, Node] = field(default_factory=dict)
    prototypes: dict[str, Node] = field(default_factory=dict)
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, source: SourceFile, origin: str) -> Layer:
        layer = cls(source, origin)
        for fn in source.functions:
            if fn.body is not None and (fn.name not in layer.functions or not fn.has_errors):
                layer.functions.setdefault(fn.name, fn)
        for node in _top_level(source.tree.root_node):
            layer._index(node)
        return layer

    def _index(self, node: Node) -> None:
        kind = node.type
        if kind == "preproc_def" or kind == "preproc_function_def":
            self._macro(node)
        elif kind == "preproc_include":
            path = node.child_by_field_name("path")
            if path is not None:
                self.includes.append(text(path))
        elif kind == "type_definition":
            for index in range(node.child_count):
                if node.field_name_for_child(index) == "declarator":
                    name = _declared_name(node.child(index))
                    if name:
                        self.typedefs.setdefault(name, node)
            self._records_in(node)
        elif kind == "declaration":
            self._records_in(node)
            for index in range(node.child_count):
                if node.field_name_for_child(index) != "declarator":
                    continue
                declarator = node.child(index)
                name = _declared_name(declarator)
                if not name or declarator is None:
                    continue
                if _is_function_declarator(declarator):
                    self.prototypes.setdefault(name, node)
                else:
                    self.variables.setdefault(name, node)
        elif kind in ("struct_specifier", "union_specifier", "enum_specifier"):
            self._records_in(node)
        elif kind == "function_definition":
            type_node = node.child_by_field_name("type")
            if type_node is not None:
                self._records_in(type_node)

    def _macro(self, node: Node) -> None:
        name = text(node.child_by_field_name("name"))
        value = node.child_by_field_name("value")
        body = text(value).replace("\\\n", " ").strip() if value is not None else ""
        params_node = node.child_by_field_name("parameters")
        params: tuple[str, ...] | None = None
        variadic = False
        if params_node is not None:
            names = []
            for child in params_node.named_children:
                if child.type == "identifier":
                    names.append(text(child))
                elif text(child) == "...":
                    variadic = True
            variadic = variadic or "..." in text(params_node)
            params = tuple(names)
        if name:
            self.macros.setdefault(name, Macro(name, params, body, variadic))

    def _records_in(self, node: Node) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in ("struct_specifier", "union_specifier"):
                name = current.child_by_field_name("name")
                if name is not None and current.child_by_field_name("body") is not None:
                    key = (text(name), current.type == "union_specifier")
                    self.records.setdefault(key, current)
            elif current.type == "enum_specifier":
                body = current.child_by_field_name("body")
                if body is not None:
                    for enumerator in body.named_children:
                        if enumerator.type == "enumerator":
                            label = text(enumerator.child_by_field_name("name"))
                            self.enumerators.setdefault(label, current)
                    name = current.child_by_field_name("name")
                    if name is not None:
                        self.records.setdefault((f"enum {text(name)}", False), current)
            if current.type == "compound_statement":
                continue
            stack.extend(current.named_children)


def _top_level(root: Node) -> Iterator[Node]:
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.type in _TRANSPARENT:
            stack.extend(reversed(node.children))
        else:
            yield node


def _declared_name(node: Node | None) -> str | None:
    while node is not None:
        if node.type in ("identifier", "type_identifier", "field_identifier"):
            return text(node)
        if node.type == "parenthesized_declarator":
            node = next(iter(node.named_children), None)
            continue
        node = node.child_by_field_name("declarator")
    return None


def _is_function_declarator(node: Node) -> bool:
    """True when the outermost non-pointer declarator declares a function (a prototype)."""
    current: Node | None = node
    while current is not None:
        if current.type == "function_declarator":
            inner = current.child_by_field_name("declarator")
            return inner is not None and inner.type in ("identifier", "attributed_declarator")
        if current.type in ("pointer_declarator", "init_declarator", "attributed_declarator"):
            current = current.child_by_field_name("declarator")
            continue
        return False
    return False


@functools.cache
def model_layer() -> Layer:
    path = data_path("behaviour/model.h")
    source = parse_c(path.read_text(encoding="utf-8"), "<model.h>")
    return Layer.build(source, "model")


@functools.cache
def parse_snippet(body: str) -> Node | None:
    """A macro body as one statement or expression node (parsed once per text)."""
    source = parse_c(f"void __patchlint_macro(void)\n{{\n{body}\n;}}\n", "<macro>")
    if source.tree.root_node.has_error:
        return None
    fn = source.functions[0] if source.functions else None
    if fn is None or fn.body is None:
        return None
    statements = [
        c
        for c in fn.body.named_children
        if c.type not in ("comment", "expression_statement") or c.named_children
    ]
    statements = [s for s in statements if s.type != "comment"]
    if len(statements) != 1:
        return fn.body
    statement = statements[0]
    if statement.type == "expression_statement" and statement.named_children:
        return statement.named_children[0]
    return statement


class HeaderSource(Protocol):
    """Declarations of names the file and the model do not define (headers.py)."""

    def layer(self, kind: str, name: str) -> Layer | None: ...


class Symbols:
    """Name lookups for one version of one file (file layer first, then fallbacks)."""

    def __init__(self, source: SourceFile, headers: HeaderSource | None = None) -> None:
        self.file = Layer.build(source, "file")
        self._layers: list[Layer] = [self.file, model_layer()]
        self._headers = headers
        self._typedef_cache: dict[str, AnyType | None] = {}
        self._record_cache: dict[RecordType, RecordDef | None] = {}
        self._anonymous: dict[int, tuple[RecordType, Node]] = {}
        self._named_nodes: dict[tuple[str, bool], Node] = {}
        self._constants: dict[str, int | None] = {}
        self._resolving: set[str] = set()

    # -- layers -----------------------------------------------------------------
    def layers(self) -> Iterator[Layer]:
        """The file's and the model's layers (headers are searched by name only)."""
        yield from self._layers

    def _find(
        self, pick: Callable[[Layer], object | None], kind: str = "", name: str = ""
    ) -> tuple[Layer, object] | None:
        for layer in self._layers:
            found = pick(layer)
            if found is not None:
                return layer, found
        if self._headers is not None and kind:
            extra = self._headers.layer(kind, name)
            if extra is not None:
                found = pick(extra)
                if found is not None:
                    return extra, found
        return None

    # -- TypeScope ----------------------------------------------------------------
    def typedef(self, name: str) -> AnyType | None:
        if name in self._typedef_cache:
            return self._typedef_cache[name]
        if name in self._resolving:
            return UnknownType(name)
        self._resolving.add(name)
        try:
            found = self._find(lambda layer: layer.typedefs.get(name), "typedef", name)
            result: AnyType | None = None
            if found is not None:
                node = found[1]
                assert isinstance(node, Node)
                for declared, _ in declaration_types(self, node):
                    if declared.name == name:
                        result = declared.ctype
        finally:
            self._resolving.discard(name)
        self._typedef_cache[name] = result
        return result

    def record_tag(self, tag: str, union: bool) -> RecordType | None:
        return RecordType(tag, union)

    def define_record(self, node: Node, union: bool) -> RecordType:
        name = node.child_by_field_name("name")
        if name is not None:
            rtype = RecordType(text(name), union)
            self._named_nodes.setdefault((rtype.tag, union), node)
            return rtype
        known = self._anonymous.get(node.id)
        if known is not None:
            return known[0]
        rtype = RecordType(f"<anonymous #{len(self._anonymous) + 1}>", union)
        self._anonymous[node.id] = (rtype, node)
        return rtype

    def record(self, rtype: RecordType) -> RecordDef | None:
        if rtype in self._record_cache:
            return self._record_cache[rtype]
        self._record_cache[rtype] = None  # recursion guard
        node = self._record_node(rtype)
        result = None
        if node is not None:
            body = node.child_by_field_name("body")
            if body is not None:
                # Sizes of member arrays matter in the file's own types (copies, sizeof);
                # a header's large structs only need their member types.
                own = node.start_byte < len(
                    self.file.source.normalised_data
                ) and self._is_file_node(node)
                result = RecordDef(rtype.tag, rtype.union, record_fields(self, body, sizes=own))
        self._record_cache[rtype] = result
        return result

    def _is_file_node(self, node: Node) -> bool:
        return (
            any(n.id == node.id for n in self.file.records.values())
            or node.id in self._anonymous
            or any(n.id == node.id for n in self._named_nodes.values())
        )

    def _record_node(self, rtype: RecordType) -> Node | None:
        if rtype.tag.startswith("<anonymous #"):
            for known, node in self._anonymous.values():
                if known == rtype:
                    return node
            return None
        local = self._named_nodes.get((rtype.tag, rtype.union))
        if local is not None:
            return local
        kind = "union" if rtype.union else "struct"
        found = self._find(
            lambda layer: layer.records.get((rtype.tag, rtype.union)),
            "record",
            f"{kind} {rtype.tag}",
        )
        if found is None:
            return None
        record_node = found[1]
        assert isinstance(record_node, Node)
        return record_node

    def enum_type(self, node: Node) -> AnyType:
        body = node.child_by_field_name("body")
        if body is None:
            name = text(node.child_by_field_name("name"))
            found = self._find(
                lambda layer: layer.records.get((f"enum {name}", False)), "record", f"enum {name}"
            )
            if found is None:
                return UnknownType(f"enum {name}")
            body_node = found[1]
            assert isinstance(body_node, Node)
            body = body_node.child_by_field_name("body")
            if body is None:
                return UnknownType(f"enum {name}")
        values = self._enum_values(body)
        # gcc gives an enum without negative constants the type unsigned int.
        negative = any(v is not None and v < 0 for v in values.values())
        base = INT if negative else UINT
        return IntType(base.bits, base.signed, base.rank, is_enum=True)

    def _enum_values(self, body: Node) -> dict[str, int | None]:
        values: dict[str, int | None] = {}
        current: int | None = -1
        for enumerator in body.named_children:
            if enumerator.type != "enumerator":
                continue
            label = text(enumerator.child_by_field_name("name"))
            value_node = enumerator.child_by_field_name("value")
            if value_node is not None:
                current = const_eval(self, value_node)
            elif current is not None:
                current += 1
            values[label] = current
            self._constants.setdefault(label, current)
        return values

    def constant(self, name: str) -> int | None:
        if name in self._constants:
            return self._constants[name]
        if name in self._resolving:
            return None
        self._resolving.add(name)
        try:
            value = self._lookup_constant(name)
        finally:
            self._resolving.discard(name)
        self._constants[name] = value
        return value

    def _lookup_constant(self, name: str) -> int | None:
        layers = list(self._layers)
        if self._headers is not None:
            for kind in ("enumerator", "macro"):
                extra = self._headers.layer(kind, name)
                if extra is not None:
                    layers.append(extra)
        for layer in layers:
            enum_node = layer.enumerators.get(name)
            if enum_node is not None:
                body = enum_node.child_by_field_name("body")
                return self._enum_values(body).get(name) if body is not None else None
            macro = layer.macros.get(name)
            if macro is not None:
                if macro.params is not None:
                    return None
                node = parse_snippet(macro.body) if macro.body else None
                return const_eval(self, node) if node is not None else None
        return None

    # -- other lookups --------------------------------------------------------------
    def is_enumerator(self, name: str) -> bool:
        return self._find(lambda layer: layer.enumerators.get(name), "enumerator", name) is not None

    def macro(self, name: str) -> Macro | None:
        """Macros of the file first, then the model's, then the headers'."""
        found = self._find(lambda layer: layer.macros.get(name), "macro", name)
        if found is None:
            return None
        macro = found[1]
        assert isinstance(macro, Macro)
        return macro

    def global_var(self, name: str) -> GlobalVar | None:
        found = self._find(lambda layer: layer.variables.get(name), "variable", name)
        if found is None:
            return None
        node = found[1]
        assert isinstance(node, Node)
        is_const = any(c.type == "type_qualifier" and text(c) == "const" for c in node.children)
        for declared, init in declaration_types(self, node):
            if declared.name == name:
                return GlobalVar(name, declared.ctype, init, is_const, node)
        return None

    def function(self, name: str) -> tuple[Layer, FunctionDef] | None:
        for layer in self.layers():
            fn = layer.functions.get(name)
            if fn is not None:
                return layer, fn
        return None

    def prototype(self, name: str) -> FunctionType | None:
        layers = list(self._layers)
        if self._headers is not None:
            extra = self._headers.layer("prototype", name)
            if extra is not None:
                layers.append(extra)
        for layer in layers:
            fn = layer.functions.get(name)
            node = fn.node if fn is not None else layer.prototypes.get(name)
            if node is None:
                continue
            declarator = node.child_by_field_name("declarator")
            type_node = node.child_by_field_name("type")
            if declarator is None or type_node is None:
                continue
            for index in range(node.child_count):
                if node.field_name_for_child(index) != "declarator":
                    continue
                child = node.child(index)
                if _declared_name(child) != name:
                    continue
                declared = declarator_type(self, specifier_type(self, type_node), child)
                if isinstance(declared.ctype, FunctionType):
                    return declared.ctype
        return None

    def declared(self, node: Node) -> list[tuple[Declared, Node | None]]:
        return declaration_types(self, node)
