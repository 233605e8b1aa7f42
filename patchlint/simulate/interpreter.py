"""Interpreter for the C subset of kernel control code, over the normalised tree-sitter AST.

The interpreter runs the tree's own functions on a modelled ``World``.  It never
guesses: anything it cannot evaluate (a call with no body and no primitive
model, a field with no declared default, ``sizeof``) raises ``Stop`` and the
run's result is unknown.  Statements live in ``interpreter_stmt``, expressions
in ``interpreter_expr``; this module holds calls, names, lvalues and the
per-call records that the runner compares between the before and after runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from patchlint.simulate import locks
from patchlint.simulate.constants import ConstantResolver
from patchlint.simulate.frames import (
    Break,
    CallRecord,
    Continue,
    Frame,
    Goto,
    Node,
    Resolve,
    Return,
    Signal,
    TraceStep,
    child,
    line_of,
    text_of,
)
from patchlint.simulate.interpreter_expr import ExpressionMixin, convert, convert_value, int_type
from patchlint.simulate.interpreter_stmt import StatementMixin
from patchlint.simulate.macros import Macro, MacroTable, expand
from patchlint.simulate.primitives import Primitives
from patchlint.simulate.resolve import parse_snippet
from patchlint.simulate.world import (
    UNINIT,
    ElemLoc,
    FieldLoc,
    FuncRef,
    Location,
    Obj,
    Ptr,
    Stop,
    Uninitialised,
    Value,
    VarLoc,
    World,
    describe,
)
from patchlint.source import FunctionDef, SourceFile

__all__ = [
    "CallRecord",
    "Frame",
    "Interpreter",
    "Return",
    "Signal",
    "TraceStep",
    "text_of",
]

# (name, type, is_pointer) of each parameter.
Parameter = tuple[str, str, bool]


class Interpreter(ExpressionMixin, StatementMixin):
    """Runs C functions from the tree on a world; one instance per run."""

    def __init__(
        self,
        world: World,
        resolve: Resolve,
        primitives: Primitives,
        constants: ConstantResolver,
        parse_snippet: Callable[[str], Node],
        budget: int = 20000,
        max_depth: int = 40,
        trace: bool = False,
        macros: MacroTable | None = None,
    ) -> None:
        self.macros = macros
        self._expanding: set[str] = set()
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

    def resolve_local(self, name: str, from_path: str | None) -> object | None:
        """Definitions near the caller only; plain resolvers have no cheaper mode."""
        local: Resolve | None = getattr(self.resolve, "local", None)
        return local(name, from_path) if local is not None else self.resolve(name, from_path)

    # -- calls -----------------------------------------------------------------
    def call(
        self,
        name: str,
        args: list[Value],
        caller: Frame | None,
        line: int = 0,
        from_path: str | None = None,
    ) -> Value:
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
        self, name: str, args: list[Value], caller: Frame | None, line: int, from_path: str | None
    ) -> Value:
        found = self.resolve(name, from_path or (caller.src.path if caller else None))
        if found is None or found[1] is None:
            raise Stop(f"unmodelled call {name}()")
        src, fdef = found
        return self.run_function(name, src, fdef, args, caller, line)

    def run_function(
        self,
        name: str,
        src: SourceFile,
        fdef: FunctionDef,
        args: list[Value],
        caller: Frame | None,
        line: int,
    ) -> Value:
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
        result: Value = None
        try:
            self.exec_block(child(fdef.node, "body"), frame)
        except Return as ret:
            result = convert_value(ret.value, return_type, returns_pointer)
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

    def signature(self, node: Node) -> tuple[list[Parameter], str, bool]:
        """Parameters (name, type, is_pointer), return type, returns-pointer."""
        declarator = node.child_by_field_name("declarator")
        returns_pointer = False
        while declarator is not None and declarator.type != "function_declarator":
            if declarator.type == "pointer_declarator":
                returns_pointer = True
            declarator = declarator.child_by_field_name("declarator")
        if declarator is None:
            raise Stop("function without a declarator", kind="unsupported")
        params: list[Parameter] = []
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
    def lookup(self, name: str, frame: Frame) -> Value:
        if name in frame.env:
            value = frame.env[name]
            if isinstance(value, Uninitialised):
                raise Stop(f"{frame.function}: read of uninitialised {name}", kind="error")
            return value
        if name in self.world.globals:
            found = self.world.globals[name]
            return None if isinstance(found, Uninitialised) else found
        if self.primitives.is_identifier(name):
            return self.primitives.identifier(self)
        paths = [frame.src.path, *frame.context]
        constant = self.constants.lookup(name, paths)
        if constant is not None:
            return constant
        if self.resolve_local(name, frame.src.path) is not None:
            return FuncRef(name)
        macro = self.macros.find(name, frame.src.path) if self.macros else None
        if macro is not None and macro.params is None and macro.body:
            return self.eval_macro(macro, [], frame)
        if self.resolve(name, frame.src.path) is not None:
            return FuncRef(name)
        file_scope = self.primitives.file_global(self, frame, name)
        if file_scope is not None:
            self.world.globals[name] = file_scope
            return file_scope
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            symbolic = self.constants.value(name, paths)
            self.world.record(
                "symbolic",
                None,
                f"constant {name} not found in the tree; using a distinct symbolic bit",
                frame.function,
            )
            return symbolic
        raise Stop(f"identifier {name} not modelled (in {frame.function})")

    # -- lvalues ------------------------------------------------------------------
    def lvalue(self, node: Node, frame: Frame) -> Location:
        kind = node.type
        if kind == "parenthesized_expression" and node.named_children:
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
            base = self.eval(child(node, "argument"), frame)
            obj = self.deref_obj(base, node)
            return FieldLoc(obj, text_of(node.child_by_field_name("field")))
        if kind == "subscript_expression":
            array = child(node, "argument")
            base = self.eval(array, frame)
            index = self.eval(child(node, "index"), frame)
            if not isinstance(base, list) or not isinstance(index, int):
                raise Stop(f"subscript of {describe(base)}", kind="unsupported")
            return ElemLoc(base, index, text_of(array))
        if kind == "pointer_expression" and text_of(node.child_by_field_name("operator")) == "*":
            target = self.eval(child(node, "argument"), frame)
            if isinstance(target, Ptr | FieldLoc | ElemLoc | VarLoc):
                return target
            raise Stop(f"dereference of {describe(target)}", kind="error")
        raise Stop(f"unsupported lvalue {kind}", kind="unsupported")

    def deref_obj(self, value: Value, node: Node) -> Obj:
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

    def address_of(self, node: Node, frame: Frame) -> Value:
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
        if isinstance(loc, VarLoc) and isinstance(loc.env.get(loc.name, UNINIT), Uninitialised):
            return loc
        inner = loc.load()
        if isinstance(inner, Obj):
            return Ptr(inner)
        return loc

    def store(self, loc: Location, value: Value, frame: Frame) -> None:
        if isinstance(loc, VarLoc) and loc.env is frame.env:
            value = convert_value(value, frame.types.get(loc.name, ""))
        loc.store(value)

    def _call_expression(self, node: Node, frame: Frame) -> Value:
        self.tick(frame)
        function = child(node, "function")
        args = node.child_by_field_name("arguments")
        arg_nodes = [c for c in args.named_children if c.type != "comment"] if args else []
        line = line_of(node)
        if function.type == "call_expression":  # guard(kind)(lock)
            if text_of(function.child_by_field_name("function")) == "guard":
                return locks.guard(self, frame, function, arg_nodes)
            raise Stop(f"call through {text_of(function)[:40]}", kind="unsupported")
        if function.type == "parenthesized_expression" and function.named_children:
            function = function.named_children[0]
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

    def eval(self, node: Node, frame: Frame) -> Value:
        if node.type == "call_expression":
            return self._call_expression(node, frame)
        return super().eval(node, frame)

    def eval_macro(self, macro: Macro, arg_nodes: list[Node], frame: Frame) -> Value:
        """Evaluate the tree's expansion of a macro in the caller's frame."""
        if macro.name in self._expanding:
            raise Stop(f"macro {macro.name} expands to itself", kind="unsupported")
        text = expand(macro, [text_of(a) for a in arg_nodes])
        statements: Node | None = None
        try:
            source, _, node = parse_snippet(text, macro.path)
        except ValueError:
            # A statement macro (`do { ... } while (0)`): run it for its effects.
            try:
                source, _, statements = parse_snippet(f"{text};", macro.path, kind="body")
            except ValueError as error:
                raise Stop(
                    f"macro {macro.name} expands to neither an expression nor statements",
                    kind="unsupported",
                ) from error
            node = statements
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
            if statements is not None:
                self.exec_sequence(self.statements_of(statements), inner)
                return None
            return self.eval(node, inner)
        finally:
            self._expanding.discard(macro.name)
