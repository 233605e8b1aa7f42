"""What a function's returns tell its caller: the value returned (zero, an error, a
non-NULL pointer...) and, for a lock some paths drop and others keep, whether that
value says which happened (a conditional release, the mirror of a trylock)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple, Protocol, TypeVar

from tree_sitter import Node

from patchlint.analysis.calls import calls_in, text
from patchlint.analysis.conditions import constant_truth, formula
from patchlint.analysis.facts import FunctionFacts
from patchlint.analysis.state import Held, LockState
from patchlint.source import FunctionDef

_ERRNO = re.compile(r"^-\s*(?:E[A-Z0-9_]+|\d+)$")
_CALLED = re.compile(r"^([A-Za-z_]\w*)\s*\(")

Key = tuple[str, str]  # (kind, lock)
T = TypeVar("T", Held, "Ending")


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


class Alternative(NamedTuple):
    """One way a helper takes or drops a lock, chosen by a value's truth."""

    when: str  # "{ret}" (the result) or "{<i>}" (a parameter)
    value: bool
    irq: str
    mode: str = ""


class Ends(Protocol):
    """How one lock ends up across a function's returns (summaries.Outcome)."""

    kind: str
    lock: str
    verdict: str
    holding: list[tuple[int, LockState]]
    released: list[tuple[int, LockState]]
    dropped_at: list[tuple[int, LockState]]


def value_alternatives(facts: FunctionFacts, outcome: Ends) -> list[Alternative]:
    """A lock taken (or dropped) on every path, interrupts disabled (or enabled) as a
    value says: the result or a parameter for an acquiring helper, a parameter for a
    releasing one. Empty when the paths agree or nothing tells the caller which
    happened. Interrupt states saved in a variable are left out: the caller could
    not name it."""
    key, verdict = (outcome.kind, outcome.lock), outcome.verdict
    holding, dropped_at = outcome.holding, outcome.dropped_at
    ends: list[Ending] = []
    if verdict == "acquire":
        taken = result_alternatives(facts, key, holding)
        if taken is not None:
            if any(":" in entry.irq for _truth, entry in taken):
                return []
            return [Alternative("{ret}", truth, e.irq, e.mode) for truth, e in taken]
        for _node_id, state in holding:
            ends += [Ending(h.line, h.irq, h.mode) for h in state.held if (h.kind, h.lock) == key]
    elif verdict == "release":
        for _node_id, state in dropped_at:
            ends += [Ending(d.line, d.irq) for d in state.dropped if (d.kind, d.lock) == key]
    else:
        return []
    if len(ends) != len(holding if verdict == "acquire" else dropped_at):
        return []  # one entry per path, or the paths are not simply one way or the other
    chosen = parameter_alternatives(facts, key, ends)
    if chosen is None or any(":" in end.irq for _truth, end in chosen[1]):
        return []
    index, by_truth = chosen
    return [Alternative(f"{{{index}}}", truth, end.irq, end.mode) for truth, end in by_truth]


class Ending(NamedTuple):
    """Where one path takes or drops a lock, and how it treats interrupts."""

    line: int
    irq: str
    mode: str = ""


_TRUTH = {"zero": False, "positive": True, "nonzero": True, "nonnull": True}


def result_alternatives(
    facts: FunctionFacts, key: Key, holding: list[tuple[int, LockState]]
) -> list[tuple[bool, Held]] | None:
    """Every path returns holding ``key`` but they disagree on how it treats interrupts
    (`spin_lock()` or `spin_lock_bh()` as `in_softirq()` says), and the return value
    tells the caller which: per truth of the result, the entry held. The first is the
    first path's, what a summary without alternatives takes."""
    found: dict[bool, Held] = {}
    for node_id, state in holding:
        entry = next((h for h in state.held if (h.kind, h.lock) == key), None)
        truth = _TRUTH.get(return_value(facts, node_id, state))
        if entry is None or truth is None:
            return None
        other = found.setdefault(truth, entry)
        if (other.irq, other.mode) != (entry.irq, entry.mode):
            return None  # the result does not say which
    if len(found) != 2 or found[True].irq == found[False].irq:
        return None
    return _interrupts_first(found)


def parameter_alternatives(
    facts: FunctionFacts, key: Key, ends: list[Ending]
) -> tuple[int, list[tuple[bool, Ending]]] | None:
    """Every path takes (or drops) ``key`` but they disagree on how it treats
    interrupts, each call standing in one arm of an `if` on the same parameter
    (`if (in_softirq) spin_unlock(l); else spin_unlock_bh(l);`): the parameter's
    index, and per truth of it the path's call."""
    params = facts.fn.params
    sites: dict[int, Node | None] = {}  # by line: what a path's entry records
    for site in facts.events.calls.values():
        if any(
            e.op in ("acquire", "release") and (e.kind, e.lock) == key
            for e in facts.analysis.effects(site.call)
        ):
            node = facts.fn.node.descendant_for_byte_range(site.call.start, site.call.start)
            # Two calls on one line: which one a path made is not known.
            sites[site.call.line] = None if site.call.line in sites else node
    found: dict[bool, Ending] = {}
    tested = set()
    for end in ends:
        node = sites.get(end.line)
        arm = parameter_arm(node, params) if node is not None else None
        if arm is None:
            return None
        name, truth = arm
        tested.add(name)
        if found.setdefault(truth, end)[1:] != end[1:]:
            return None
    if len(tested) != 1 or len(found) != 2 or found[True].irq == found[False].irq:
        return None
    return params.index(tested.pop()), _interrupts_first(found)


