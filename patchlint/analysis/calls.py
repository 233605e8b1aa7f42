"""Call sites and task-pointer uses inside one CFG node's AST fragment."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

# Fragments that start a new body: their calls belong to no CFG node of ours.
_NESTED_BODIES = frozenset({"function_definition"})
_SPACE = re.compile(r"\s+")
INDIRECT = "<indirect>"


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[str, ...]
    line: int
    column: int
    start: int
    # The variable the result is stored in (`v = f(...)`, `T *v = f(...)`), if any.
    assigned_to: str | None = None


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def squash(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def _assignment_target(call: Node) -> str | None:
    parent = call.parent
    # Look through casts and parentheses: `p = (struct x *)f()`.
    while parent is not None and parent.type in ("parenthesized_expression", "cast_expression"):
        call, parent = parent, parent.parent
    if parent is None:
        return None
    if parent.type == "assignment_expression" and parent.child_by_field_name("right") == call:
        left = parent.child_by_field_name("left")
        return text(left) if left is not None and left.type == "identifier" else None
    if parent.type == "init_declarator" and parent.child_by_field_name("value") == call:
        declarator = parent.child_by_field_name("declarator")
        while declarator is not None and declarator.type == "pointer_declarator":
            declarator = declarator.child_by_field_name("declarator")
        return text(declarator) if declarator is not None else None
    return None


def call_name(call: Node) -> str:
    function = call.child_by_field_name("function")
    if function is None:
        return ""
    if function.type == "identifier":
        return text(function)
    if function.type == "call_expression":
        # guard(rcu)() and friends: the outer call is named after the inner one.
        inner = function.child_by_field_name("function")
        return text(inner) + "()" if inner is not None and inner.type == "identifier" else ""
    # ops->fn(...), (*fn)(...): the callee is unknown, but that it is a call matters.
    return INDIRECT


def call_args(call: Node) -> tuple[str, ...]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return ()
    return tuple(squash(text(arg)) for arg in arguments.named_children if arg.type != "comment")


def calls_in(fragment: Node | None) -> list[Call]:
    """Calls in source order (outer before inner when they start together)."""
    if fragment is None:
        return []
    found: list[Call] = []
    stack = [fragment]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            name = call_name(node)
            if name:
                found.append(
                    Call(
                        name,
                        call_args(node),
                        node.start_point[0] + 1,
                        node.start_point[1] + 1,
                        node.start_byte,
                        _assignment_target(node),
                    )
                )
        if node.type in _NESTED_BODIES:
            continue
        stack.extend(reversed(node.children))
    found.sort(key=lambda call: call.start)
    return found


@dataclass(frozen=True)
class Use:
    name: str
    line: int
    column: int
    how: str  # "deref", "argument", "return", "alias"
    callee: str = ""


def _is_null_test(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        node, parent = parent, parent.parent
    if parent is None:
        return False
    if parent.type == "unary_expression" and text(parent.child_by_field_name("operator")) == "!":
        return True
    if parent.type == "binary_expression":
        operator = text(parent.child_by_field_name("operator"))
        return operator in ("==", "!=", "&&", "||", "<", ">")
    return parent.type in ("if_statement", "while_statement", "conditional_expression") and (
        parent.child_by_field_name("condition") == node
    )


def uses_in(fragment: Node | None, names: set[str]) -> list[Use]:
    """Uses of the given pointer variables that need the pointee alive.

    Tests against NULL and pointer comparisons are not uses: they never touch
    the task, which is what makes them safe after the section ends.
    """
    if fragment is None or not names:
        return []
    found: list[Use] = []
    stack = [fragment]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type != "identifier" or text(node) not in names:
            continue
        parent = node.parent
        if parent is None:
            continue
        name = text(node)
        line, column = node.start_point[0] + 1, node.start_point[1] + 1
        if parent.type == "field_expression" and parent.child_by_field_name("argument") == node:
            found.append(Use(name, line, column, "deref"))
        elif parent.type == "argument_list":
            call = parent.parent
            callee = call_name(call) if call is not None else ""
            found.append(Use(name, line, column, "argument", callee))
        elif parent.type == "return_statement":
            found.append(Use(name, line, column, "return"))
        elif parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
            left = parent.child_by_field_name("left")
            if left is not None and left.type != "identifier":
                found.append(Use(name, line, column, "alias"))
        elif _is_null_test(node):
            continue
    found.sort(key=lambda use: (use.line, use.column))
    return found


def assignments_in(fragment: Node | None) -> list[tuple[str, str, int]]:
    """Plain ``v = expr`` / ``T *v = expr`` stores: (variable, expression text, line)."""
    if fragment is None:
        return []
    found: list[tuple[str, str, int, int]] = []
    stack = [fragment]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if (
            node.type == "assignment_expression"
            and text(node.child_by_field_name("operator")) == "="
        ):
            left = node.child_by_field_name("left")
            if left is not None and left.type == "identifier":
                right = node.child_by_field_name("right")
                found.append(
                    (text(left), squash(text(right)), node.start_point[0] + 1, node.start_byte)
                )
        elif node.type == "init_declarator":
            declarator = node.child_by_field_name("declarator")
            while declarator is not None and declarator.type == "pointer_declarator":
                declarator = declarator.child_by_field_name("declarator")
            value = node.child_by_field_name("value")
            if declarator is not None and declarator.type == "identifier":
                found.append(
                    (
                        text(declarator),
                        squash(text(value)),
                        node.start_point[0] + 1,
                        node.start_byte,
                    )
                )
    found.sort(key=lambda item: item[3])
    return [(name, expr, line) for name, expr, line, _ in found]


@dataclass(frozen=True)
class Store:
    """A write to a variable or lvalue: `v = e`, `v += e`, `v++`, `T v = e`, `f(&v)`."""

    target: str  # squashed lvalue text
    value: str  # squashed right-hand side, "?" when not a plain assignment
    line: int
    start: int
    simple: bool  # the target is a plain identifier


def _declarator_name(node: Node | None) -> Node | None:
    while node is not None and node.type in (
        "pointer_declarator",
        "array_declarator",
        "attributed_declarator",
        "parenthesized_declarator",
    ):
        node = node.child_by_field_name("declarator")
    return node


def stores_in(fragment: Node | None) -> list[Store]:
    """Every write inside one CFG node's fragment, in source order."""
    if fragment is None:
        return []
    found: list[Store] = []
    stack = [fragment]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind == "assignment_expression":
            left = node.child_by_field_name("left")
            operator = text(node.child_by_field_name("operator"))
            value = squash(text(node.child_by_field_name("right"))) if operator == "=" else "?"
            if left is not None:
                found.append(
                    Store(
                        squash(text(left)),
                        value,
                        node.start_point[0] + 1,
                        node.start_byte,
                        left.type == "identifier",
                    )
                )
        elif kind == "update_expression":
            argument = node.child_by_field_name("argument")
            if argument is not None:
                found.append(
                    Store(
                        squash(text(argument)),
                        "?",
                        node.start_point[0] + 1,
                        node.start_byte,
                        argument.type == "identifier",
                    )
                )
        elif kind == "init_declarator":
            name = _declarator_name(node.child_by_field_name("declarator"))
            if name is not None and name.type == "identifier":
                found.append(
                    Store(
                        text(name),
                        squash(text(node.child_by_field_name("value"))),
                        node.start_point[0] + 1,
                        node.start_byte,
                        True,
                    )
                )
        elif kind == "argument_list":
            for argument in node.named_children:
                if (
                    argument.type == "pointer_expression"
                    and text(argument.child_by_field_name("operator")) == "&"
                ):
                    inner = argument.child_by_field_name("argument")
                    if inner is not None and inner.type == "identifier":
                        found.append(
                            Store(
                                text(inner),
                                "?",
                                argument.start_point[0] + 1,
                                argument.start_byte,
                                True,
                            )
                        )
        if kind in _NESTED_BODIES:
            continue
        stack.extend(node.named_children)
    found.sort(key=lambda store: store.start)
    return found
