"""The whole machine for one version, and the entry that runs one path of a function.

Kernel constructs the front end recorded (iterator macros, scoped_guard(),
guard(), __free()) are decided here from the construct table: guards become
their lock and unlock calls at scope entry and exit, anything else is
unsupported, named.
"""

from __future__ import annotations

import functools

from tree_sitter import Node

from patchlint.knowledge import load_toml
from patchlint.source import Construct, FunctionDef, SourceFile

from . import smt
from .calls import CallMixin, Definition, address_taken, function_parameters
from .ctype import (
    AnyType,
    ArrayType,
    FloatType,
    FunctionType,
    IntType,
    PointerType,
    RecordType,
    UnknownType,
    decay,
    type_key,
)
from .declarations import Unsupported, const_eval, declarator_type, specifier_type, text
from .inputs import Inputs
from .machine import (
    BreakSignal,
    ContinueSignal,
    Decider,
    Fault,
    Frame,
    GotoSignal,
    MemRef,
    ReturnSignal,
    VarRef,
)
from .statements import contains_label
from .symbols import Symbols
from .trace import CallEvent, PathOutcome
from .values import FloatV, IntV, PtrV, Value, encode, from_storage, storage_bits


class Interpreter(CallMixin):
    def __init__(
        self,
        version: str,
        inputs: Inputs,
        symbols: Symbols,
        decider: Decider,
        loop_bound: int,
        program: dict[str, Definition],
    ) -> None:
        super().__init__(version, inputs, symbols, decider, loop_bound)
        self.program = program

    # -- constructs of the kernel dialect ------------------------------------------
    def constructs_at(self, node: Node) -> list[Construct]:
        source = self.frame.source
        if source is None:
            return []
        return [c for c in source.constructs_in(node) if c.start == node.start_byte]

    def special_loop(self, node: Node, seek: str | None) -> bool:
        for construct in self.constructs_at(node):
            if construct.kind == "iterator":
                raise Unsupported(f"iterator macro {construct.name}() at line {construct.line}")
            if construct.kind == "scoped_guard":
                self.scoped_guard(construct, node, seek)
                return True
        return False

    def scoped_guard(self, construct: Construct, node: Node, seek: str | None) -> None:
        if not construct.args:
            raise Unsupported(f"scoped_guard() without a class at line {construct.line}")
        lock_name, unlock_name = guard_functions(construct.args[0])
        args = self._guard_args(construct.args[1:], node)
        line = construct.line
        self.emit_call(lock_name, args, line, f"scoped_guard({', '.join(construct.args)})")
        body = node.child_by_field_name("body")
        try:
            if body is not None:
                self.exec_statement(body, seek)
        except BreakSignal:
            pass
        finally:
            self.emit_call(unlock_name, args, line, f"end of scoped_guard({construct.args[0]})")

    def _guard_args(self, texts: tuple[str, ...], node: Node) -> list[Value]:
        from .symbols import parse_snippet

        values = []
        for arg_text in texts:
            parsed = parse_snippet(arg_text)
            if parsed is None:
                raise Unsupported(f"guard argument {arg_text}")
            values.append(self.eval(parsed))
        return values

    def guard_call(self, function: Node, args: list[Node], node: Node) -> Value:
        inner = function.child_by_field_name("function")
        if inner is None or text(inner) != "guard":
            callee = self.eval(function)
            if isinstance(callee, PtrV):
                return self.uninterpreted(
                    "", encode(callee), args, node, None, shown=text(function)
                )
            raise Unsupported(f"call of a call result at line {node.start_point[0] + 1}")
        arguments = function.child_by_field_name("arguments")
        classes = [text(a) for a in (arguments.named_children if arguments else [])]
        if len(classes) != 1:
            raise Unsupported(f"guard() at line {node.start_point[0] + 1}")
        lock_name, unlock_name = guard_functions(classes[0])
        values = [self.rvalue(a) for a in args]
        line = node.start_point[0] + 1
        self.emit_call(lock_name, values, line, text(node))
        self.frame.cleanups[-1].append((unlock_name, tuple(values), line))
        return IntV(smt.bv_val(0, 32), IntType(32, True, 3))

    def run_cleanups(self, scope_cleanups: list[tuple[str, tuple[Value, ...], int]]) -> None:
        for name, values, line in reversed(scope_cleanups):
            self.emit_call(name, list(values), line, f"{name}() at the end of the scope")

    def emit_call(self, name: str, args: list[Value], line: int, shown: str) -> None:
        """An uninterpreted call with evaluated arguments (guards and cleanups)."""
        from .knowledge import call_kinds

        kinds = call_kinds()
        passed = tuple(self.local_content(value) for value in args)
        event = CallEvent(
            len(self.events),
            name,
            None,
            tuple(args),
            passed,
            len(self.memory.log),
            line,
            shown,
            "call",
        )
        lock_ops = kinds.lock_ops(name, None)
        if lock_ops:
            event = CallEvent(
                event.index,
                name,
                None,
                tuple(args),
                passed,
                event.memory_mark,
                line,
                shown,
                "lock" if lock_ops[0].acquire else "unlock",
            )
        self.events.append(event)
        for op in lock_ops:
            self.apply_lock(op.lock, op.acquire, args[0] if args else None, line, shown)
        for value in args:
            self.note_escape(value)
        if name not in kinds.pure:
            self.memory.havoc(f"call{event.index}:{name}")

    def check_declaration_constructs(self, node: Node) -> None:
        source = self.frame.source
        if source is None:
            return
        for construct in source.constructs_in(node):
            if construct.kind == "attribute" and construct.name in (
                "__free",
                "__cleanup",
                "cleanup",
            ):
                raise Unsupported(
                    f"cleanup attribute {construct.name}({', '.join(construct.args)}) "
                    f"at line {construct.line}"
                )

    def after_declaration(self, name: str, node: Node) -> None:
        return None

    def declare_static_local(self, name: str, ctype: object, init: Node | None) -> None:
        if not isinstance(ctype, IntType | FloatType | PointerType | ArrayType | RecordType):
            raise Unsupported(f"static local {name}")
        var = self.declare(name, ctype, True)
        var.obj = self.global_object(f"{self.frame.function}::{name}", ctype)

    # -- #if inside a function ----------------------------------------------------------
    def exec_conditional(self, node: Node, seek: str | None) -> None:
        """``#ifdef CONFIG_X`` in a body: the configuration is an input (the same in both
        versions), so both arms are explored and a witness names the configuration."""
        arm: Node | None = node
        while arm is not None:
            items = [c for c in arm.named_children if c.type not in _PREPROC_HEADS]
            alternative = arm.child_by_field_name("alternative")
            items = [c for c in items if alternative is None or c.id != alternative.id]
            if arm.type == "preproc_else":
                taken = True
            elif seek is not None:
                taken = any(contains_label(item, seek) for item in items)
            else:
                taken = self.branch(self.preprocessor_condition(arm), arm)
            if taken:
                self._run_children(items, seek)
                return
            arm = alternative

    def preprocessor_condition(self, arm: Node) -> smt.BoolRef:
        if arm.type in ("preproc_ifdef", "preproc_elifdef"):
            name = text(arm.child_by_field_name("name"))
            negated = text(arm.children[0]).rstrip().endswith("ifndef") or "ifndef" in text(
                arm.children[0]
            )
            defined = self.defined(name)
            return smt.neg(defined) if negated else defined
        condition = arm.child_by_field_name("condition")
        if condition is None:
            raise Unsupported(f"#if without a condition at line {arm.start_point[0] + 1}")
        return smt.nonzero(self.preprocessor_value(condition))

    def preprocessor_value(self, node: Node) -> smt.BitVecRef:
        kind = node.type
        if kind == "preproc_defined":
            names = [c for c in node.named_children if c.type == "identifier"]
            return smt.bool_to_bv(self.defined(text(names[0])), 64) if names else smt.bv_val(0, 64)
        if kind == "number_literal":
            value = const_eval(self.frame.symbols, node)
            if value is None:
                raise Unsupported(f"#if on {text(node)}")
            return smt.bv_val(value, 64)
        if kind == "identifier":
            name = text(node)
            if name.startswith("CONFIG_"):
                return self.inputs.symbol(
                    f"config-value:{name}", name, IntType(64, True, 5), 64, "config"
                )
            value = self.frame.symbols.constant(name)
            if value is None:
                raise Unsupported(f"#if on {name}, whose value is not known")
            return smt.bv_val(value, 64)
        if kind == "call_expression":
            function = text(node.child_by_field_name("function"))
            arguments = node.child_by_field_name("arguments")
            args = [
                c for c in (arguments.named_children if arguments else []) if c.type != "comment"
            ]
            if function in _CONFIG_TESTS and len(args) == 1:
                return smt.bool_to_bv(self.defined(text(args[0])), 64)
        if kind == "parenthesized_expression" and node.named_children:
            return self.preprocessor_value(node.named_children[0])
        if kind == "unary_expression":
            operand = self.preprocessor_value(_required(node, "argument"))
            op = text(node.child_by_field_name("operator"))
            if op == "!":
                return smt.bool_to_bv(smt.neg(smt.nonzero(operand)), 64)
            if op == "-":
                return smt.simplify_bv(-operand)
        if kind == "binary_expression":
            op = text(node.child_by_field_name("operator"))
            left = self.preprocessor_value(_required(node, "left"))
            right = self.preprocessor_value(_required(node, "right"))
            if op == "&&":
                return smt.bool_to_bv(smt.conj(smt.nonzero(left), smt.nonzero(right)), 64)
            if op == "||":
                return smt.bool_to_bv(smt.disj(smt.nonzero(left), smt.nonzero(right)), 64)
            compare = {"==": smt.eq, "!=": smt.differ, "<": smt.slt, "<=": smt.sle}
            if op in compare:
                return smt.bool_to_bv(compare[op](left, right), 64)
            if op in (">", ">="):
                return smt.bool_to_bv(compare["<" if op == ">" else "<="](right, left), 64)
        raise Unsupported(f"#if condition `{text(node)[:40]}` at line {node.start_point[0] + 1}")

    def defined(self, name: str) -> smt.BoolRef:
        """Whether a macro is defined: kernel configuration options are inputs; other
        names are defined when the file, the model or the headers define them."""
        settings = preprocessor_settings()
        if name in settings[0]:
            return smt.TRUE
        if name.startswith("CONFIG_"):
            term = self.inputs.symbol(f"config:{name}", name, IntType(8, False, 0), 1, "config")
            return smt.nonzero(term)
        return smt.TRUE if self.frame.symbols.macro(name) is not None else smt.FALSE

    # -- builtins --------------------------------------------------------------------
    def builtin(self, name: str, args: list[Node], node: Node) -> Value | None:
        if name in _CONFIG_TESTS and len(args) == 1 and text(args[0]).startswith("CONFIG_"):
            return IntV(smt.bool_to_bv(self.defined(text(args[0])), 32), IntType(32, True, 3))
        if name == "container_of" and len(args) == 3:
            return self.container_of(args, node)
        if name in ("offsetof", "__builtin_offsetof") and len(args) == 2:
            ctype = self.type_from_argument(args[0])
            key = f"offsetof({type_key(ctype)}, {text(args[1])})"
            term = self.inputs.symbol(key, key, IntType(64, False, 4), 64, "constant")
            return IntV(term, IntType(64, False, 4))
        if name == "__builtin_unreachable":
            raise Fault(f"__builtin_unreachable() reached (line {node.start_point[0] + 1})")
        return None

    def type_from_argument(self, node: Node) -> AnyType:
        """A type passed as a macro argument (the front end made ``struct x`` ``struct_x``)."""
        raw = text(node)
        for prefix, union in (("struct_", False), ("union_", True)):
            if raw.startswith(prefix):
                return RecordType(raw[len(prefix) :], union)
        found = self.frame.symbols.typedef(raw)
        if found is None:
            raise Unsupported(f"type {raw}")
        return found

    def container_of(self, args: list[Node], node: Node) -> Value:
        pointer = self.rvalue(args[0])
        record = self.type_from_argument(args[1])
        member = text(args[2])
        if not isinstance(pointer, PtrV) or not isinstance(record, RecordType):
            raise Unsupported(f"container_of at line {node.start_point[0] + 1}")
        prefix = type_key(record)
        if pointer.path == f"{prefix}.{member}":
            return PtrV(
                pointer.oid,
                pointer.elem,
                "",
                pointer.sub,
                PointerType(record),
                pointer.origin,
                prefix,
            )
        if pointer.path.endswith(f".{member}") and pointer.path != "":
            outer = pointer.path[: -len(member) - 1]
            return PtrV(
                pointer.oid,
                pointer.elem,
                outer,
                pointer.sub,
                PointerType(record),
                pointer.origin,
                pointer.base,
            )
        # The member pointer came from outside: the container is an input object
        # tied to that pointer (both versions derive the same one).
        name = f"container_of({pointer.origin or 'pointer'}, {prefix}, {member})"
        key = self.inputs.term_key(encode(pointer))
        obj = self.inputs.fresh_object(f"container:{key}:{prefix}", record, name)
        zero = smt.bv_val(0, 32)
        return PtrV(smt.bv_val(obj.oid, 32), zero, "", zero, PointerType(record), name, prefix)


