"""Branch conditions: what a condition's outcome says about values along a path.

Two uses. ``truths`` answers "is this variable (or call result) non-zero on this
branch?", which settles a try-lock (`if (!spin_trylock(&l)) return;`) and NULL
checks of task pointers. ``Formula``/``assume`` keep the outcome of conditions a
function tests more than once (or flags it sets to constants), so that
`if (need) lock(); ... if (need) unlock();` is not read as two independent
branches with two impossible paths.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tree_sitter import Node

from patchlint.analysis.calls import squash, text
from patchlint.source import c_integer

Facts = frozenset[tuple[str, bool]]
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*$")
_CONSTANT = re.compile(r"^(?:-?\d+[uUlL]*|0x[0-9a-fA-F]+[uUlL]*|true|false|NULL)$")
_ERRNO_CONSTANT = re.compile(r"^-\s*E[A-Z0-9_]+$")
_ROOT = re.compile(r"(?<![\w>.])[A-Za-z_]\w*")
_NULLISH = ("NULL", "0", "false")
_OPERATOR_SPACE = re.compile(r"\s*([^\w\s])\s*")


@functools.lru_cache(maxsize=65536)
def atom_text(expression: str) -> str:
    """One spelling per expression: `how==1`, `dev->flags&FOO`."""
    return _OPERATOR_SPACE.sub(r"\1", squash(expression))


def _strip(node: Node, transparent: frozenset[str]) -> Node:
    """Look through parentheses and value-preserving wrappers (likely, WARN_ON)."""
    while True:
        if node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
            continue
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            if (
                function is not None
                and text(function) in transparent
                and args is not None
                and args.named_children
            ):
                node = args.named_children[0]
                continue
        return node


def constant_condition(cond: Node, transparent: frozenset[str]) -> bool | None:
    """The value of `while (1)`, `do ... while (0)`, `if (true)`; None if not constant."""
    return constant_truth(atom_text(text(_strip(cond, transparent))))


def truths(
    cond: Node,
    positive: bool,
    transparent: frozenset[str],
    error_tests: frozenset[str] = frozenset(),
) -> list[tuple[str, bool]]:
    """(key, is non-zero) facts implied by ``cond`` being ``positive``.

    Keys are variable names, assignment targets, or "#<byte>" for a call result.
    `IS_ERR(p)` counts as `!p`: a pointer-returning trylock failed.
    """
    node = _strip(cond, transparent)
    if node.type == "call_expression" and error_tests:
        function = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if function is not None and text(function) in error_tests and args is not None:
            if args.named_children and args.named_children[0].type == "identifier":
                return [(text(args.named_children[0]), not positive)]
    if node.type == "unary_expression" and text(node.child_by_field_name("operator")) == "!":
        argument = node.child_by_field_name("argument")
        if argument is None:
            return []
        return truths(argument, not positive, transparent, error_tests)
    if node.type == "call_expression":
        return [(f"#{node.start_byte}", positive)]
    if node.type == "identifier":
        return [(text(node), positive)]
    if node.type == "assignment_expression":
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        found = [(text(left), positive)]
        if right is not None and right.type == "call_expression":
            found.append((f"#{right.start_byte}", positive))
        return found
    if node.type == "binary_expression":
        operator = text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None:
            return []
        if operator in ("==", "!=") and text(right) in _NULLISH:
            return truths(left, positive == (operator == "!="), transparent, error_tests)
        # A 0 / -errno result: `< 0` is the failure (non-zero) case, `>= 0` success.
        if operator == "<" and text(right) == "0":
            return truths(left, positive, transparent, error_tests)
        if operator == ">=" and text(right) == "0":
            return truths(left, not positive, transparent, error_tests)
        if (operator == "&&" and positive) or (operator == "||" and not positive):
            return truths(left, positive, transparent, error_tests) + truths(
                right, positive, transparent, error_tests
            )
    return []


@dataclass(frozen=True)
class Formula:
    """A condition as a boolean formula over atoms (opaque sub-expressions)."""

    op: str  # "atom", "not", "and", "or", "opaque"
    atom: str = ""
    left: Formula | None = None
    right: Formula | None = None

    def atoms(self) -> set[str]:
        if self.op == "atom":
            return {self.atom}
        found: set[str] = set()
        for part in (self.left, self.right):
            if part is not None:
                found |= part.atoms()
        return found


OPAQUE = Formula("opaque")


def formula(cond: Node | None, transparent: frozenset[str], pure: frozenset[str]) -> Formula:
    if cond is None:
        return OPAQUE
    node = _strip(cond, transparent)
    if node.type == "unary_expression" and text(node.child_by_field_name("operator")) == "!":
        argument = node.child_by_field_name("argument")
        return Formula("not", left=formula(argument, transparent, pure))
    if node.type == "binary_expression":
        operator = text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if operator in ("&&", "||"):
            op = "and" if operator == "&&" else "or"
            return Formula(
                op, left=formula(left, transparent, pure), right=formula(right, transparent, pure)
            )
        if operator in ("==", "!=") and text(right) in _NULLISH and left is not None:
            inner = formula(left, transparent, pure)
            return inner if operator == "!=" else Formula("not", left=inner)
        # One atom per comparison and its negation: `a != b` is `!(a == b)`,
        # `a >= b` is `!(a < b)`, `a <= b` is `!(a > b)`.
        negated = {"!=": "==", ">=": "<", "<=": ">"}
        if (
            operator in ("==", "!=", "<", ">=", ">", "<=")
            and left is not None
            and right is not None
        ):
            # `++cnt < max` compares cnt's new value: the atom is `cnt<max` (the
            # increment itself is a write the analysis has already made).
            operand = _pre_incremented(left)
            if operand is not None or _side_effect_free(node, pure):
                if operand is not None and not _side_effect_free(right, pure):
                    return OPAQUE
                left_text = text(operand) if operand is not None else text(left)
                base = negated.get(operator, operator)
                compared = Formula("atom", atom_text(f"{left_text}{base}{text(right)}"))
                return Formula("not", left=compared) if operator in negated else compared
    if node.type in ("assignment_expression", "update_expression"):
        return OPAQUE
    atom = atom_text(text(node))
    if not atom or _CONSTANT.match(atom) or not _side_effect_free(node, pure):
        return OPAQUE
    return Formula("atom", atom)


def bit_atom(test_names: frozenset[str], args: tuple[str, ...]) -> str:
    """The atom `test_bit(B, A)` spells, for `set_bit(B, A)` / `clear_bit(B, A)`."""
    if len(args) < 2 or not test_names:
        return ""
    return atom_text(f"{min(test_names)}({args[0]}, {args[1]})")


def switch_subject(cond: Node | None, transparent: frozenset[str]) -> str:
    return atom_text(text(_strip(cond, transparent))) if cond is not None else ""


def case_formula(subject: str, value: str) -> Formula:
    """`subject == value`, spelled the way ``formula`` spells the same test in an if."""
    value = atom_text(value)
    if value in _NULLISH:
        return Formula("not", left=Formula("atom", subject))
    return Formula("atom", f"{subject}=={value}")


def _pre_incremented(node: Node) -> Node | None:
    """`x` of `++x` / `--x` (not of `x++`, whose value is the old one)."""
    if node.type != "update_expression" or not node.children:
        return None
    argument = node.child_by_field_name("argument")
    if argument is None or node.children[0] == argument or argument.type != "identifier":
        return None
    return argument


def _side_effect_free(node: Node, pure: frozenset[str]) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("assignment_expression", "update_expression"):
            return False
        if current.type == "call_expression":
            function = current.child_by_field_name("function")
            if function is None or text(function) not in pure:
                return False
        stack.extend(current.named_children)
    return True


def evaluate(f: Formula, facts: Facts) -> bool | None:
    if f.op == "atom":
        if (f.atom, True) in facts:
            return True
        if (f.atom, False) in facts:
            return False
        return None
    if f.op == "not" and f.left is not None:
        value = evaluate(f.left, facts)
        return None if value is None else not value
    if f.op in ("and", "or") and f.left is not None and f.right is not None:
        left, right = evaluate(f.left, facts), evaluate(f.right, facts)
        if f.op == "and":
            if left is False or right is False:
                return False
            return True if left and right else None
        if left is True or right is True:
            return True
        return False if left is False and right is False else None
    return None


def assume(f: Formula, value: bool, facts: Facts, tracked: frozenset[str]) -> Facts | None:
    """The facts on the branch where ``f`` is ``value``; None if the branch is impossible."""
    known = evaluate(f, facts)
    if known is not None:
        return facts if known == value else None
    if f.op == "atom":
        return facts | {(f.atom, value)} if f.atom in tracked else facts
    if f.op == "not" and f.left is not None:
        return assume(f.left, not value, facts, tracked)
    if f.op in ("and", "or") and f.left is not None and f.right is not None:
        both = (f.op == "and") == value
        if both:
            step = assume(f.left, value, facts, tracked)
            return None if step is None else assume(f.right, value, step, tracked)
        # One side decides: only known when the other side is known the other way.
        left = evaluate(f.left, facts)
        right = evaluate(f.right, facts)
        if left is not None and left != value:
            return assume(f.right, value, facts, tracked)
        if right is not None and right != value:
            return assume(f.left, value, facts, tracked)
    return facts


def forget(facts: Facts, target: str) -> Facts:
    """Facts that survive an assignment to ``target`` (a variable or an lvalue text)."""
    if not facts:
        return facts
    simple = bool(_IDENTIFIER.match(target))
    kept = frozenset(
        (atom, value)
        for atom, value in facts
        if not (target in _roots(atom) if simple else target in atom)
    )
    return kept if len(kept) != len(facts) else facts


@functools.lru_cache(maxsize=65536)
def _roots(atom: str) -> frozenset[str]:
    # Every assignment on every path asks this of every fact: the atoms repeat.
    return frozenset(_ROOT.findall(atom))


@functools.lru_cache(maxsize=65536)
def constant_truth(value: str) -> bool | None:
    squashed = value.strip()
    if _ERRNO_CONSTANT.match(squashed):
        return True  # -ENOMEM and friends are non-zero
    if not _CONSTANT.match(squashed):
        return None
    if squashed in ("NULL", "false"):
        return False
    if squashed == "true":
        return True
    number = c_integer(squashed.removeprefix("-"))
    return None if number is None else number != 0
