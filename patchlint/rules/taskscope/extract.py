"""Read what one function does to task state: member reads and writes, flag bits tested,
set and cleared, tasks woken, thread walks, and the location each call argument names.

The same reader summarises the tree's functions for the inference and reads the
functions of a patched file for the rules; callees are seen through their summaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from patchlint.rules.taskscope.bindings import looked_up, own_process_link, pid_select
from patchlint.rules.taskscope.loops import iterator_walks, stepper_walks
from patchlint.rules.taskscope.model import (
    Access,
    Loc,
    Op,
    Scope,
    Select,
    Summary,
    Wake,
    WalkWake,
)
from patchlint.rules.taskscope.scopes import ScopeModel, declarator_name
from patchlint.rules.taskscope.syntax import (
    NULLISH,
    Call,
    FunctionReading,
    Lookup,
    Node,
    Site,
    WalkRegion,
    anchored,
    call_args,
    in_condition,
    inner_step,
    is_flag_value,
    line_of,
    nodes,
    op_named,
    strip,
    struct_of,
    text,
    type_node,
)

__all__ = [
    "Call",
    "FunctionReading",
    "Lookup",
    "Node",
    "Reader",
    "Site",
    "WalkRegion",
    "in_condition",
    "nodes",
    "strip",
    "text",
]


class Reader:
    """Reads functions against one scope model and a summary lookup."""

    def __init__(
        self,
        model: ScopeModel,
        lookup: Lookup,
        wide: Callable[[str], bool] | None = None,
        thread_list: Callable[[], frozenset[tuple[str, str]]] | None = None,
    ) -> None:
        self.model = model
        self.roots = model.roots
        self.lookup = lookup
        self.wide = wide
        self.thread_list = thread_list or (lambda: frozenset())

    # ----------------------------------------------------------------- typing

    def _param_types(self, declarator: Node | None) -> tuple[list[str], list[str | None]]:
        names: list[str] = []
        structs: list[str | None] = []
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_name("declarator")
        parameters = declarator.child_by_field_name("parameters") if declarator else None
        for param in parameters.named_children if parameters is not None else []:
            if param.type == "parameter_declaration":
                names.append(declarator_name(param.child_by_field_name("declarator")) or "")
                structs.append(struct_of(param.child_by_field_name("type")))
            elif param.type == "identifier":  # a macro's parameter list
                names.append(text(param))
                structs.append(None)
        return names, structs

    def read(
        self,
        function: Node,
        body: Node | None,
        name: str,
        path: str,
        macro_params: list[str] | None = None,
        constructs: list[tuple[str, tuple[str, ...], int, int]] | None = None,
    ) -> FunctionReading:
        params: list[str]
        structs: list[str | None]
        if macro_params is not None:
            params, structs = list(macro_params), [None for _ in macro_params]
        else:
            params, structs = self._param_types(function.child_by_field_name("declarator"))
        state = _State(self, FunctionReading(name, params, structs), path)
        if body is None:
            return state.reading
        state.declare(body)
        state.walks(body, constructs or [])
        state.scan(body)
        state.finish()
        return state.reading


class _State:
    def __init__(self, reader: Reader, reading: FunctionReading, path: str) -> None:
        self.reader = reader
        self.model = reader.model
        self.roots = reader.roots
        self.reading = reading
        self.path = path
        self.locals: dict[str, str | None] = {}
        self.may: dict[str, list[Loc]] = {}
        self.bound: dict[str, int] = {}
        self.constants: dict[str, set[str]] = {}  # locals assigned named constants only

    # ------------------------------------------------------------ declarations

    def declare(self, body: Node) -> None:
        bindings: list[tuple[str, Node | None]] = []
        for node in nodes(body):
            if node.type == "declaration":
                struct = struct_of(node.child_by_field_name("type"))
                for declarator in node.children_by_field_name("declarator"):
                    name = declarator_name(declarator)
                    if not name:
                        continue
                    self.locals[name] = struct
                    if declarator.type == "init_declarator":
                        bindings.append((name, declarator.child_by_field_name("value")))
            elif node.type == "assignment_expression":
                left = node.child_by_field_name("left")
                if (
                    left is not None
                    and left.type == "identifier"
                    and text(node.child_by_field_name("operator")) in ("", "=")
                ):
                    bindings.append((text(left), node.child_by_field_name("right")))
        for name, _value in bindings:
            self.bound[name] = self.bound.get(name, 0) + 1
        self.reading.local_structs.update(self.locals)
        for name, value in bindings:
            self._bind(name, value)

    def _bind(self, name: str, value: Node | None) -> None:
        value = strip(value)
        if value is None:
            return
        spelled = text(value)
        if value.type == "identifier" and spelled.isupper():
            self.constants.setdefault(name, set()).add(spelled)
        else:
            self.constants.setdefault(name, set()).add("")  # some other value
        if name in self.reading.params and own_process_link(self.roots, name, value):
            index = self.reading.params.index(name)
            if self.reading.param_structs[index] == self.roots.task:
                self.reading.as_process.add(index)
        if value.type == "conditional_expression":
            select = pid_select(self.model, self.reading, self.path, value, self.resolve)
            if select is not None:
                self.reading.selects.append(select)
            return
        loc = self.resolve(value)
        found = looked_up(self.model, self.reading, self.locals.get(name), value)
        if found is not None:
            self.may.setdefault(name, []).append(found)  # woken: the task the pid names
        if loc is not None and (loc.path or loc.base != name):
            self.may.setdefault(name, []).append(loc)
            # Assigned more than once (t = p, then t = next_thread(t)): which task it is
            # depends on the path; only the summary's may-wake keeps the first.
            if self.bound.get(name, 0) == 1 and anchored(loc):
                self.reading.aliases[name] = loc

    def walks(self, body: Node, constructs: list[tuple[str, tuple[str, ...], int, int]]) -> None:
        self.reading.walks.extend(iterator_walks(self.model, body, constructs, self._resolve_text))
        self.reading.walks.extend(
            stepper_walks(self.model, body, self.reader.lookup, self.reader.thread_list)
        )

    def _resolve_text(self, spelled: str) -> Loc | None:
        spelled = spelled.strip()
        parts = [p.strip() for p in spelled.replace(".", "->").split("->")]
        if not parts or not all(p.isidentifier() for p in parts):
            return None
        loc = self._identifier(parts[0])
        for member in parts[1:]:
            loc = self._step(loc, member)
        return loc

    # ---------------------------------------------------------------- locations

    def _identifier(self, name: str) -> Loc:
        if name in self.roots.current:
            return Loc("current", (), (self.roots.task,))
        if name in self.reading.params:
            index = self.reading.params.index(name)
            return Loc(f"${index}", (), (self.reading.param_structs[index],))
        if name in self.reading.aliases:
            return self.reading.aliases[name]
        return Loc(name, (), (self.locals.get(name),))

    def _step(self, loc: Loc, member: str) -> Loc:
        holder = loc.struct
        if holder is None:
            # An untyped macro argument: a member that only one scope struct has and
            # that leads to task state (``(task)->thread_info``) tells its type.
            guess = self.model.unique_holder(member)
            if guess is not None and self.model.scope_of(self.model.target(guess, member)):
                holder = guess
        return loc.step(member, holder, self.model.target(holder, member))

    def resolve(self, node: Node | None) -> Loc | None:
        node = strip(node)
        if node is None:
            return None
        kind = node.type
        if kind == "identifier":
            name = text(node)
            if any(w.cursor == name and w.contains(node) for w in self.reading.walks):
                return Loc(name, (), (self.roots.task,))  # a fresh thread each iteration
            return self._identifier(name)
        if kind == "field_expression":
            inner = self.resolve(node.child_by_field_name("argument"))
            member = text(node.child_by_field_name("field"))
            return self._step(inner, member) if inner is not None and member else None
        if kind == "subscript_expression":
            return self.resolve(node.child_by_field_name("argument"))
        if kind == "cast_expression":
            inner = self.resolve(node.child_by_field_name("value"))
            struct = struct_of(type_node(node))
            return inner.retyped(struct) if inner is not None and struct else inner
        if kind == "call_expression":
            return self._call_loc(node)
        return None

    def _call_loc(self, node: Node) -> Loc | None:
        function = node.child_by_field_name("function")
        name = text(function) if function is not None and function.type == "identifier" else ""
        if not name:
            return None
        if f"{name}()" in self.roots.current and not call_args(node):
            return Loc("current", (), (self.roots.task,))
        if name in self.roots.wake or not self._follows(call_args(node)):
            return None
        summary = self.reader.lookup(name)
        if summary is None:
            return None
        if summary.returns is not None:
            return self._instantiate(summary.returns, call_args(node))
        if summary.returns_struct:
            return Loc(f"{name}()", (), (summary.returns_struct,))
        return None

    def _instantiate(self, loc: Loc, args: list[Node]) -> Loc | None:
        if not loc.base.startswith("$"):
            return loc if loc.base == "current" else None
        index = int(loc.base[1:])
        if index >= len(args):
            return None
        outer = self.resolve(args[index])
        if outer is None:
            return None
        head = outer.struct or loc.chain[0]
        return Loc(outer.base, outer.path + loc.path, outer.chain[:-1] + (head,) + loc.chain[1:])

    def _bit(self, node: Node | None) -> str | None:
        node = strip(node)
        if node is None or node.type != "identifier":
            return None
        name = text(node)
        if name in self.reading.params:
            return f"${self.reading.params.index(name)}"
        if name in self.locals:
            # A variable holding one named constant (``type = PIDTYPE_PID;``) is it.
            values = self.constants.get(name, set())
            return next(iter(values)) if len(values) == 1 and "" not in values else None
        return name

    # -------------------------------------------------------------------- scan

    def scan(self, body: Node) -> None:
        for node in nodes(body):
            if node.type == "field_expression" and not inner_step(node):
                self._member(node)
            elif node.type == "call_expression":
                self._call(node)
            elif node.type == "return_statement" and self.reading.returns is None:
                value = node.named_children[0] if node.named_child_count else None
                loc = self.resolve(value)
                if loc is not None and (loc.base.startswith("$") or loc.base == "current"):
                    self.reading.returns = loc

    def _add(
        self,
        op: Op,
        loc: Loc,
        node: Node,
        bit: str | None,
        cond: bool,
        via: str = "",
        plain: bool = False,
        addr: bool = False,
    ) -> None:
        line = node.start_point[0] + 1
        access = Access(op, loc, bit, cond, node.start_byte, line, via, plain, addr)
        self.reading.sites.append(Site(access, node))

    def _member(self, node: Node) -> None:
        loc = self.resolve(node)
        if loc is None or not self._relevant(loc):
            return
        top = node
        while top.parent is not None and top.parent.type in (
            "parenthesized_expression",
            "cast_expression",
        ):
            top = top.parent
        parent = top.parent
        if parent is None:
            return
        kind = parent.type
        if kind == "assignment_expression" and parent.child_by_field_name("left") == top:
            self._assignment(parent, loc, node)
        elif kind == "update_expression":
            self._add("set", loc, node, None, False)
        elif kind == "pointer_expression" and text(parent.child_by_field_name("operator")) == "&":
            outer = parent.parent
            while outer is not None and outer.type in (
                "parenthesized_expression",
                "cast_expression",
            ):
                outer = outer.parent
            if outer is None or outer.type != "argument_list":
                self._add("read", loc, node, None, in_condition(parent))
            elif not self._handled(outer.parent):
                self._add("read", loc, node, None, in_condition(outer), addr=True)
        elif kind == "binary_expression" and text(parent.child_by_field_name("operator")) == "&":
            other = parent.child_by_field_name("right")
            if other == top:
                other = parent.child_by_field_name("left")
            bits: list[str | None] = list(self._bits(other))
            for bit in bits or [None]:
                self._add("read", loc, parent, bit, True)
        else:
            self._add("read", loc, node, None, in_condition(node))

    def _relevant(self, loc: Loc) -> bool:
        """Task state, or a member of an untyped macro argument: the caller's argument
        will tell what it is when the summary is applied."""
        if self.model.scope_of(loc.holder) is not None:
            return True
        return loc.holder is None and loc.base.startswith("$") and len(loc.path) == 1

    def _handled(self, call: Node | None) -> bool:
        """The call an address is handed to is one the reader sees into."""
        if call is None or call.type != "call_expression":
            return False
        function = call.child_by_field_name("function")
        name = text(function) if function is not None and function.type == "identifier" else ""
        if not name:
            return False
        if name in self.roots.bit_ops or name in self.roots.writes or name in self.roots.wake:
            return True
        wide = self.reader.wide is not None and self.reader.wide(name)
        return (wide or self._follows(call_args(call))) and self.reader.lookup(name) is not None

    def _bits(self, node: Node | None) -> list[str]:
        bits: list[str] = []
        for child in nodes(node) if node is not None else []:
            if child.type == "identifier" and (
                child.parent is None or child.parent.type != "call_expression"
            ):
                bit = self._bit(child)
                if bit is not None:
                    bits.append(bit)
        return bits

    def _assignment(self, assignment: Node, loc: Loc, node: Node) -> None:
        operator = text(assignment.child_by_field_name("operator"))
        value = assignment.child_by_field_name("right")
        stripped = strip(value)
        if operator == "&=":
            if (
                stripped is not None
                and stripped.type == "unary_expression"
                and text(stripped.child_by_field_name("operator")) == "~"
            ):
                for bit in self._bits(stripped):
                    self._add("clear", loc, assignment, bit, False)
            return
        if operator in ("|=", "=") and loc.member is not None:
            bits = self._bits(value) if operator == "|=" or is_flag_value(stripped) else []
            if bits:
                for bit in bits:
                    self._add("set", loc, assignment, bit, False, "", operator == "=")
                return
        op: Op = "clear" if operator == "=" and text(stripped) in NULLISH else "set"
        self._add(op, loc, assignment, None, False)

    def _call(self, node: Node) -> None:
        function = node.child_by_field_name("function")
        if function is None or function.type != "identifier":
            return
        name = text(function)
        args = call_args(node)
        walk = next((w for w in self.reading.walks if w.contains(node)), None)
        call = Call(name, node, args, [self.resolve(a) for a in args], walk)
        self.reading.calls.append(call)
        cond = in_condition(node)
        if name in self.roots.wake and args:
            loc = call.locs[0]
            if loc is not None:
                self._wake(
                    Wake(loc, (name,), None, "thread", node.start_byte, line_of(node)), node, call
                )
            return
        bit_op = self.roots.bit_ops.get(name)
        if bit_op is not None:
            if max(bit_op.bit, bit_op.word) < len(args):
                loc = self.resolve(args[bit_op.word])
                bit = self._bit(args[bit_op.bit])
                if loc is not None and self._relevant(loc) and bit:
                    for op in bit_op.ops:
                        self._add(op_named(op), loc, node, bit, cond and op == "read")
            return
        target = self.roots.writes.get(name)
        if target is not None:
            if target < len(args):
                loc = self.resolve(args[target])
                if loc is not None and self._relevant(loc):
                    self._add("set", loc, node, None, cond)
            return
        wide = self.reader.wide is not None and self.reader.wide(name)
        summary = self.reader.lookup(name) if wide or self._follows(args, call.locs) else None
        if summary is not None:
            self._apply(summary, call, cond)

    def _follows(self, args: list[Node], locs: list[Loc | None] | None = None) -> bool:
        """Callees are read only when they are handed task state: a scope struct, one of
        our parameters, or a named constant (a flag bit).  Others cannot change what the
        summary says about our parameters, and reading them would read the kernel."""
        if not args:
            return True
        for position, arg in enumerate(args):
            loc = locs[position] if locs is not None else self.resolve(arg)
            if loc is not None and self.model.scope_of(loc.struct) is not None:
                return True
            bare = strip(arg)
            if bare is not None and bare.type == "identifier":
                name = text(bare)
                if name in self.reading.params or (name.isupper() and name not in self.locals):
                    return True
                if name in self.locals and self._bit(bare) is not None:
                    return True  # a variable holding one named constant
        return False

    def _apply(self, summary: Summary, call: Call, cond: bool) -> None:
        node = call.node
        for index in summary.thread_params:
            loc = call.locs[index] if index < len(call.locs) else None
            if loc is not None and loc.base.startswith("$") and not loc.path:
                self.reading.touched.add(int(loc.base[1:]))
        for access in summary.accesses:
            loc = self._instantiate(access.loc, call.args)
            if loc is None or self.model.scope_of(loc.holder) is None:
                continue
            bit = access.bit
            if bit is not None and bit.startswith("$"):
                index = int(bit[1:])
                bit = self._bit(call.args[index]) if index < len(call.args) else None
                if bit is None:
                    continue
            via = summary.name if not access.via else f"{summary.name}>{access.via}"
            self._add(
                access.op, loc, node, bit, access.cond and cond, via, access.plain, access.addr
            )
        for wake in summary.wakes:
            loc = self._instantiate(wake.loc, call.args)
            if loc is None:
                continue
            select, scope, decided = self._resolve_select(wake, call)
            self._wake(
                Wake(
                    loc,
                    (summary.name,) + wake.via,
                    select,
                    scope,
                    node.start_byte,
                    line_of(node),
                    decided or wake.decided,
                    wake.select.constant if decided and wake.select else wake.selector,
                ),
                node,
                call,
            )
        for select in summary.selects:
            if select.param < len(call.args):
                param = self._bit(call.args[select.param])
                if param is not None and param.startswith("$"):
                    self.reading.selects.append(
                        Select(
                            int(param[1:]),
                            select.constant,
                            select.when_equal,
                            select.otherwise,
                            select.where,
                        )
                    )

    def _resolve_select(self, wake: Wake, call: Call) -> tuple[Select | None, Scope, str]:
        select = wake.select
        if select is None or select.param >= len(call.args):
            return None, wake.scope, ""
        passed = self._bit(call.args[select.param])
        if passed is None:
            return None, wake.scope, ""
        if passed.startswith("$"):
            moved = Select(
                int(passed[1:]), select.constant, select.when_equal, select.otherwise, select.where
            )
            return moved, wake.scope, ""
        scope = select.when_equal if passed == select.constant else select.otherwise
        self.reading.resolved.append((select.constant, passed, scope))
        return None, scope, passed

    def _wake(self, wake: Wake, node: Node, call: Call) -> None:
        walk = call.walk
        if (
            walk is not None
            and walk.every_thread
            and wake.loc.base == walk.cursor
            and not wake.loc.path
        ):
            if walk.group is not None:
                self.reading.walk_wakes.append(
                    WalkWake(walk.name, walk.group, call.name, line_of(node))
                )
            return
        self.reading.wakes.append((wake, node))
        for may in self.may.get(wake.loc.base, []) if not wake.loc.path else []:
            if may.base.startswith("$") and not may.path:
                # t = p in one branch: the summary says the parameter may be woken
                self.reading.alias_wakes.append((replace(wake, loc=may), node))

    def finish(self) -> None:
        if not self.reading.selects:
            return
        select = self.reading.selects[0]
        for name in ("wakes", "alias_wakes"):
            setattr(
                self.reading,
                name,
                [
                    (replace(w, select=select), n)
                    if w.select is None and w.scope == "thread" and not w.decided
                    else (w, n)
                    for w, n in getattr(self.reading, name)
                ],
            )
