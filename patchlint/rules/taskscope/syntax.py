"""Syntax the task-scope reader works on: node helpers, and what it records per function
(call sites, thread walks, accesses with their nodes)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import tree_sitter

from patchlint.rules.taskscope.model import Access, Loc, Op, Scope, Select, Summary, Wake, WalkWake

Node = tree_sitter.Node
Lookup = Callable[[str], "Summary | None"]

_CONDITION_PARENTS = frozenset({"if_statement", "while_statement", "do_statement", "for_statement"})
_STATEMENT_END = frozenset(
    {"expression_statement", "compound_statement", "declaration", "function_definition"}
)
NULLISH = frozenset({"NULL", "0", "false", "nullptr"})


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def strip(node: Node | None) -> Node | None:
    """Drop parentheses, casts' syntax and unary & / * around an lvalue."""
    while node is not None:
        if node.type == "parenthesized_expression" and node.named_child_count:
            node = node.named_children[0]
        elif node.type == "pointer_expression":
            node = node.child_by_field_name("argument")
        else:
            return node
    return None


def nodes(root: Node) -> Iterator[Node]:
    """Pre-order over named descendants, in source order."""
    if root.type != "compound_statement":
        return _walk(root)
    # A function body is walked by each pass of the reader and by the rules (five
    # or six times per function): the walk is kept for the last bodies seen.
    walked = _BODIES.get(root)
    if walked is None:
        walked = _BODIES[root] = tuple(_walk(root))
        if len(_BODIES) > _BODIES_KEPT:
            _BODIES.popitem(last=False)
    return iter(walked)


_BODIES: OrderedDict[Node, tuple[Node, ...]] = OrderedDict()
_BODIES_KEPT = 8


def _walk(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def in_condition(node: Node) -> bool:
    """The value of ``node`` decides a branch or is returned."""
    child = node
    parent = node.parent
    while parent is not None and parent.type not in _STATEMENT_END:
        if parent.type in _CONDITION_PARENTS:
            return parent.child_by_field_name("condition") == child
        if parent.type == "return_statement":
            return True
        if parent.type == "conditional_expression":
            if parent.child_by_field_name("condition") == child:
                return True
        elif (
            parent.type == "unary_expression"
            and text(parent.child_by_field_name("operator")) == "!"
        ):
            return True
        elif parent.type == "binary_expression" and text(
            parent.child_by_field_name("operator")
        ) in ("&&", "||"):
            return True
        elif parent.type in ("assignment_expression", "init_declarator"):
            return False
        child, parent = parent, parent.parent
    return False


@dataclass
class Call:
    name: str
    node: Node
    args: list[Node]
    locs: list[Loc | None]
    walk: WalkRegion | None


@dataclass
class WalkRegion:
    name: str
    cursor: str
    group: Loc | None
    every_thread: bool
    start: int
    end: int
    line: int

    def contains(self, node: Node) -> bool:
        return self.start <= node.start_byte and node.end_byte <= self.end


@dataclass
class Site:
    """An access seen in a function, with the node that performs it."""

    access: Access
    node: Node


@dataclass
class FunctionReading:
    """Everything the reader found in one function body."""

    name: str
    params: list[str]
    param_structs: list[str | None]
    sites: list[Site] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    wakes: list[tuple[Wake, Node]] = field(default_factory=list)
    walk_wakes: list[WalkWake] = field(default_factory=list)
    selects: list[Select] = field(default_factory=list)
    walks: list[WalkRegion] = field(default_factory=list)
    aliases: dict[str, Loc] = field(default_factory=dict)
    alias_wakes: list[tuple[Wake, Node]] = field(default_factory=list)
    returns: Loc | None = None
    # (selecting constant, constant passed, scope it selects): how the tree spells a
    # thread-directed and a group-directed call
    resolved: list[tuple[str, str, Scope]] = field(default_factory=list)
    # Task parameters replaced by their process link, and handed to callees that work
    # on their per-thread state (see Summary.as_process, Summary.thread_params).
    as_process: set[int] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    local_structs: dict[str, str | None] = field(default_factory=dict)  # declared types


def struct_of(type_node: Node | None) -> str | None:
    if type_node is not None and type_node.type == "struct_specifier":
        return text(type_node.child_by_field_name("name")) or None
    return None


def anchored(loc: Loc) -> bool:
    return loc.base.startswith("$") or loc.base == "current" or loc.struct is not None


def inner_step(node: Node) -> bool:
    parent = node.parent
    return (
        parent is not None
        and parent.type == "field_expression"
        and parent.child_by_field_name("argument") == node
    )


def type_node(cast: Node) -> Node | None:
    descriptor = cast.child_by_field_name("type")
    return descriptor.child_by_field_name("type") if descriptor is not None else None


def call_args(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return []
    return [a for a in arguments.named_children if a.type != "comment"]


def line_of(node: Node) -> int:
    return node.start_point[0] + 1


def op_named(name: str) -> Op:
    return "set" if name == "set" else "clear" if name == "clear" else "read"


def is_flag_value(node: Node | None) -> bool:
    """``sig->flags = SIGNAL_GROUP_EXIT``: a word assigned named constants only (kernel
    style spells constants in capitals, variables in lower case)."""
    if node is None:
        return False
    idents = [n for n in nodes(node) if n.type == "identifier"]
    return (
        bool(idents)
        and all(
            n.type in ("identifier", "binary_expression", "parenthesized_expression")
            for n in nodes(node)
        )
        and all(text(n).isupper() for n in idents)
    )