_PREPROC_HEADS = frozenset(
    {
        "identifier",
        "preproc_defined",
        "binary_expression",
        "unary_expression",
        "number_literal",
        "parenthesized_expression",
        "call_expression",
        "preproc_arg",
    }
)
# IS_ENABLED(CONFIG_X) and friends: a configuration option is y or n (=m is not modelled).
_CONFIG_TESTS = frozenset({"IS_ENABLED", "IS_BUILTIN", "IS_REACHABLE", "IS_MODULE"})


@functools.cache
def preprocessor_settings() -> tuple[frozenset[str]]:
    data = load_toml("behaviour/headers.toml")
    return (frozenset(data.get("defined", [])),)


def _required(node: Node, field: str) -> Node:
    child = node.child_by_field_name(field)
    if child is None:
        raise Unsupported(f"incomplete {node.type} at line {node.start_point[0] + 1}")
    return child


def guard_functions(lock_class: str) -> tuple[str, str]:
    table = load_toml("behaviour/calls.toml").get("guards", {})
    found = table.get(lock_class)
    if not isinstance(found, list) or len(found) != 2:
        raise Unsupported(
            f"guard class {lock_class} (its lock and unlock are not in rules/behaviour/calls.toml)"
        )
    return str(found[0]), str(found[1])


