"""Values a function's caller chose (its parameters, locals set from their fields)
and the branches that test them: whether a lock or a sleep happens is then the
caller's business, not the function's (summaries.py, sleep.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tree_sitter import Node

from patchlint.analysis.calls import text
from patchlint.analysis.identity import is_path, roots

BRANCHES = ("if_statement", "switch_statement", "conditional_expression", "while_statement")


def body_statement(node: Node, body: Node | None) -> bool:
    """A call that is a statement of the function body itself, under no branch, loop
    or label (on the path every run falls through, not one reached by a jump)."""
    statement = node.parent
    while statement is not None and statement.type in ("call_expression", "identifier"):
        statement = statement.parent
    if body is None or statement is None or statement.type != "expression_statement":
        return False
    for child in body.named_children:
        if child.type == "labeled_statement":
            return False
        if child == statement:
            return True
    return False


VALUE_NAMES = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)(?!\s*(?:->|\.|\w|\())")
INPUT_NAMES = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)(?!\s*(?:\w|\())")


def input_values(params: list[str], aliases: Mapping[str, str]) -> set[str]:
    """Names whose value (or fields) the caller chose: parameters, and locals set once
    from a parameter's field (`int flags = nd->flags;`), not from a call."""
    found = set(params)
    for name, value in aliases.items():
        if is_path(value) and roots(value) & set(params):
            found.add(name)
    return found


def input_branch(node: Node, inputs: set[str], fields: bool = False) -> Node | None:
    """The innermost branch around ``node`` whose condition tests an input value (or,
    with ``fields``, a field of one)."""
    pattern = INPUT_NAMES if fields else VALUE_NAMES
    current: Node | None = node
    while current is not None and current.type != "function_definition":
        parent = current.parent
        if parent is not None and parent.type in BRANCHES:
            condition = parent.child_by_field_name("condition")
            if condition is not None and condition != current:
                if inputs & set(pattern.findall(text(condition))):
                    return parent
        current = parent
    return None


def under_parameter_test(node: Node, params: set[str]) -> bool:
    """Whether a branch around ``node`` tests a parameter's value.

    `if (sync) synchronize_net();` sleeps only for callers that ask it to.
    """
    return input_branch(node, params) is not None


__all__ = [
    "INPUT_NAMES",
    "VALUE_NAMES",
    "body_statement",
    "input_branch",
    "input_values",
    "under_parameter_test",
]
