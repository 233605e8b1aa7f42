"""Where a callee's sleep depends on what its caller passes or on its objects' state.

A function that sleeps only on some of its paths (`if (cqp_request->waiting)
wait_event(...)`, `if (!may_sleep) return;` before `usb_control_msg()`) is "guarded":
whether a given call reaches the sleep depends on the arguments or on the state of
the objects they point to. When such a call passes a constant argument (`false`,
`CMD_ASYNC`, `MSG_DONTWAIT`), the constant may be what keeps the callee off its
sleeping path; the analysis does not evaluate the callee for that argument, so it
does not claim the call sleeps (it says nothing rather than guess).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from patchlint.analysis.calls import text
from patchlint.analysis.identity import Resolver, roots
from patchlint.source import FunctionDef

_BRANCHES = frozenset(
    {
        "if_statement",
        "switch_statement",
        "conditional_expression",
        "while_statement",
        "do_statement",
    }
)
# A variable's own value (not a field of it, not a call): `if (!wait)`.
_VALUE = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)(?!\s*(?:->|\.|\w|\())")
# A variable or a field of it: `if (cqp_request->waiting)`.
_INPUT = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)(?!\s*(?:\w|\())")
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d\w*|->|\S")
_CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_CONSTANT_WORDS = frozenset({"true", "false", "NULL"})
_OPERATORS = frozenset("|&+-~!()<>*^")


def bool_params(fn: FunctionDef) -> set[str]:
    """Parameters declared `bool` (flags such as `may_sleep`, `nowait`)."""
    found: set[str] = set()
    declarator = fn.node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    parameters = declarator.child_by_field_name("parameters") if declarator else None
    for param in parameters.named_children if parameters is not None else []:
        kind = param.child_by_field_name("type")
        name = param.child_by_field_name("declarator")
        if kind is not None and name is not None and text(kind) in ("bool", "_Bool"):
            found.add(text(name).lstrip("*"))
    return found


def after_flag_exit(node: Node, flags: set[str]) -> bool:
    """An earlier `if (!may_sleep) return;` tests a bool parameter: the call is reached
    only for the callers whose argument lets it (kaweth_async_set_rx_mode())."""
    return bool(flags) and _after_exit(node, flags, _VALUE)


def inputs_of(fn: FunctionDef, resolver: Resolver) -> set[str]:
    """Parameters, and locals computed from them (`db = netdev_priv(dev)`)."""
    params = set(fn.params)
    found = set(params)
    for name, value in resolver.aliases.items():
        if roots(value) & params:
            found.add(name)
    return found


def input_guarded(node: Node, inputs: set[str]) -> bool:
    """Whether the call at ``node`` runs only on some paths, chosen by an input's value
    or by a field of an input: inside a branch testing one, or after an early return
    that tests one."""
    if not inputs:
        return False
    current: Node | None = node
    while current is not None and current.type != "function_definition":
        parent = current.parent
        if parent is not None and parent.type in _BRANCHES:
            condition = parent.child_by_field_name("condition")
            if condition is not None and condition != current:
                if inputs & set(_INPUT.findall(text(condition))):
                    return True
        current = parent
    return _after_exit(node, inputs, _INPUT)


def _after_exit(node: Node, names: set[str], pattern: re.Pattern[str]) -> bool:
    current: Node | None = node
    while current is not None and current.type != "function_definition":
        parent = current.parent
        if parent is not None and parent.type == "compound_statement":
            sibling = current.prev_named_sibling
            while sibling is not None:
                if sibling.type == "if_statement" and _exit_test(sibling, names, pattern):
                    return True
                sibling = sibling.prev_named_sibling
        current = parent
    return False


def _exit_test(statement: Node, names: set[str], pattern: re.Pattern[str]) -> bool:
    """`if (<test of names>) return ...;` (no else)."""
    condition = statement.child_by_field_name("condition")
    consequence = statement.child_by_field_name("consequence")
    if condition is None or consequence is None:
        return False
    if statement.child_by_field_name("alternative") is not None:
        return False
    if not names & set(pattern.findall(text(condition))):
        return False
    last = consequence
    if last.type == "compound_statement":
        if not last.named_children:
            return False
        last = last.named_children[-1]
    return last.type == "return_statement"


def constant_argument(args: tuple[str, ...]) -> bool:
    """Whether one argument is a constant: a number, true/false/NULL, an upper-case
    macro or enumerator, or operators over those (`FLAG_A | FLAG_B`)."""
    return any(_constant(arg) for arg in args)


def _constant(arg: str) -> bool:
    tokens = _TOKEN.findall(arg)
    if not tokens:
        return False
    for position, token in enumerate(tokens):
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if token[0].isdigit():
            continue
        if token[0].isalpha() or token[0] == "_":
            if following == "(":
                return False  # a call (or a function-like macro)
            if token in _CONSTANT_WORDS or _CONSTANT_NAME.match(token):
                continue
            return False
        if token not in _OPERATORS:
            return False
    return True