def return_type(symbols: Symbols, fn: FunctionDef) -> AnyType:
    type_node = fn.node.child_by_field_name("type")
    declarator = fn.node.child_by_field_name("declarator")
    if type_node is None or declarator is None:
        raise Unsupported(f"definition of {fn.name}")
    declared = declarator_type(symbols, specifier_type(symbols, type_node), declarator)
    if not isinstance(declared.ctype, FunctionType):
        raise Unsupported(f"definition of {fn.name}")
    return declared.ctype.ret


def parameter_input(
    inputs: Inputs, index: int, name: str, ctype: AnyType
) -> tuple[Value, smt.BoolRef]:
    """The value of parameter ``index``, shared by both versions whatever its name."""
    key = f"arg{index}"
    ctype = decay(ctype)
    if isinstance(ctype, PointerType):
        pointer, constraint = inputs.pointer_input(key, name, ctype, "param")
        return pointer, constraint
    if isinstance(ctype, IntType | FloatType):
        term = inputs.symbol(key, name, ctype, storage_bits(ctype), "param")
        value = from_storage(term, ctype, name)
        if isinstance(ctype, IntType) and ctype.rank == 0 and not ctype.is_enum:
            # A _Bool parameter holds 0 or 1.
            return value, smt.ule(term, smt.bv_val(1, ctype.bits))
        return value, smt.TRUE
    if isinstance(ctype, UnknownType):
        raise Unsupported(f"parameter {name} of unresolved type {ctype}")
    raise Unsupported(f"parameter {name} of type {ctype}")