def _interrupts_first(found: dict[bool, T]) -> list[tuple[bool, T]]:
    """The alternative that disables (or enables) interrupts first: a caller that does
    not tell which case happened gets it, so a section taken one way and ended the
    other way stays balanced."""
    return sorted(found.items(), key=lambda item: (not item[1].irq, item[0]))


def parameter_arm(node: Node, params: list[str]) -> tuple[str, bool] | None:
    """(parameter, its truth) when the innermost branch around ``node`` is an `if`
    testing a parameter by itself (`if (flag)`, `if (!flag)`)."""
    current = node
    while current.parent is not None and current.type != "function_definition":
        parent = current.parent
        if parent.type in _BRANCHING:
            if parent.type != "if_statement" or parent.child_by_field_name("condition") == current:
                return None
            condition = parent.child_by_field_name("condition")
            truth = parent.child_by_field_name("consequence") == current
            while condition is not None and condition.type == "parenthesized_expression":
                condition = condition.named_children[0] if condition.named_children else None
            if condition is not None and condition.type == "unary_expression":
                if text(condition.child_by_field_name("operator")) != "!":
                    return None
                condition, truth = condition.child_by_field_name("argument"), not truth
            name = text(condition)
            return (name, truth) if condition is not None and name in params else None
        current = parent
    return None


_BRANCHING = frozenset(
    {
        "if_statement",
        "switch_statement",
        "conditional_expression",
        "while_statement",
        "for_statement",
        "do_statement",
        "binary_expression",
        "case_statement",
    }
)


def guarded_cycle(
    facts: FunctionFacts, outcome: Ends, reads_only: Callable[[str], bool]
) -> tuple[str, bool] | None:
    """The function takes and drops ``key`` on every path but those leaving early
    under one condition over its parameters (`if (!PageHighMem(page)) return
    lowmem_page_address(page);` before `spin_lock_irqsave(&pas->lock, flags)`): that
    condition over argument slots, and its truth on the paths that take the lock.

    Only a caller that knows the condition's value learns anything (choices.py): one
    computing the lock's window in ways the callee tests again (qla82xx_wr_32())
    does not, and stays as it was."""
    key, released = (outcome.kind, outcome.lock), outcome.released
    if (
        outcome.verdict != "balanced"
        or outcome.holding
        or outcome.dropped_at
        or any((d.kind, d.lock) == key for _n, state in released for d in state.dropped)
    ):
        return None  # dropping the caller's lock and taking it again expects it held
    taking = {node_id for node_id, _state in released}
    exits = {
        node_id
        for node_id, states in facts.events.returns.items()
        if node_id not in taking or any(key not in state.taken for state in states)
    }
    if not exits or not taking or exits & taking:
        return None
    first_site = min(
        (
            site.call.start
            for site in facts.events.calls.values()
            if any((e.kind, e.lock) == key for e in facts.analysis.effects(site.call))
        ),
        default=None,
    )
    found: set[tuple[str, bool]] = set()
    for node_id in exits:
        exit_node = facts.node(node_id).ast
        arm = early_exit(exit_node, facts.fn.body) if exit_node is not None else None
        if arm is None or first_site is None or arm[0].end_byte > first_site:
            return None
        branch, truth = arm
        tested = branch.child_by_field_name("condition")
        # Callees that only read (purity.py): the caller evaluating it gets the same.
        readers = {call.name for call in calls_in(tested) if reads_only(call.name)}
        condition = formula(
            tested, facts.analysis.kb.transparent, facts.context.pure_calls | readers
        )
        while condition.op == "not" and condition.left is not None:
            condition, truth = condition.left, not truth
        if condition.op != "atom" or _assigned(facts.fn.body, condition.atom):
            return None
        found.add((condition.atom, not truth))
    if len(found) != 1:
        return None
    atom, taking_truth = found.pop()
    template = facts.context.resolver.template(atom)
    if template is None or "{" not in template:
        return None  # over locals or globals only: not the caller's to tell
    return template, taking_truth


def early_exit(node: Node, body: Node | None) -> tuple[Node, bool] | None:
    """The `if` statement of the function body one of whose arms holds this return,
    and which arm (true: its consequence)."""
    arm: Node | None = node.parent
    if arm is not None and arm.type == "compound_statement":
        holder = arm.parent
    else:
        holder, arm = arm, node
    truth = True
    if holder is not None and holder.type == "else_clause":
        arm, holder, truth = holder, holder.parent, False
    if holder is None or holder.type != "if_statement" or holder.parent != body:
        return None
    if truth and holder.child_by_field_name("consequence") != arm:
        return None
    return holder, truth


def _assigned(body: Node | None, atom: str) -> bool:
    """Whether a variable the atom reads is written in the function."""
    names = set(re.findall(r"(?<![\w>.])[A-Za-z_]\w*", atom))
    stack = [body] if body is not None else []
    while stack:
        node = stack.pop()
        if node.type in ("assignment_expression", "update_expression"):
            target = node.child_by_field_name("left") or node.child_by_field_name("argument")
            if target is not None and text(target) in names:
                return True
        stack.extend(node.named_children)
    return False
