"""What a function's returns tell its caller: the value returned (zero, an error, a
non-NULL pointer...) and, for a lock some paths drop and others keep, whether that
value says which happened (a conditional release, the mirror of a trylock)."""

from __future__ import annotations

import re

from patchlint.analysis.calls import text
from patchlint.analysis.conditions import constant_truth
from patchlint.analysis.facts import FunctionFacts
from patchlint.analysis.state import LockState
from patchlint.source import FunctionDef

_ERRNO = re.compile(r"^-\s*(?:E[A-Z0-9_]+|\d+)$")
_CALLED = re.compile(r"^([A-Za-z_]\w*)\s*\(")

Key = tuple[str, str]  # (kind, lock)


def returned_key(facts: FunctionFacts, node_id: int) -> str | None:
    """The variable or call ("#<byte>") a return statement returns, if that simple."""
    node = facts.node(node_id).ast
    value = node.named_children[0] if node is not None and node.named_children else None
    while value is not None and value.type == "parenthesized_expression" and value.named_children:
        value = value.named_children[0]
    if value is None:
        return None
    if value.type == "identifier":
        return text(value)
    if value.type == "call_expression":
        return f"#{value.start_byte}"
    return None


def returns_pointer(fn: FunctionDef) -> bool:
    declarator = fn.node.child_by_field_name("declarator")
    return declarator is not None and declarator.type == "pointer_declarator"


def returns_bool(fn: FunctionDef) -> bool:
    kind = fn.node.child_by_field_name("type")
    return kind is not None and text(kind) in ("bool", "_Bool")


def return_value(facts: FunctionFacts, node_id: int, state: LockState) -> str:
    """What the caller can test after this return: "zero", "positive" (1, true),
    "error" (-EINVAL, ERR_PTR()), "nonnull" (a pointer known non-NULL here),
    "nonzero" (a variable known non-zero here), "void" or "unknown"."""
    node = facts.node(node_id).ast
    value = node.named_children[0] if node is not None and node.named_children else None
    if value is None:
        return "void"
    expression = " ".join(text(value).split())
    called = _CALLED.match(expression)
    if _ERRNO.match(expression) or (called and called.group(1) in facts.analysis.kb.error_values):
        return "error"
    truth = constant_truth(expression)
    if truth is not None:
        return "positive" if truth else "zero"
    if value.type == "identifier":
        kb = facts.analysis.kb
        if any((f"{test}({expression})", True) in state.facts for test in kb.error_tests):
            return "error"
        if (f"{expression}<0", True) in state.facts:
            return "error"
        if (f"{expression}<0", False) in state.facts:
            return "nonneg"
        if (expression, False) in state.facts:
            return "zero"
        if (expression, True) in state.facts:
            if returns_pointer(facts.fn):
                return "nonnull"
            # A bool's true is a success; an int's non-zero is as likely an error code.
            return "positive" if returns_bool(facts.fn) else "nonzero"
    return "unknown"


def conditional_release(
    facts: FunctionFacts,
    key: Key,
    per_return: list[tuple[int, LockState, dict[Key, int]]],
) -> tuple[str, str]:
    """Some paths drop the caller's lock, others keep it: a conditional release when
    the return value says which (`/* drops tasklist_lock if succeeds */`), else unsure."""
    dropped = {return_value(facts, n, s) for n, s, nets in per_return if nets.get(key, 0) < 0}
    kept = {return_value(facts, n, s) for n, s, nets in per_return if nets.get(key, 0) == 0}
    if dropped and kept:
        if kept == {"zero"} and "zero" not in dropped and "void" not in dropped:
            # 0 when it kept the lock, something else (a pid, a status a callee
            # computed) after dropping it: wait_task_zombie() and its callers.
            return "try-release", "nonzero"
        if dropped <= {"zero"} and kept and kept <= {"error", "positive", "nonzero"}:
            return "try-release", "zero"
    return "unsure", ""


def passed_releases(
    facts: FunctionFacts, lock: str, per_return: list[tuple[int, LockState, dict[Key, int]]]
) -> dict[int, str]:
    """Returns that hand a conditional-release callee's result straight to the caller
    (`return wait_task_zombie(wo, p);`), with the result that means "dropped"."""
    passed: dict[int, str] = {}
    for node_id, state, _nets in per_return:
        returned = returned_key(facts, node_id)
        for pending in state.pending:
            if pending.release and pending.key == returned and pending.held.lock == lock:
                passed[node_id] = pending.success
    return passed


def passing_release(
    facts: FunctionFacts,
    key: Key,
    per_return: list[tuple[int, LockState, dict[Key, int]]],
    passed: dict[int, str],
) -> tuple[str, str]:
    """A conditional release when its own returns follow the passed result's convention."""
    successes = set(passed.values())
    if len(successes) != 1:
        return "unsure", ""
    success = successes.pop()
    for node_id, state, nets in per_return:
        if node_id in passed:
            continue
        value = return_value(facts, node_id, state)
        net = nets.get(key, 0)
        if net > 0:
            return "unsure", ""
        dropped = net < 0
        zero = value == "zero"
        if success == "zero" and (dropped != zero or value in ("unknown", "void")):
            return "unsure", ""
        if success != "zero" and (dropped == zero or value == "void"):
            return "unsure", ""
    return "try-release", success