def run_path(
    version: str,
    inputs: Inputs,
    symbols: Symbols,
    fn: FunctionDef,
    source: SourceFile,
    decider: Decider,
    loop_bound: int,
    program: dict[str, Definition],
) -> PathOutcome:
    """Run ``fn`` once along the path the decider steers; Unsupported and PathCut escape."""
    machine = Interpreter(version, inputs, symbols, decider, loop_bound, program)
    if fn.body is None:
        raise Unsupported(f"{fn.name} has no body")
    if fn.has_errors:
        raise Unsupported(f"{fn.name} does not parse cleanly")
    ret_type = return_type(symbols, fn)
    frame = Frame(fn.name, symbols, ret_type, address_taken=address_taken(fn.body), source=source)
    machine.frames.append(frame)
    outcome = PathOutcome(version, [])
    try:
        for index, (name, ctype) in enumerate(function_parameters(symbols, fn.node)):
            if isinstance(ctype, RecordType):
                value: Value = _record_parameter(machine, index, name, ctype, fn)
            else:
                value, constraint = parameter_input(inputs, index, name, ctype)
                decider.assume(constraint)
            var = machine.declare(name, decay(ctype), name in frame.address_taken)
            machine.store(VarRef(var), value, fn.node)
        try:
            machine.exec_statement(fn.body)
        except ReturnSignal as signal:
            outcome.ret = signal.value
        except GotoSignal as jump:
            raise Unsupported(f"goto {jump.label}: no such label in {fn.name}") from None
        except (BreakSignal, ContinueSignal):
            raise Unsupported(f"break or continue outside a loop in {fn.name}") from None
    except Fault as fault:
        outcome.fault = str(fault)
    outcome.events = machine.events
    outcome.logs = machine.logs
    outcome.memory = machine.memory
    outcome.locks = list(machine.locks)
    outcome.cut_helpers = machine.cut_helpers
    outcome.notes = machine.notes
    return outcome


def _record_parameter(
    machine: Interpreter, index: int, name: str, ctype: RecordType, fn: FunctionDef
) -> Value:
    """A struct passed by value: its members are inputs, read from an input object."""
    obj = machine.global_object(f"arg{index}", ctype)
    machine.inputs.by_oid[smt.const_int(obj.oid) or 0].name = name
    shown = PtrV(obj.oid, obj.elem, obj.path, obj.sub, obj.ctype, name, obj.base)
    return machine.load(MemRef(shown, name), fn.node)


__all__ = ["FloatV", "Interpreter", "parameter_input", "return_type", "run_path"]
