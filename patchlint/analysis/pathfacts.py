"""Facts of a caller's path about what it passes: an argument that is not NULL.

A callee whose sleep is guarded by a test of its parameter (`if (!node)
c->wq = alloc_ordered_workqueue(...)`, patchlint.analysis.guards) is judged per
call by the arguments: constants by their values, and pointers by what the path to
the call says of them. An address (`&n->crypto_rx`) is never NULL; nor is a
variable an earlier `if (!n) goto out;` tested, when nothing assigns it since and
no label lets a `goto` jump past the test.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tree_sitter import Node

from patchlint.analysis.calls import text
from patchlint.analysis.guards import exit_statement, operator_of, strip_parentheses

_NAME = re.compile(r"[A-Za-z_]\w*")


def nonnull_arguments(
    call: Node, args: tuple[str, ...], transparent: frozenset[str] = frozenset()
) -> frozenset[int]:
    """Positions of the arguments the caller's path says are not NULL: an address
    (`&n->crypto_rx`), or a variable an earlier `if (!n) return/goto ...;` of an
    enclosing block tests, or an earlier statement of one dereferences (`n->id =
    id;`), not assigned since (`n = kzalloc(...); if (!n) goto exit;
    ...; start(&n->rx, n);`). ``transparent``: calls that return their argument's
    truth (`unlikely(!n)`, from the data)."""
    found: set[int] = set()
    for position, argument in enumerate(args):
        value = argument.strip()
        if value.startswith("&") and not value.startswith("&&"):
            found.add(position)
        elif _NAME.fullmatch(value) and _null_exit_before(call, value, transparent):
            found.add(position)
    return frozenset(found)


def _null_exit_before(call: Node, name: str, transparent: frozenset[str]) -> bool:
    current: Node | None = call
    function: Node | None = call
    while function is not None and function.type != "function_definition":
        function = function.parent
    if function is None or function.text is None:
        return False
    word = name.encode()
    while current is not None and current.type != "function_definition":
        parent = current.parent
        if parent is not None and parent.type == "compound_statement":
            sibling = current.prev_named_sibling
            while sibling is not None and sibling.type != "labeled_statement":
                if sibling.text is None or word not in sibling.text:
                    pass  # the common case: the statement does not mention it
                elif (
                    sibling.type == "if_statement" and _null_exit(sibling, name, transparent)
                ) or (
                    sibling.type in ("expression_statement", "declaration")
                    and _dereferences(text(sibling), name)
                ):
                    between = function.text[
                        sibling.end_byte - function.start_byte : call.start_byte
                        - function.start_byte
                    ].decode(errors="replace")
                    return not _written(between, name)
                sibling = sibling.prev_named_sibling
        if current.type == "labeled_statement":
            return False  # a goto may land below the test
        current = parent
    return False


def _dereferences(code: str, name: str) -> bool:
    """`name->field` read or written (not only its address taken, `&name->field`, nor
    under `sizeof`): a NULL ``name`` would have oopsed there."""
    if "sizeof" in code:
        return False
    return any(not match.group(1) for match in _dereference_pattern(name).finditer(code))


@lru_cache(maxsize=1024)
def _dereference_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(&\s*)?(?<![\w>.]){re.escape(name)}\s*->")


@lru_cache(maxsize=1024)
def _write_pattern(name: str) -> re.Pattern[str]:
    word = rf"(?<![\w>.]){re.escape(name)}\b"
    return re.compile(rf"{word}\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)|&\s*{word}(?!\s*(?:->|\.|\[))")


def _null_exit(statement: Node, name: str, transparent: frozenset[str]) -> bool:
    """`if (!name) <exit>` or `if (name == NULL || ...) <exit>`, with no else."""
    condition = statement.child_by_field_name("condition")
    consequence = statement.child_by_field_name("consequence")
    if condition is None or consequence is None:
        return False
    if statement.child_by_field_name("alternative") is not None:
        return False
    return exit_statement(consequence) and _tests_null(condition, name, transparent)


def _tests_null(node: Node, name: str, transparent: frozenset[str]) -> bool:
    """Whether ``node`` holds whenever ``name`` is NULL."""
    node = strip_parentheses(node)
    function = node.child_by_field_name("function") if node.type == "call_expression" else None
    if function is not None and text(function) in transparent:
        arguments = node.child_by_field_name("arguments")
        inner = arguments.named_children if arguments is not None else []
        return len(inner) == 1 and _tests_null(inner[0], name, transparent)
    operator = operator_of(node) if node.type in ("binary_expression", "unary_expression") else ""
    if node.type == "unary_expression" and operator == "!":
        argument = node.child_by_field_name("argument")
        return argument is not None and text(strip_parentheses(argument)) == name
    if node.type != "binary_expression":
        return False
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if left is None or right is None:
        return False
    if operator == "||":
        return _tests_null(left, name, transparent) or _tests_null(right, name, transparent)
    if operator == "==":
        sides = {text(strip_parentheses(left)), text(strip_parentheses(right))}
        return sides == {name, "NULL"}
    return False


def _written(code: str, name: str) -> bool:
    return _write_pattern(name).search(code) is not None
