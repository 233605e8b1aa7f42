"""Control-flow graph of one C function over its tree-sitter AST.

The graph is statement-grained: each node carries the AST fragment whose calls
run when control passes through it (an expression statement, a condition, a
loop update), so the lock analysis never needs to look at the tree shape again.
Scope-based guards are handled here because only the builder knows which
scopes a jump leaves: every node that leaves a guarded scope lists the guards
it drops in ``releases``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from patchlint.source import Construct, c_integer

# Edge labels on condition nodes; plain edges carry None. A switch head's edges
# carry CASE + the case label node's id, or NO_CASE when no case matches.
TRUE = "T"
FALSE = "F"
CASE = "case:"
NO_CASE = "nocase"


@dataclass
class GuardInfo:
    """A scope-bound acquisition (guard(x)(...), scoped_guard(x, ...), CLASS(x, v)(...))
    or cleanup (``T v __free(fn) = ...``): something the end of its scope undoes."""

    kind: str  # the guard class, e.g. "rcu", "spinlock_irq"; the cleanup function for __free
    args: tuple[str, ...]
    line: int
    scope: Node  # the statement whose end releases it
    # False for a cleanup variable: its declaration runs as a plain statement and
    # only the scope's end does something.
    enters: bool = True
    cleanup: bool = False


@dataclass
class CfgNode:
    id: int
    kind: str  # entry exit stmt cond switch iter guard case label jump return
    ast: Node | None = None
    line: int = 0
    succ: list[tuple[int, str | None]] = field(default_factory=list)
    # Guards dropped when control leaves through this node (after its own calls).
    releases: list[GuardInfo] = field(default_factory=list)
    # The guard this node takes (kind "guard"), the construct of an iterator head, ...
    info: GuardInfo | Construct | None = None
    # Branch nodes remember the condition so rules can show the path taken.
    cond: Node | None = None


@dataclass
class Cfg:
    nodes: list[CfgNode]
    entry: int
    exit: int
    # Function-level facts the builder noticed on the way.
    labels: dict[str, int] = field(default_factory=dict)
    complete: bool = True  # False when the AST had constructs we could not model

    def preds(self) -> list[list[int]]:
        result: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for target, _ in node.succ:
                result[target].append(node.id)
        return result


# Hooks the caller provides so this module stays free of kernel knowledge.
GuardHook = Callable[[Node], "GuardInfo | None"]
LoopHook = Callable[[Node], "Construct | None"]
# The integer a name stands for (a macro of the file), None when unknown.
ConstantHook = Callable[[str], "int | None"]

Frontier = list[tuple[int, "str | None"]]


class _Builder:
    def __init__(
        self, guard_of: GuardHook, loop_of: LoopHook, constant_of: ConstantHook | None = None
    ) -> None:
        self.nodes: list[CfgNode] = []
        self.guard_of = guard_of
        self.loop_of = loop_of
        self.constant_of: ConstantHook = constant_of or (lambda _name: None)
        # (loop-or-switch node, break pending edges, continue target id or None)
        self.breakables: list[tuple[Node, Frontier, int | None, bool]] = []
        self.scopes: list[tuple[Node, list[GuardInfo]]] = []
        self.labels: dict[str, int] = {}
        self.label_nodes: dict[str, Node] = {}
        self.gotos: list[tuple[int, str]] = []
        self.returns: list[int] = []
        self.complete = True

    def new(
        self,
        kind: str,
        ast: Node | None,
        *,
        releases: list[GuardInfo] | None = None,
        info: GuardInfo | Construct | None = None,
        cond: Node | None = None,
    ) -> CfgNode:
        line = ast.start_point[0] + 1 if ast is not None else 0
        node = CfgNode(len(self.nodes), kind, ast, line, releases=releases or [], info=info)
        node.cond = cond
        self.nodes.append(node)
        return node

    def link(self, frontier: Frontier, target: int) -> None:
        for source, label in frontier:
            self.nodes[source].succ.append((target, label))

    def step(
        self,
        frontier: Frontier,
        kind: str,
        ast: Node | None,
        *,
        releases: list[GuardInfo] | None = None,
        info: GuardInfo | Construct | None = None,
    ) -> Frontier:
        node = self.new(kind, ast, releases=releases, info=info)
        self.link(frontier, node.id)
        return [(node.id, None)]

    # Guards dropped by a jump from here to a point outside ``target`` (None: the function).
    def leaving(self, target: Node | None) -> list[GuardInfo]:
        dropped: list[GuardInfo] = []
        for scope, guards in reversed(self.scopes):
            # A scope survives the jump only if the target lies strictly inside it
            # (scoped_guard's scope is its own break target, and a break leaves it).
            if target is not None and _contains(scope, target) and not _same(scope, target):
                break
            dropped.extend(reversed(guards))
        return dropped

    def block(self, node: Node, frontier: Frontier) -> Frontier:
        self.scopes.append((node, []))
        for child in node.named_children:
            frontier = self.stmt(child, frontier)
        _, guards = self.scopes.pop()
        if guards and frontier:
            frontier = self.step(frontier, "stmt", None, releases=list(reversed(guards)))
            self.nodes[frontier[0][0]].line = node.end_point[0] + 1
        return frontier

    def stmt(self, node: Node | None, frontier: Frontier) -> Frontier:
        if node is None:
            return frontier
        kind = node.type
        if kind == "compound_statement":
            return self.block(node, frontier)
        if kind == "comment" or kind.startswith("preproc") and not node.named_children:
            return frontier
        if kind in ("preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif"):
            # Only the first branch of an #if is code the parser nested; walk the
            # statements it holds in order, which is what one configuration runs.
            for child in node.named_children:
                if child.type not in (
                    "identifier",
                    "preproc_defined",
                    "binary_expression",
                    "call_expression",
                    "unary_expression",
                    "preproc_else",
                    "preproc_elif",
                    "number_literal",
                    "parenthesized_expression",
                ):
                    frontier = self.stmt(child, frontier)
            return frontier
        if kind == "if_statement":
            return self.if_stmt(node, frontier)
        if kind == "for_statement":
            return self.for_stmt(node, frontier)
        if kind == "while_statement":
            return self.while_stmt(node, frontier)
        if kind == "do_statement":
            return self.do_stmt(node, frontier)
        if kind == "switch_statement":
            return self.switch_stmt(node, frontier)
        if kind == "labeled_statement":
            return self.labeled(node, frontier)
        if kind == "case_statement":
            # A case label outside a switch body (e.g. inside a nested block of
            # one): treat as a fall-through label.
            for child in node.named_children[1 if node.child_by_field_name("value") else 0 :]:
                frontier = self.stmt(child, frontier)
            return frontier
        if kind == "return_statement":
            ret = self.new("return", node, releases=self.leaving(None))
            self.link(frontier, ret.id)
            self.returns.append(ret.id)
            return []
        if kind == "break_statement":
            return self.jump(node, frontier, is_break=True)
        if kind == "continue_statement":
            return self.jump(node, frontier, is_break=False)
        if kind == "goto_statement":
            label = node.child_by_field_name("label")
            name = label.text.decode() if label is not None and label.text else ""
            target = self.label_nodes.get(name)
            jump = self.new("jump", node, releases=self.leaving(target))
            self.link(frontier, jump.id)
            self.gotos.append((jump.id, name))
            return []
        if kind in ("expression_statement", "declaration") and node.named_children:
            guard = self.guard_of(node)
            if guard is not None and self.scopes:
                self.scopes[-1][1].append(guard)
                if guard.enters:
                    return self.step(frontier, "guard", node, info=guard)
        if kind == "ERROR" or (
            node.text is not None and b"({" in node.text and _has_branching_block(node)
        ):
            # Branches inside a statement expression (often a macro argument)
            # would be flattened into one straight line: give up on precision.
            self.complete = False
        return self.step(frontier, "stmt", node)

    def jump(self, node: Node, frontier: Frontier, is_break: bool) -> Frontier:
        for target, pending, cont, is_loop in reversed(self.breakables):
            if is_break or is_loop:
                jump = self.new("jump", node, releases=self.leaving(target))
                self.link(frontier, jump.id)
                if is_break:
                    pending.append((jump.id, None))
                elif cont is not None:
                    jump.succ.append((cont, None))
                return []
        self.complete = False
        return []

    def if_stmt(self, node: Node, frontier: Frontier) -> Frontier:
        cond = node.child_by_field_name("condition")
        head = self.new("cond", cond, cond=cond)
        self.link(frontier, head.id)
        out = self.stmt(node.child_by_field_name("consequence"), [(head.id, TRUE)])
        alternative = node.child_by_field_name("alternative")
        if alternative is not None:
            body = alternative.named_children[-1] if alternative.named_children else None
            out += self.stmt(body, [(head.id, FALSE)]) if body is not None else [(head.id, FALSE)]
        else:
            out.append((head.id, FALSE))
        return out

    def loop(
        self,
        node: Node,
        head: CfgNode,
        body: Node | None,
        cont: int,
        entered: Frontier | None = None,
    ) -> Frontier:
        """``entered``: edges into the body that skip the first test (it holds)."""
        pending: Frontier = []
        self.breakables.append((node, pending, cont, True))
        start: Frontier = [(head.id, TRUE), *(entered or [])]
        out = self.stmt(body, start)
        self.breakables.pop()
        self.link(out, cont)
        return [(head.id, FALSE)] + pending

    def for_stmt(self, node: Node, frontier: Frontier) -> Frontier:
        body = node.child_by_field_name("body")
        construct = self.loop_of(node)
        if construct is not None and construct.kind == "scoped_guard":
            return self.scoped_guard(node, construct, body, frontier)
        if construct is not None:
            head = self.new("iter", node, info=construct)
            self.link(frontier, head.id)
            return self.loop(node, head, body, head.id)
        init = node.child_by_field_name("initializer")
        if init is not None:
            frontier = self.step(frontier, "stmt", init)
        cond = node.child_by_field_name("condition")
        head = self.new("cond", cond, cond=cond)
        if cond is None:
            head.line = node.start_point[0] + 1
        # `for (i = 0; i < 3; i++)`: the first test holds, the body runs at least once.
        entered: Frontier = []
        if (
            init is not None
            and cond is not None
            and _first_test_holds(init, cond, self.constant_of)
        ):
            entered = frontier
        else:
            self.link(frontier, head.id)
        update = node.child_by_field_name("update")
        cont = self.new("stmt", update) if update is not None else head
        if cont is not head:
            cont.succ.append((head.id, None))
        out = self.loop(node, head, body, cont.id, entered)
        if cond is None:
            # for (;;): only breaks, returns and gotos leave.
            out = [edge for edge in out if edge != (head.id, FALSE)]
        return out

    def scoped_guard(
        self, node: Node, construct: Construct, body: Node | None, frontier: Frontier
    ) -> Frontier:
        guard = self.guard_of(node)
        if guard is None:
            return self.stmt(body, frontier) if body is not None else frontier
        take = self.new("guard", node, info=guard)
        self.link(frontier, take.id)
        pending: Frontier = []
        # scoped_guard() is a for loop in disguise: break leaves the guarded block.
        self.breakables.append((node, pending, None, False))
        self.scopes.append((node, [guard]))
        entered: Frontier = [(take.id, None)]
        out = self.stmt(body, entered)
        self.scopes.pop()
        self.breakables.pop()
        drop = self.new("stmt", None, releases=[guard])
        drop.line = node.end_point[0] + 1
        self.link(out, drop.id)
        # A break inside the block already dropped the guard on its way out.
        return [(drop.id, None)] + pending

    def while_stmt(self, node: Node, frontier: Frontier) -> Frontier:
        cond = node.child_by_field_name("condition")
        construct = self.loop_of(node)
        head = self.new(
            "iter" if construct is not None else "cond", cond, cond=cond, info=construct
        )
        self.link(frontier, head.id)
        return self.loop(node, head, node.child_by_field_name("body"), head.id)

    def do_stmt(self, node: Node, frontier: Frontier) -> Frontier:
        construct = self.loop_of(node)
        # An iterator written as do/while (do_each_thread ... while_each_thread)
        # is checked where the walk starts, at the top.
        start = self.new("iter" if construct is not None else "stmt", None, info=construct)
        start.ast = node if construct is not None else None
        start.line = node.start_point[0] + 1
        self.link(frontier, start.id)
        cond = node.child_by_field_name("condition")
        head = self.new("cond", None if construct is not None else cond, cond=cond)
        head.line = cond.start_point[0] + 1 if cond is not None else start.line
        pending: Frontier = []
        self.breakables.append((node, pending, head.id, True))
        out = self.stmt(node.child_by_field_name("body"), [(start.id, TRUE)])
        self.breakables.pop()
        self.link(out, head.id)
        head.succ.append((start.id, TRUE))
        return [(head.id, FALSE)] + pending

    def switch_stmt(self, node: Node, frontier: Frontier) -> Frontier:
        cond = node.child_by_field_name("condition")
        head = self.new("switch", cond, cond=cond)
        self.link(frontier, head.id)
        body = node.child_by_field_name("body")
        pending: Frontier = []
        self.breakables.append((node, pending, None, False))
        self.scopes.append((body, []) if body is not None else (node, []))
        has_default = False
        flow: Frontier = []
        for child in body.named_children if body is not None else []:
            if child.type == "case_statement":
                value = child.child_by_field_name("value")
                has_default = has_default or value is None
                # The label node runs nothing; `default` has no value to show.
                label = self.new("case", value)
                label.line = child.start_point[0] + 1
                head.succ.append((label.id, f"{CASE}{label.id}"))
                self.link(flow, label.id)
                flow = [(label.id, None)]
                for stmt in child.named_children[1 if value is not None else 0 :]:
                    flow = self.stmt(stmt, flow)
            else:
                flow = self.stmt(child, flow)
        self.scopes.pop()
        self.breakables.pop()
        out = flow + pending
        if not has_default:
            out.append((head.id, NO_CASE))
        return out

    def labeled(self, node: Node, frontier: Frontier) -> Frontier:
        label = node.child_by_field_name("label")
        name = label.text.decode() if label is not None and label.text else ""
        target = self.new("label", label)
        self.labels[name] = target.id
        self.link(frontier, target.id)
        out: Frontier = [(target.id, None)]
        for child in node.named_children:
            if child is not label and child.type != "statement_identifier":
                out = self.stmt(child, out)
        return out


def _contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


_BRANCHING = frozenset(
    {
        "if_statement",
        "for_statement",
        "while_statement",
        "do_statement",
        "switch_statement",
        "return_statement",
        "goto_statement",
        "break_statement",
        "continue_statement",
    }
)


def _has_branching_block(node: Node) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _BRANCHING:
            return True
        stack.extend(current.named_children)
    return False


def _same(a: Node, b: Node) -> bool:
    return a.start_byte == b.start_byte and a.end_byte == b.end_byte


def _collect_labels(body: Node) -> dict[str, Node]:
    labels: dict[str, Node] = {}
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "labeled_statement":
            label = node.child_by_field_name("label")
            if label is not None and label.text:
                labels[label.text.decode()] = node
        if node.type not in ("expression_statement", "declaration"):
            stack.extend(node.named_children)
    return labels


def build_cfg(
    body: Node,
    guard_of: GuardHook | None = None,
    loop_of: LoopHook | None = None,
    constant_of: ConstantHook | None = None,
) -> Cfg:
    """The CFG of a function body (a compound_statement), however deeply nested."""
    from patchlint.analysis.deep import call_deep

    return call_deep(_build_cfg, body, guard_of, loop_of, constant_of)


def _build_cfg(
    body: Node,
    guard_of: GuardHook | None,
    loop_of: LoopHook | None,
    constant_of: ConstantHook | None,
) -> Cfg:
    builder = _Builder(guard_of or (lambda _n: None), loop_of or (lambda _n: None), constant_of)
    builder.label_nodes = _collect_labels(body)
    entry = builder.new("entry", None)
    entry.line = body.start_point[0] + 1
    out = builder.block(body, [(entry.id, None)])
    # Falling off the end is an implicit return at the closing brace.
    if out:
        end = builder.new("return", None)
        end.line = body.end_point[0] + 1
        builder.link(out, end.id)
        builder.returns.append(end.id)
    exit_node = builder.new("exit", None)
    exit_node.line = body.end_point[0] + 1
    for ret in builder.returns:
        builder.nodes[ret].succ.append((exit_node.id, None))
    for jump, name in builder.gotos:
        target = builder.labels.get(name)
        if target is None:
            builder.complete = False
        else:
            builder.nodes[jump].succ.append((target, None))
    return Cfg(builder.nodes, entry.id, exit_node.id, builder.labels, builder.complete)


_HOLDS: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_MIRRORED = {"<": ">", "<=": ">=", "!=": "!=", ">": "<", ">=": "<="}


def _first_test_holds(init: Node, cond: Node, constant_of: ConstantHook) -> bool:
    """``for (i = A; i < B; ...)`` with A and B integers (literals, or macros of the
    file): the first test is decided and true.  The test is a plain comparison, so
    skipping its first evaluation skips no side effect."""
    start = _initialised(init)
    if start is None or cond.type != "binary_expression":
        return False
    left, right = cond.child_by_field_name("left"), cond.child_by_field_name("right")
    operator = cond.child_by_field_name("operator")
    if left is None or right is None or operator is None or operator.text is None:
        return False
    symbol = operator.text.decode()
    if symbol not in _HOLDS:
        return False
    variable, initial = start
    if _word(right) == variable:
        left, right, symbol = right, left, _MIRRORED[symbol]
    if _word(left) != variable:
        return False
    bound = _integer(right, constant_of)
    return bound is not None and _HOLDS[symbol](initial, bound)


def _initialised(init: Node) -> tuple[str, int] | None:
    """The variable and integer of `i = 0` or `int i = 0`."""
    if init.type == "assignment_expression":
        operator = init.child_by_field_name("operator")
        target, value = init.child_by_field_name("left"), init.child_by_field_name("right")
        if operator is None or operator.text != b"=":
            return None
    elif init.type == "declaration" and len(init.named_children) >= 2:
        declarator = init.named_children[-1]
        if (
            declarator.type != "init_declarator"
            or len(init.children_by_field_name("declarator")) != 1
        ):
            return None
        target, value = (
            declarator.child_by_field_name("declarator"),
            declarator.child_by_field_name("value"),
        )
    else:
        return None
    name = _word(target)
    number = _integer(value, lambda _name: None)
    return (name, number) if name and number is not None else None


def _word(node: Node | None) -> str:
    if node is None or node.type != "identifier" or node.text is None:
        return ""
    return node.text.decode()


def _integer(node: Node | None, constant_of: ConstantHook) -> int | None:
    while node is not None and node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    if node is None or node.text is None:
        return None
    if node.type == "number_literal":
        return c_integer(node.text.decode("ascii", "replace"))
    if node.type == "identifier":
        return constant_of(node.text.decode())
    return None
