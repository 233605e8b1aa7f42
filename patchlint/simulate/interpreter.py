"""Interpreter for the C subset of kernel control code, over the normalised tree-sitter AST.

The interpreter runs the tree's own functions on a modelled ``World``.  It never
guesses: anything it cannot evaluate (a call with no body and no primitive
model, a field with no declared default, ``sizeof``) raises ``Stop`` and the
run's result is unknown.  Statements live in ``interpreter_stmt``; this module
holds expressions, calls, frames and the per-call records that the runner
compares between the before and after runs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from patchlint.simulate.interpreter_expr import (
    UNINIT,
    ExpressionMixin,
    convert,
    int_type,
    text_of,
)
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
)

Node = Any  # tree_sitter.Node


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
    # Extra files whose constants are visible (a macro body runs in its caller).
    context: list[str] = field(default_factory=list)


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


def _two_argument(resolve: Callable[..., Any]) -> Callable[[str, str | None], Any]:
    """Accept plain ``resolver(name)`` callables as well as ``resolver(name, from_path)``."""
    try:
        params = inspect.signature(resolve).parameters.values()
    except (TypeError, ValueError):
        return resolve
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params):
        return resolve
    return lambda name, from_path=None: resolve(name)


class Interpreter(ExpressionMixin, StatementMixin):
    """Runs C functions from the tree on a world; one instance per run."""

    def __init__(
        self,
        world: World,
        resolve: Callable[[str, str | None], Any],
        primitives: Any,
        constants: Any,
        parse_snippet: Callable[[str], Any],
        budget: int = 20000,
        max_depth: int = 40,
        trace: bool = False,
        macros: Any = None,
    ) -> None:
        self.macros = macros
        self._expanding: set[str] = set()
        self.world = world
        self.resolve = _two_argument(resolve)
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
            self.trace.append(
                TraceStep(frame.function, node.start_point[0] + 1, what, len(self.frames))
            )

    def branch(self, frame: Frame, node: Node, taken: Any) -> None:
        line = node.start_point[0] + 1
        frame.record.path.append(("branch", line, taken))
        self.note(frame, node, f"branch {taken}")

    def line_of(self, node: Node) -> int:
        return node.start_point[0] + 1

    def resolve_local(self, name: str, from_path: str | None) -> Any:
        """Definitions near the caller only; plain resolvers have no cheaper mode."""
        local = getattr(self.resolve, "local", None)
        return local(name, from_path) if local is not None else self.resolve(name, from_path)

    # -- calls -----------------------------------------------------------------
    def call(
        self,
        name: str,
        args: list[Any],
        caller: Frame | None,
        line: int = 0,
        from_path: str | None = None,
    ) -> Any:
        """Call ``name`` with evaluated arguments (used for callbacks and actions).

        Called from outside a run (``caller`` None), every failure surfaces as
        ``Stop``: callers only ever see "unknown", never an interpreter crash.
        """
        if caller is not None:
            return self._call(name, args, caller, line, from_path)
        try:
            return self._call(name, args, caller, line, from_path)
        except Stop:
            raise
        except RecursionError as error:
            raise Stop(f"nesting too deep in {name}()", kind="recursion") from error
        except Exception as error:
            raise Stop(
                f"internal error {type(error).__name__} in {name}(): {error}", kind="error"
            ) from error

    def _call(
        self, name: str, args: list[Any], caller: Frame | None, line: int, from_path: str | None
    ) -> Any:
        found = self.resolve(name, from_path or (caller.src.path if caller else None))
        if found is None:
            raise Stop(f"unmodelled call {name}()")
        src, fdef = found
        return self.run_function(name, src, fdef, args, caller, line)

    def run_function(
        self, name: str, src: Any, fdef: Any, args: list[Any], caller: Frame | None, line: int
    ) -> Any:
        if len(self.frames) >= self.max_depth:
            raise Stop(
                f"recursion limit of {self.max_depth} reached calling {name}()", kind="recursion"
            )
        params, return_type, returns_pointer = self.signature(fdef.node)
        record = CallRecord(name, tuple(describe(a) for a in args), line)
        parent = caller.record if caller else self.root
        parent.children.append(record)
        if caller is not None:
            caller.record.path.append(("call", name))
        frame = Frame(name, src, {}, {}, record)
        if len(params) != len(args) and not (params == [] and not args):
            raise Stop(f"{name}() takes {len(params)} arguments, given {len(args)}", kind="error")
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
        except Goto as jump:
            record.stopped = f"goto {jump.label}: label not reachable in {name}()"
            raise Stop(record.stopped, kind="unsupported") from None
        except (Break, Continue) as stray:
            record.stopped = f"{type(stray).__name__.lower()} outside a loop in {name}()"
            raise Stop(record.stopped, kind="error") from None
        except Stop as stop:
            record.stopped = stop.reason
            raise
        finally:
            self.frames.pop()
        if returns_pointer or return_type.strip() != "void":
            is_bool = not returns_pointer and int_type(return_type) == (1, False)
            record.result = ("true" if result else "false") if is_bool else describe(result)
        self.note(
            frame, fdef.node, "return" if record.result is None else f"return {record.result}"
        )
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
                if inner.type in (
                    "pointer_declarator",
                    "function_declarator",
                    "array_declarator",
                    "abstract_pointer_declarator",
                ):
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
        paths = ([frame.src.path] if getattr(frame.src, "path", None) else []) + frame.context
        value = self.constants.lookup(name, paths)
        if value is not None:
            return value
        if self.resolve_local(name, frame.src.path) is not None:
            return FuncRef(name)
        macro = self.macros.find(name, frame.src.path) if self.macros else None
        if macro is not None and macro.params is None and macro.body:
            return self.eval_macro(macro, [], frame)
        if self.resolve(name, frame.src.path) is not None:
            return FuncRef(name)
        found = self.primitives.file_global(self, frame, name)
        if found is not None:
            self.world.globals[name] = found
            return found
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            value = self.constants.value(name, paths)
            self.world.record(
                "symbolic",
                None,
                f"constant {name} not found in the tree; using a distinct symbolic bit",
                frame.function,
            )
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
        if self.resolve_local(name, frame.src.path) is None and self.macros is not None:
            macro = self.macros.find(name, frame.src.path)
            if macro is not None and macro.params is not None:
                self.note(frame, node, f"macro {name}")
                return self.eval_macro(macro, arg_nodes, frame)
        values = [self.eval(a, frame) for a in arg_nodes]
        self.note(frame, node, f"call {name}")
        return self.call(name, values, frame, line)

    def eval_macro(self, macro: Any, arg_nodes: list[Node], frame: Frame) -> Any:
        """Evaluate the tree's expansion of a macro in the caller's frame."""
        from patchlint.simulate.macros import expand
        from patchlint.simulate.resolve import parse_snippet

        if macro.name in self._expanding:
            raise Stop(f"macro {macro.name} expands to itself", kind="unsupported")
        text = expand(macro, [text_of(a) for a in arg_nodes])
        try:
            source, _, node = parse_snippet(text, macro.path)
        except ValueError as error:
            raise Stop(
                f"macro {macro.name} does not expand to an expression", kind="unsupported"
            ) from error
        frame.record.path.append(("call", macro.name))
        inner = Frame(
            frame.function,
            source,
            frame.env,
            frame.types,
            frame.record,
            frame.scopes,
            [frame.src.path, *frame.context],
        )
        self._expanding.add(macro.name)
        try:
            return self.eval(node, inner)
        finally:
            self._expanding.discard(macro.name)
