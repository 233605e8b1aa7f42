"""Names and calls: variables, constants, macros, interpreted and uninterpreted calls.

A call is interpreted when its callee is defined in the file (a helper, in the same
version as the caller), in the model header, or changed by the patch elsewhere;
a macro is expanded when the file or the model defines it.  Anything else is an
uninterpreted call: an observable event, a result shared by both versions while
their calls agree, and a fresh state of the memory the callee can reach.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tree_sitter import Node

from patchlint.source import FunctionDef, SourceFile

from . import smt
from .ctype import (
    CHAR,
    INT,
    LONG,
    ULONG,
    AnyType,
    ArrayType,
    FunctionType,
    IntType,
    PointerType,
    UnknownType,
    VoidType,
    decay,
    type_key,
)
from .declarations import Unsupported, declarator_type, parameter, specifier_type, text
from .inputs import pretty_epoch
from .knowledge import call_kinds
from .machine import (
    MAX_DEPTH,
    ControlSignal,
    Fault,
    Frame,
    LValue,
    MemRef,
    ReturnSignal,
    VarRef,
)
from .macros import MacroMixin
from .memory import is_local
from .symbols import Layer, Symbols, parse_snippet
from .trace import CallEvent, LocalContent, LockHeld
from .values import (
    LOCAL_BASE,
    FloatV,
    FuncV,
    IntV,
    OpaqueV,
    PtrV,
    Value,
    convert,
    encode,
    from_storage,
    int_const,
    storage_bits,
)

T = TypeVar("T")
# A const table with more cells than this is not spelled out (its cells stay inputs).
MAX_TABLE_CELLS = 2048


@dataclass(frozen=True)
class Definition:
    """A function the engine interprets, with the names its body sees."""

    symbols: Symbols
    fn: FunctionDef
    source: SourceFile


class CallMixin(MacroMixin):
    # Functions of other files that the patch changes, by name.
    program: dict[str, Definition]

    # -- identifiers --------------------------------------------------------------
    def identifier_lvalue(self, name: str, node: Node) -> LValue | None:
        frame = self.frame
        arg = frame.macro_args.get(name)
        if arg is not None:
            return self.in_frame(arg.frame, lambda: self.lvalue(arg.node))
        var = frame.lookup(name)
        if var is not None:
            return VarRef(var)
        if frame.symbols.is_enumerator(name):
            return None
        found = frame.symbols.global_var(name)
        if found is not None:
            if isinstance(found.ctype, UnknownType):
                raise Unsupported(f"global {name} of unresolved type {found.ctype}")
            obj = self.global_object(name, found.ctype)
            if found.is_const and found.init is not None:
                self.define_const_global(obj, found.ctype, found.init)
            if isinstance(found.ctype, ArrayType):
                return None
            return MemRef(obj, name)
        return None

    def identifier_value(self, name: str, node: Node) -> Value:
        frame = self.frame
        arg = frame.macro_args.get(name)
        if arg is not None:
            return self.in_frame(arg.frame, lambda: self.eval(arg.node))
        ref = self.identifier_lvalue(name, node)
        if ref is not None:
            return self.load(ref, node)
        symbols = frame.symbols
        if symbols.is_enumerator(name):
            value = symbols.constant(name)
            if value is None:
                raise Unsupported(f"enumerator {name} with a value we cannot read")
            return int_const(value, INT)
        found = symbols.global_var(name)
        if found is not None and isinstance(found.ctype, ArrayType):
            obj = self.global_object(name, found.ctype)
            if found.is_const and found.init is not None:
                self.define_const_global(obj, found.ctype, found.init)
            return obj
        if symbols.function(name) is not None or symbols.prototype(name) is not None:
            prototype = symbols.prototype(name) or FunctionType(INT, (), False, False)
            return FuncV(name, prototype)
        macro = self.find_macro(name, object_like=True)
        if macro is not None:
            return self.expand_object_macro(macro, node)
        if name in ("__func__", "__FUNCTION__"):
            # The enclosing function's name (C11 6.4.2.2), as a string literal.
            functions = [f.function for f in self.frames if not f.function.startswith("macro ")]
            current = functions[-1] if functions else ""
            oid = smt.bv_val(self.inputs.string_oid(current.encode()), 32)
            zero = smt.bv_val(0, 32)
            return PtrV(oid, zero, "", zero, PointerType(CHAR), f'"{current}"', "char")
        if name == "__LINE__":
            return int_const(node.start_point[0] + 1, INT)
        constant = symbols.constant(name)
        if constant is not None:
            return int_const(constant, INT if -(1 << 31) <= constant < 1 << 31 else _wide(constant))
        self.inputs.unresolved.add(name)
        term = self.inputs.symbol(f"const:{name}", name, UnknownType(name), 64, "constant")
        return OpaqueV(term, name, UnknownType(name), f"const:{name}")

    def identifier_type(self, name: str, node: Node) -> AnyType:
        frame = self.frame
        arg = frame.macro_args.get(name)
        if arg is not None:
            return self.in_frame(arg.frame, lambda: self.static_type(arg.node))
        var = frame.lookup(name)
        if var is not None:
            return var.ctype
        if frame.symbols.is_enumerator(name):
            return INT
        found = frame.symbols.global_var(name)
        if found is not None:
            return found.ctype
        typedef = frame.symbols.typedef(name)
        if typedef is not None:
            return typedef  # sizeof(u32) parses as sizeof of an expression
        prototype = frame.symbols.prototype(name)
        if prototype is not None:
            return prototype
        macro = self.find_macro(name, object_like=True)
        if macro is not None:
            # A constant's type is the type of its value (macro constants have no effects).
            value = self.expand_object_macro(macro, node)
            if isinstance(value, IntV | PtrV | FloatV):
                return value.ctype
        raise Unsupported(f"type of {name}")

    def call_type(self, node: Node) -> AnyType:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        args = [a for a in (arguments.named_children if arguments else []) if a.type != "comment"]
        if function is not None:
            cast = self._cast_in_disguise(function, args)
            if cast is not None:
                return cast
        if function is not None and function.type == "identifier":
            name = text(function)
            var = self.frame.lookup(name)
            if var is not None:
                target = decay(var.ctype)
                if isinstance(target, PointerType) and isinstance(target.target, FunctionType):
                    return target.target.ret
            prototype = self.frame.symbols.prototype(name)
            if prototype is not None:
                return prototype.ret
        raise Unsupported(f"type of the call {text(node)[:40]}")

    def in_frame(self, frame: Frame, action: Callable[[], T]) -> T:
        self.frames.append(frame)
        try:
            return action()
        finally:
            self.frames.pop()

    def define_const_global(self, obj: PtrV, ctype: AnyType, init: Node) -> None:
        """A const table's contents, from its initialiser (computed once per comparison;
        a table too large to spell out stays an input, the same in both versions)."""
        oid = smt.const_int(obj.oid)
        if oid is None or oid in self.memory.constant_objects:
            return
        key = (oid, text(init))
        cells = self.inputs.constant_tables.get(key)
        if cells is None:
            cells = self.inputs.constant_tables[key] = self._table_cells(obj, ctype, init)
        if cells:
            self.memory.constant_objects.setdefault(oid, {})
            for location, value in cells:
                self.memory.define_constant(oid, location, value)

    def _table_cells(
        self, obj: PtrV, ctype: AnyType, init: Node
    ) -> list[tuple[smt.BitVecRef, smt.BitVecRef]]:
        from .initialise import initialise_object
        from .memory import Write

        # Run the initialiser into the log, then take its writes out as the table.
        mark = len(self.memory.log)
        try:
            initialise_object(self, obj, ctype, init)
        finally:
            entries = self.memory.log[mark:]
            del self.memory.log[mark:]
        writes = [(e.location, e.value) for e in entries if isinstance(e, Write)]
        return writes if len(writes) <= MAX_TABLE_CELLS else []

    # -- calls --------------------------------------------------------------------------
    def call(self, node: Node) -> Value:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        args = [a for a in (arguments.named_children if arguments else []) if a.type != "comment"]
        if function is None:
            raise Unsupported(f"call at line {node.start_point[0] + 1}")
        if function.type == "call_expression":
            return self.guard_call(function, args, node)
        if function.type == "identifier":
            return self.call_named(text(function), args, node)
        cast = self._cast_in_disguise(function, args)
        if cast is not None:
            return convert(self.materialise(self.rvalue(args[0]), cast), cast)
        callee = self.eval(function)
        if isinstance(callee, FuncV):
            return self.call_named(callee.name, args, node)
        if isinstance(callee, PtrV):
            return self.call_pointer(callee, args, node)
        raise Unsupported(f"call through {callee.ctype}")

    def _cast_in_disguise(self, function: Node, args: list[Node]) -> AnyType | None:
        """``(gfp_t)(x)`` parses as a call when the parser does not know gfp_t is a type
        (a macro body parsed alone); it is a cast."""
        inner = [c for c in function.named_children if c.type != "comment"]
        if function.type != "parenthesized_expression" or len(inner) != 1 or len(args) != 1:
            return None
        name = inner[0]
        if name.type != "identifier":
            return None
        bound = self.frame.macro_args.get(text(name))
        if bound is not None:
            # min_t(u32, a, b): the macro's type parameter, cast to. The front end
            # rewrote type arguments into identifiers: read the user's own text.
            source = bound.frame.source
            if source is not None and bound.node.type == "identifier":
                return self.type_from_text(source.node_text(bound.node))
            return self.type_from_text(self.argument_text(bound.node, bound.frame))
        if self.frame.lookup(text(name)) is not None:
            return None
        return self.frame.symbols.typedef(text(name))

    def type_from_text(self, type_text: str) -> AnyType | None:
        """A type written as text (a macro's type argument), or None if it is not one."""
        # The front end writes a type argument as one word: "unsigned int" as unsigned_int.
        type_text = re.sub(r"\b(unsigned|signed|long|short|struct|union|enum)_", r"\1 ", type_text)
        parsed = parse_snippet(f"({type_text})0")
        if parsed is None or parsed.type != "cast_expression":
            return None
        descriptor = parsed.child_by_field_name("type")
        if descriptor is None:
            return None
        try:
            found = self.type_of_descriptor(descriptor)
        except Unsupported:
            return None
        return None if isinstance(found, UnknownType) else found

    def call_pointer(self, callee: PtrV, args: list[Node], node: Node) -> Value:
        """A call through a function pointer: uninterpreted, named by the pointer."""
        self.check_deref(callee, node)
        target = callee.ctype.target
        ftype = target if isinstance(target, FunctionType) else None
        shown = f"(*{callee.origin})" if callee.origin else "(*pointer)"
        return self.uninterpreted("", encode(callee), args, node, ftype, shown=shown)

    def call_named(self, name: str, args: list[Node], node: Node) -> Value:
        frame = self.frame
        if name in frame.macro_args or frame.lookup(name) is not None:
            callee = self.identifier_value(name, node)
            if isinstance(callee, FuncV):
                return self.call_named(callee.name, args, node)
            if isinstance(callee, PtrV):
                return self.call_pointer(callee, args, node)
            raise Unsupported(f"call through {callee.ctype}")
        special = self.builtin(name, args, node)
        if special is not None:
            return special
        macro = self.find_macro(name, object_like=False)
        if macro is not None:
            return self.expand_call_macro(macro, args, node)
        definition = self.definition(name)
        if definition is not None:
            return self.interpret(name, definition, [self.rvalue(a) for a in args], node)
        return self.uninterpreted(name, None, args, node, frame.symbols.prototype(name))

    def definition(self, name: str) -> Definition | None:
        found = self.frame.symbols.function(name)
        if found is not None:
            layer, fn = found
            if layer.origin in ("file", "model"):
                return Definition(self.frame.symbols, fn, layer.source)
        return self.program.get(name)

    def builtin(self, name: str, args: list[Node], node: Node) -> Value | None:
        raise NotImplementedError

    def guard_call(self, function: Node, args: list[Node], node: Node) -> Value:
        raise NotImplementedError

    def interpret(self, name: str, definition: Definition, args: list[Value], node: Node) -> Value:
        symbols = definition.symbols
        fn_node = definition.fn.node
        if len(self.frames) >= MAX_DEPTH:
            raise Unsupported(f"call depth above {MAX_DEPTH} at {name}()")
        type_node = fn_node.child_by_field_name("type")
        declarator = fn_node.child_by_field_name("declarator")
        body = fn_node.child_by_field_name("body")
        if type_node is None or declarator is None or body is None:
            raise Unsupported(f"definition of {name}")
        declared = declarator_type(symbols, specifier_type(symbols, type_node), declarator)
        ftype = declared.ctype
        if not isinstance(ftype, FunctionType):
            raise Unsupported(f"definition of {name}")
        if ftype.variadic:
            raise Unsupported(f"variadic function {name}")
        params = _parameters(symbols, declarator)
        if len(params) != len(args):
            raise Unsupported(
                f"{name}() called with {len(args)} arguments, defined with {len(params)}"
            )
        frame = Frame(
            name, symbols, ftype.ret, address_taken=address_taken(body), source=definition.source
        )
        self.frames.append(frame)
        try:
            for (pname, ptype), value in zip(params, args, strict=True):
                var = self.declare(pname, ptype, pname in frame.address_taken)
                self.store(VarRef(var), value, node)
            try:
                self.exec_statement(body)
            except ReturnSignal as signal:
                return signal.value if signal.value is not None else int_const(0)
            except ControlSignal:
                raise Unsupported(f"goto, break or continue leaving {name}()") from None
            if not isinstance(ftype.ret, VoidType) and name != "main":
                return int_const(0)
            return int_const(0)
        finally:
            self.frames.pop()

    def uninterpreted(
        self,
        name: str,
        target: smt.BitVecRef | None,
        arg_nodes: list[Node],
        node: Node,
        ftype: FunctionType | None,
        shown: str | None = None,
    ) -> Value:
        kinds = call_kinds()
        args = [self.rvalue(a) for a in arg_nodes]
        if ftype is not None and ftype.prototyped:
            args = [
                convert(self.materialise(value, ptype), ptype)
                if index < len(ftype.params) and not isinstance(ptype, UnknownType)
                else value
                for index, (value, ptype) in enumerate(
                    zip(args, list(ftype.params) + [VoidType()] * len(args), strict=False)
                )
            ]
        callee_text = shown if shown is not None else name
        call_text = text(node)
        line = node.start_point[0] + 1
        is_log = bool(name) and (
            kinds.is_log(name)
            or (kinds.may_log(name) and _has_log_string(args, self.inputs.string_bytes))
        )
        first_arg = text(arg_nodes[0]) if arg_nodes else None
        lock_ops = kinds.lock_ops(name, first_arg) if name else []
        kind = (
            "log"
            if is_log
            else (
                "lock" if any(o.acquire for o in lock_ops) else ("unlock" if lock_ops else "call")
            )
        )
        passed = tuple(self.local_content(value) for value in args)
        stream = self.logs if is_log else self.events
        event = CallEvent(
            len(stream),
            name,
            target,
            tuple(args),
            passed,
            len(self.memory.log),
            line,
            call_text,
            kind,
        )
        stream.append(event)
        for op in lock_ops:
            self.apply_lock(op.lock, op.acquire, args[0] if args else None, line, call_text)
        if name in kinds.noreturn:
            raise Fault(f"{name}() does not return (line {line})")
        if not is_log:
            for value in args:
                self.note_escape(value)
            if name not in kinds.pure:
                self.memory.havoc(f"call{event.index}:{callee_text}")
        if name in kinds.returns_argument:
            position = kinds.returns_argument[name]
            if position < len(args):
                return args[position]
        if name in kinds.pure and not is_log:
            return self.pure_result(name, args, ftype.ret if ftype is not None else None)
        epoch = f"{'log' if is_log else 'call'}{event.index}:{callee_text}"
        return self.call_result(epoch, ftype.ret if ftype is not None else None, callee_text)

    def pure_result(self, name: str, args: list[Value], ret: AnyType | None) -> Value:
        """A function that does not change memory: the same arguments give the same result,
        within a run and across the versions (an uninterpreted function of them)."""
        terms = [_argument_bits(value) for value in args]
        ret = decay(ret) if ret is not None else None
        if isinstance(ret, VoidType):
            return int_const(0)
        bits = storage_bits(ret) if ret is not None and not isinstance(ret, UnknownType) else 64
        result = smt.apply_function(f"pure:{name}:{len(terms)}:{bits}", terms, bits)
        if isinstance(ret, PointerType):
            pointer, constraint = self.inputs.constrain_pointer(result, ret, f"{name}()")
            self.decider.assume(constraint)
            return pointer
        if ret is None or isinstance(ret, UnknownType):
            key = f"pure:{name}:{self.inputs.term_key(result)}"
            return OpaqueV(
                result, f"the result of {name}()", UnknownType(f"result of {name}()"), key
            )
        return from_storage(result, ret, f"{name}()")

    def call_result(self, epoch: str, ret: AnyType | None, callee: str) -> Value:
        label = pretty_epoch(epoch)  # "foo() #3"
        shown = f"{label} returns"
        if ret is None:
            term = self.inputs.symbol(f"ret:{epoch}", shown, UnknownType("int"), 64, "call")
            return OpaqueV(term, label, UnknownType(f"result of {callee}()"), f"ret:{epoch}")
        if isinstance(ret, VoidType):
            return int_const(0)
        ret = decay(ret)
        if isinstance(ret, PointerType):
            pointer, constraint = self.inputs.pointer_input(f"ret:{epoch}", shown, ret, "call")
            self.decider.assume(constraint)
            # What it points to is named after the call: "foo() #3->len".
            return PtrV(pointer.oid, pointer.elem, "", pointer.sub, ret, label, pointer.base)
        if isinstance(ret, UnknownType):
            term = self.inputs.symbol(f"ret:{epoch}", shown, ret, 64, "call")
            return OpaqueV(term, label, ret, f"ret:{epoch}")
        bits = storage_bits(ret)
        term = self.inputs.symbol(f"ret:{epoch}", shown, ret, bits, "call")
        return from_storage(term, ret, label)

    def local_content(self, value: Value) -> LocalContent | None:
        if not isinstance(value, PtrV):
            return None
        oid = smt.const_int(value.oid)
        if oid is None or oid < LOCAL_BASE:
            return None
        cells = []
        for location, bits in self.memory.local_writes(oid):
            relative = smt.simplify_bv(smt.concat(smt.bv_val(0, 32), smt.extract(79, 0, location)))
            cells.append((relative, bits, self.memory.read(location, bits)))
        local_type = self.local_types.get(oid)
        return LocalContent(
            tuple(cells),
            (value.elem, value.sub, value.path),
            type_key(local_type) if local_type is not None else "",
        )

    def apply_lock(
        self, lock: str, acquire: bool, resource: Value | None, line: int, call_text: str
    ) -> None:
        if acquire:
            self.locks.append(LockHeld(lock, resource, line, call_text))
            return
        for index in range(len(self.locks) - 1, -1, -1):
            held = self.locks[index]
            if held.lock == lock:
                del self.locks[index]
                return


def _wide(value: int) -> IntType:
    return LONG if value < 1 << 63 else ULONG


def _argument_bits(value: Value) -> smt.BitVecRef:
    if isinstance(value, IntV | OpaqueV):
        return value.expr
    if isinstance(value, PtrV):
        return encode(value)
    if isinstance(value, FuncV):
        return smt.bv_val(hash(value.name) & 0xFFFFFFFF, 32)
    if isinstance(value, FloatV):
        return smt.fp_to_bits(value.expr)
    raise Unsupported(f"{value.ctype} passed to a function without side effects")


def _has_log_string(args: list[Value], strings: dict[int, bytes]) -> bool:
    for value in args:
        if isinstance(value, PtrV):
            oid = smt.const_int(value.oid)
            if oid is not None and oid in strings and strings[oid].endswith(b"\n"):
                return True
    return False


def _parameters(symbols: Symbols, declarator: Node) -> list[tuple[str, AnyType]]:
    node: Node | None = declarator
    while node is not None and node.type != "function_declarator":
        node = node.child_by_field_name("declarator")
    if node is None:
        return []
    params_node = node.child_by_field_name("parameters")
    out: list[tuple[str, AnyType]] = []
    if params_node is None:
        return out
    for param in params_node.named_children:
        if param.type != "parameter_declaration":
            continue
        declared = parameter(symbols, param)
        if isinstance(declared.ctype, VoidType) and declared.name is None:
            continue
        out.append((declared.name or f"<unnamed {len(out)}>", declared.ctype))
    return out


def function_parameters(symbols: Symbols, fn_node: Node) -> list[tuple[str, AnyType]]:
    declarator = fn_node.child_by_field_name("declarator")
    return _parameters(symbols, declarator) if declarator is not None else []


def address_taken(body: Node) -> frozenset[str]:
    """Locals whose address is taken anywhere in ``body`` (they live in memory)."""
    names: set[str] = set()
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "pointer_expression" and node.children and node.children[0].type == "&":
            target = node.child_by_field_name("argument")
            while target is not None and target.type in (
                "field_expression",
                "subscript_expression",
                "parenthesized_expression",
            ):
                if (
                    target.type == "field_expression"
                    and text(target.child_by_field_name("operator")) == "->"
                ):
                    target = None
                    break
                target = target.child_by_field_name("argument") or (
                    target.named_children[0] if target.named_children else None
                )
            if target is not None and target.type == "identifier":
                names.add(text(target))
        stack.extend(node.named_children)
    return frozenset(names)


__all__ = ["CallMixin", "Layer", "address_taken", "function_parameters", "is_local"]
