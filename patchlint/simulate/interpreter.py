"""Interpreter for the C subset of kernel control code, over the normalised tree-sitter AST.

The interpreter runs the tree's own functions on a modelled ``World``.  It never
guesses: anything it cannot evaluate (a call with no body and no primitive
model, a field with no declared default, ``sizeof``) raises ``Stop`` and the
run's result is unknown.  Statements live in ``interpreter_stmt``; this module
holds expressions, calls, frames and the per-call records that the runner
compares between the before and after runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from patchlint.simulate.interpreter_stmt import StatementMixin
from patchlint.simulate.world import (
    ElemLoc,
    FieldLoc,
    FuncRef,
    Obj,
    Ptr,
    Stop,
    VarLoc,
    World,
    describe,
    is_pointer,
    truth,
)

Node = Any  # tree_sitter.Node
UNINIT = object()


@dataclass
class CallRecord:
    """One executed call: what it was given, which way it went, what it returned."""

    function: str
    args: tuple[str, ...]
    line: int
    primitive: bool = False
    path: list[tuple[Any, ...]] = field(default_factory=list)
    children: list[CallRecord] = field(default_factory=list)
    result: str | None = None
    stopped: str | None = None

    def signature(self) -> str:
        return f"{self.function}({', '.join(self.args)})"


@dataclass
class TraceStep:
    function: str
    line: int
    what: str
    depth: int


@dataclass
class Frame:
    function: str
    src: Any  # patchlint.source.SourceFile
    env: dict[str, Any]
    types: dict[str, str]
    record: CallRecord
    scopes: list[list[Callable[[], None]]] = field(default_factory=list)


_INT_TYPES = {
    "bool": (1, False), "_Bool": (1, False), "char": (8, True), "u8": (8, False),
    "s8": (8, True), "short": (16, True), "u16": (16, False), "s16": (16, True),
    "int": (32, True), "u32": (32, False), "s32": (32, True), "unsigned": (32, False),
    "long": (64, True), "u64": (64, False), "s64": (64, True), "size_t": (64, False),
    "ssize_t": (64, True), "gfp_t": (32, False), "pid_t": (32, True),
}


def int_type(type_text: str) -> tuple[int, bool] | None:
    """(bits, signed) for a scalar C type name, ``None`` for anything else."""
    words = [w for w in re.split(r"\s+", type_text.strip()) if w not in ("const", "volatile",
                                                                        "static", "register")]
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


def convert(value: Any, type_text: str, pointer: bool = False) -> Any:
    """C conversion of a value to a declared type (bool keeps 0/1, unsigned wraps)."""
    if pointer or value is UNINIT:
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


def _number(text: str) -> int:
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


class Signal(Exception):  # noqa: N818 - non-local control flow of the C program
    pass


class Break(Signal):
    pass


class Continue(Signal):
    pass


class Return(Signal):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class Goto(Signal):
    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


def text_of(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def same(a: Any, b: Any) -> bool:
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
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << b if 0 <= b < 128 else 0, ">>": lambda a, b: a >> b if b >= 0 else 0,
    "<": lambda a, b: int(a < b), ">": lambda a, b: int(a > b),
    "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
}


class Interpreter(StatementMixin):
    """Runs C functions from the tree on a world; one instance per run."""

    def __init__(self, world: World, resolve: Callable[[str, str | None], Any],
                 primitives: Any, constants: Any, parse_snippet: Callable[[str], Any],
                 budget: int = 20000, max_depth: int = 40, trace: bool = False) -> None:
        self.world = world
        self.resolve = resolve
        self.primitives = primitives
        self.constants = constants
        self.parse_snippet = parse_snippet
        self.budget = budget
        self.max_depth = max_depth
        self.steps = 0
        self.tracing = trace
        self.trace: list[TraceStep] = []
        self.frames: list[Frame] = []
        self.root = CallRecord("<run>", (), 0)

    # -- bookkeeping ----------------------------------------------------------
    def tick(self, frame: Frame | None = None, node: Node | None = None) -> None:
        self.steps += 1
        if self.steps > self.budget:
            where = f" in {frame.function}" if frame else ""
            raise Stop(f"step budget of {self.budget} exhausted{where}", kind="budget")

    def note(self, frame: Frame, node: Node, what: str) -> None:
        if self.tracing:
            self.trace.append(TraceStep(frame.function, node.start_point[0] + 1, what,
                                        len(self.frames)))

    def branch(self, frame: Frame, node: Node, taken: Any) -> None:
        line = node.start_point[0] + 1
        frame.record.path.append(("branch", line, taken))
        self.note(frame, node, f"branch {taken}")

    def line_of(self, node: Node) -> int:
        return node.start_point[0] + 1

    # -- calls -----------------------------------------------------------------
    def call(self, name: str, args: list[Any], caller: Frame | None, line: int = 0,
             from_path: str | None = None) -> Any:
        """Call ``name`` with evaluated arguments (used for callbacks and actions)."""
        found = self.resolve(name, from_path or (caller.src.path if caller else None))
        if found is None:
            raise Stop(f"unmodelled call {name}()")
        src, fdef = found
        return self.run_function(name, src, fdef, args, caller, line)

    def run_function(self, name: str, src: Any, fdef: Any, args: list[Any],
                     caller: Frame | None, line: int) -> Any:
        if len(self.frames) >= self.max_depth:
            raise Stop(f"recursion limit of {self.max_depth} reached calling {name}()",
                       kind="recursion")
        params, return_type, returns_pointer = self.signature(fdef.node)
        record = CallRecord(name, tuple(describe(a) for a in args), line)
        parent = caller.record if caller else self.root
        parent.children.append(record)
        if caller is not None:
            caller.record.path.append(("call", name))
        frame = Frame(name, src, {}, {}, record)
        if len(params) != len(args) and not (params == [] and not args):
            raise Stop(f"{name}() takes {len(params)} arguments, given {len(args)}",
                       kind="error")
        for (pname, ptype, pptr), value in zip(params, args, strict=False):
            frame.env[pname] = convert(value, ptype, pptr)
            frame.types[pname] = "" if pptr else ptype
        self.frames.append(frame)
        self.note(frame, fdef.node, f"enter {record.signature()}")
        result: Any = None
        try:
            body = fdef.node.child_by_field_name("body")
            self.exec_block(body, frame)
        except Return as ret:
            result = convert(ret.value, return_type, returns_pointer)
        except Stop as stop:
            record.stopped = stop.reason
            raise
        finally:
            self.frames.pop()
        if returns_pointer or return_type.strip() != "void":
            is_bool = not returns_pointer and int_type(return_type) == (1, False)
            record.result = ("true" if result else "false") if is_bool else describe(result)
        self.note(frame, fdef.node, f"return {record.result}")
        return result

    def signature(self, node: Node) -> tuple[list[tuple[str, str, bool]], str, bool]:
        """Parameters (name, type, is_pointer), return type, returns-pointer."""
        declarator = node.child_by_field_name("declarator")
        returns_pointer = False
        while declarator is not None and declarator.type != "function_declarator":
            if declarator.type == "pointer_declarator":
                returns_pointer = True
            declarator = declarator.child_by_field_name("declarator")
        if declarator is None:
            raise Stop("function without a declarator", kind="unsupported")
        params: list[tuple[str, str, bool]] = []
        plist = declarator.child_by_field_name("parameters")
        for param in plist.named_children if plist is not None else []:
            if param.type == "variadic_parameter":
                raise Stop("variadic function", kind="unsupported")
            if param.type != "parameter_declaration":
                continue
            ptype = text_of(param.child_by_field_name("type"))
            inner = param.child_by_field_name("declarator")
            pointer = False
            while inner is not None and inner.type != "identifier":
                if inner.type in ("pointer_declarator", "function_declarator",
                                  "array_declarator", "abstract_pointer_declarator"):
                    pointer = True
                inner = inner.child_by_field_name("declarator")
            if inner is None:
                if ptype.strip() == "void":
                    continue
                params.append((f"__unnamed{len(params)}", ptype, pointer))
            else:
                params.append((text_of(inner), ptype, pointer))
        return params, text_of(node.child_by_field_name("type")), returns_pointer

    # -- identifiers ------------------------------------------------------------
    def lookup(self, name: str, frame: Frame) -> Any:
        if name in frame.env:
            value = frame.env[name]
            if value is UNINIT:
                raise Stop(f"{frame.function}: read of uninitialised {name}", kind="error")
            return value
        if name in self.world.globals:
            return self.world.globals[name]
        if self.primitives.is_identifier(name):
            return self.primitives.identifier(self, name, frame)
        paths = [frame.src.path] if getattr(frame.src, "path", None) else []
        value = self.constants.lookup(name, paths)
        if value is not None:
            return value
        if self.resolve(name, frame.src.path) is not None:
            return FuncRef(name)
        found = self.primitives.file_global(self, frame, name)
        if found is not None:
            self.world.globals[name] = found
            return found
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            value = self.constants.value(name, paths)
            self.world.record("symbolic", None, f"constant {name} not found in the tree; "
                              f"using a distinct symbolic bit", frame.function)
            return value
        raise Stop(f"identifier {name} not modelled (in {frame.function})")

    # -- lvalues ------------------------------------------------------------------
    def lvalue(self, node: Node, frame: Frame) -> Any:
        kind = node.type
        if kind == "parenthesized_expression":
            return self.lvalue(node.named_children[0], frame)
        if kind == "identifier":
            name = text_of(node)
            if name in frame.env:
                return VarLoc(frame.env, name)
            self.lookup(name, frame)  # materialises a file-scope global if the tree has one
            if name in self.world.globals:
                return VarLoc(self.world.globals, name)
            raise Stop(f"cannot assign to {name}", kind="unsupported")
        if kind == "field_expression":
            base = self.eval(node.child_by_field_name("argument"), frame)
            obj = self.deref_obj(base, node)
            return FieldLoc(obj, text_of(node.child_by_field_name("field")))
        if kind == "subscript_expression":
            base = self.eval(node.child_by_field_name("argument"), frame)
            index = self.eval(node.child_by_field_name("index"), frame)
            if not isinstance(base, list) or not isinstance(index, int):
                raise Stop(f"subscript of {describe(base)}", kind="unsupported")
            return ElemLoc(base, index, text_of(node.child_by_field_name("argument")))
        if kind == "pointer_expression" and text_of(node.child_by_field_name("operator")) == "*":
            target = self.eval(node.child_by_field_name("argument"), frame)
            if not is_pointer(target) or isinstance(target, FuncRef):
                raise Stop(f"dereference of {describe(target)}", kind="error")
            return target
        raise Stop(f"unsupported lvalue {kind}", kind="unsupported")

    def deref_obj(self, value: Any, node: Node) -> Obj:
        if isinstance(value, Obj):
            return value
        if isinstance(value, Ptr):
            return value.obj
        if isinstance(value, FieldLoc | ElemLoc | VarLoc):
            inner = value.load()
            if isinstance(inner, Obj):
                return inner
        if value in (0, None):
            raise Stop(f"NULL dereference in {text_of(node)}", kind="error")
        raise Stop(f"field access on {describe(value)} in {text_of(node)}", kind="error")

    def address_of(self, node: Node, frame: Frame) -> Any:
        if node.type == "identifier":
            name = text_of(node)
            if name not in frame.env:
                value = self.lookup(name, frame)
                if isinstance(value, Obj):
                    return Ptr(value)
                if isinstance(value, FuncRef):
                    return value
        loc = self.lvalue(node, frame)
        if isinstance(loc, Ptr):
            return loc
        inner = loc.load() if not isinstance(loc, VarLoc) or loc.name in loc.env else None
        if isinstance(inner, Obj):
            return Ptr(inner)
        return loc

    def store(self, loc: Any, value: Any, frame: Frame) -> None:
        if isinstance(loc, VarLoc) and loc.env is frame.env:
            value = convert(value, frame.types.get(loc.name, ""))
        loc.store(value)

    # -- expressions --------------------------------------------------------------
    def eval(self, node: Node, frame: Frame) -> Any:
        method = getattr(self, "_e_" + node.type, None)
        if method is None:
            raise Stop(f"unsupported expression {node.type} at {frame.function}:"
                       f"{self.line_of(node)}", kind="unsupported")
        return method(node, frame)

    def _e_number_literal(self, node: Node, frame: Frame) -> Any:
        return _number(text_of(node))

    def _e_char_literal(self, node: Node, frame: Frame) -> Any:
        body = text_of(node)[1:-1]
        escapes = {"\\n": 10, "\\t": 9, "\\0": 0, "\\\\": 92, "\\'": 39}
        if body in escapes:
            return escapes[body]
        if len(body) != 1:
            raise Stop(f"char literal {body}", kind="unsupported")
        return ord(body)

    def _e_string_literal(self, node: Node, frame: Frame) -> Any:
        return text_of(node)

    _e_concatenated_string = _e_string_literal

    def _e_true(self, node: Node, frame: Frame) -> Any:
        return 1

    def _e_false(self, node: Node, frame: Frame) -> Any:
        return 0

    def _e_null(self, node: Node, frame: Frame) -> Any:
        return 0

    def _e_identifier(self, node: Node, frame: Frame) -> Any:
        return self.lookup(text_of(node), frame)

    def _e_parenthesized_expression(self, node: Node, frame: Frame) -> Any:
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            raise Stop("empty parentheses", kind="unsupported")
        return self.eval(inner[0], frame)

    def _e_comma_expression(self, node: Node, frame: Frame) -> Any:
        self.eval(node.child_by_field_name("left"), frame)
        return self.eval(node.child_by_field_name("right"), frame)

    def _e_conditional_expression(self, node: Node, frame: Frame) -> Any:
        cond = truth(self.eval(node.child_by_field_name("condition"), frame))
        self.branch(frame, node, cond)
        chosen = node.child_by_field_name("consequence" if cond else "alternative")
        if chosen is None:  # GNU `a ?: b`
            return self.eval(node.child_by_field_name("condition"), frame)
        return self.eval(chosen, frame)

    def _e_unary_expression(self, node: Node, frame: Frame) -> Any:
        op = text_of(node.child_by_field_name("operator"))
        value = self.eval(node.child_by_field_name("argument"), frame)
        if op == "!":
            return int(not truth(value))
        if not isinstance(value, int):
            raise Stop(f"arithmetic {op} on {describe(value)}", kind="error")
        return {"~": ~value, "-": -value, "+": value}.get(op, value)

    def _e_binary_expression(self, node: Node, frame: Frame) -> Any:
        op = text_of(node.child_by_field_name("operator"))
        left_node, right_node = node.child_by_field_name("left"), node.child_by_field_name("right")
        if op in ("&&", "||"):
            left = truth(self.eval(left_node, frame))
            if (op == "&&" and not left) or (op == "||" and left):
                return int(left)
            return int(truth(self.eval(right_node, frame)))
        left = self.eval(left_node, frame)
        right = self.eval(right_node, frame)
        if op == "==":
            return int(same(left, right))
        if op == "!=":
            return int(not same(left, right))
        return self.arith(op, left, right, node)

    def arith(self, op: str, left: Any, right: Any, node: Node) -> int:
        if not isinstance(left, int) or not isinstance(right, int):
            raise Stop(f"arithmetic {op} on {describe(left)} and {describe(right)} "
                       f"({text_of(node)[:60]})", kind="unsupported")
        if op in ("/", "%"):
            if right == 0:
                raise Stop(f"division by zero in {text_of(node)[:60]}", kind="error")
            quotient = abs(left) // abs(right) * (1 if (left >= 0) == (right >= 0) else -1)
            return quotient if op == "/" else left - quotient * right
        if op not in _ARITH:
            raise Stop(f"operator {op}", kind="unsupported")
        return _ARITH[op](left, right)

    def _e_pointer_expression(self, node: Node, frame: Frame) -> Any:
        op = text_of(node.child_by_field_name("operator"))
        argument = node.child_by_field_name("argument")
        if op == "&":
            return self.address_of(argument, frame)
        target = self.eval(argument, frame)
        if isinstance(target, Ptr):
            return target.obj
        if isinstance(target, FieldLoc | ElemLoc | VarLoc):
            return target.load()
        raise Stop(f"dereference of {describe(target)}", kind="error")

    def _e_field_expression(self, node: Node, frame: Frame) -> Any:
        base = self.eval(node.child_by_field_name("argument"), frame)
        obj = self.deref_obj(base, node)
        return obj.get(text_of(node.child_by_field_name("field")))

    def _e_subscript_expression(self, node: Node, frame: Frame) -> Any:
        return self.lvalue(node, frame).load()

    def _e_cast_expression(self, node: Node, frame: Frame) -> Any:
        value = self.eval(node.child_by_field_name("value"), frame)
        type_node = node.child_by_field_name("type")
        pointer = type_node is not None and type_node.child_by_field_name("declarator") is not None
        base = text_of(type_node.child_by_field_name("type")) if type_node is not None else ""
        return convert(value, base, pointer)

    def _e_assignment_expression(self, node: Node, frame: Frame) -> Any:
        op = text_of(node.child_by_field_name("operator"))
        loc = self.lvalue(node.child_by_field_name("left"), frame)
        value = self.eval(node.child_by_field_name("right"), frame)
        if op != "=":
            value = self.arith(op[:-1], loc.load(), value, node)
        self.store(loc, value, frame)
        return loc.load()

    def _e_update_expression(self, node: Node, frame: Frame) -> Any:
        op = text_of(node.child_by_field_name("operator"))
        argument = node.child_by_field_name("argument")
        loc = self.lvalue(argument, frame)
        old = loc.load()
        if not isinstance(old, int):
            raise Stop(f"{op} on {describe(old)}", kind="unsupported")
        self.store(loc, old + (1 if op == "++" else -1), frame)
        prefix = node.children[0].type in ("++", "--")
        return loc.load() if prefix else old

    def _e_sizeof_expression(self, node: Node, frame: Frame) -> Any:
        raise Stop("sizeof is not modelled", kind="unsupported")

    def _e_call_expression(self, node: Node, frame: Frame) -> Any:
        self.tick(frame, node)
        function = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        arg_nodes = [c for c in args.named_children if c.type != "comment"] if args else []
        line = self.line_of(node)
        if function.type == "call_expression":  # guard(kind)(lock)
            inner = function.child_by_field_name("function")
            if text_of(inner) == "guard":
                return self.primitives.guard(self, frame, function, arg_nodes)
            raise Stop(f"call through {text_of(function)[:40]}", kind="unsupported")
        if function.type == "parenthesized_expression":
            function = function.named_children[0] if function.named_children else function
        if function.type != "identifier":
            target = self.eval(function, frame)
            if not isinstance(target, FuncRef):
                raise Stop(f"call through {text_of(function)[:40]}", kind="unsupported")
            name = target.name
        else:
            name = text_of(function)
            local = frame.env.get(name)
            if isinstance(local, FuncRef):
                name = local.name
            elif self.primitives.has(name):
                self.note(frame, node, f"primitive {name}")
                return self.primitives.call(self, frame, name, arg_nodes, line)
        values = [self.eval(a, frame) for a in arg_nodes]
        self.note(frame, node, f"call {name}")
        return self.call(name, values, frame, line)
