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
from collections.abc import Mapping
from dataclasses import dataclass

from tree_sitter import Node

from patchlint.analysis.calls import text
from patchlint.analysis.identity import Resolver, roots
from patchlint.source import FunctionDef, c_integer

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


# ---------------------------------------------------------------- argument conditions

# One test of a parameter on the way to a sleep: (its position, the constant it is
# masked with, "" for the value itself, the outcome the path needs). `if (sync)` is
# (1, "", True); `if (flags & ADBREQ_NOSEND) return;` before the sleep is
# (2, "ADBREQ_NOSEND", False).
Atom = tuple[int, str, bool]
# The tests a path to one sleeping call passes, all needed.
Conjunction = tuple[Atom, ...]
# Each sleeping site's conjunction: the function sleeps when one of them holds. None
# when unknown.
Condition = tuple[Conjunction, ...] | None
# A test of an input in another form (a field, a computed local, a parameter the
# function writes): the caller's arguments do not decide it.
UNDECIDED: Atom = (-1, "", True)

_ASSIGNMENT = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)\s*=(?!=)\s*([^;]+);")
_EXITS = frozenset({"return_statement", "goto_statement", "break_statement", "continue_statement"})
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")
_DEFINE = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+\(?[ \t]*"
    r"(?:(0x[0-9a-fA-F]+|\d+)[uUlL]*|BIT\((\d+)\)|1[uUlL]*[ \t]*<<[ \t]*(\d+))[ \t]*\)?[ \t]*$",
    re.MULTILINE,
)
_NUMBER = re.compile(r"^(?:0x[0-9a-fA-F]+|\d+)[uUlL]*$")


def _parameter_positions(fn: FunctionDef) -> dict[str, int]:
    return {name: position for position, name in enumerate(fn.params)}


def _assigned(fn: FunctionDef, name: str) -> bool:
    """Whether the function writes (or takes the address of) a parameter: a test of it
    then no longer tells what the caller passed."""
    body = text(fn.body) if fn.body is not None else ""
    word = rf"(?<![\w>.]){re.escape(name)}\b"
    pattern = (
        rf"(?:\+\+|--)\s*{word}|[(,=]\s*&\s*{word}(?!\s*(?:->|\.|\[))"
        rf"|{word}\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)|{word}\s*(?:\+\+|--)"
    )
    return re.search(pattern, body) is not None


def strip_parentheses(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


def operator_of(node: Node) -> str:
    operator = node.child_by_field_name("operator")
    return text(operator) if operator is not None else ""


def _atoms(node: Node, positions: dict[str, int], inputs: set[str], outcome: bool) -> list[Atom]:
    """The parameter tests ``node`` evaluating to ``outcome`` implies, all needed; []
    when it tests no input; UNDECIDED for a test of one in another form."""
    node = strip_parentheses(node)
    if not inputs & set(_INPUT.findall(text(node))):
        return []
    if node.type == "unary_expression" and operator_of(node) == "!":
        argument = node.child_by_field_name("argument")
        return _atoms(argument, positions, inputs, not outcome) if argument else [UNDECIDED]
    if node.type == "identifier" and text(node) in positions:
        return [(positions[text(node)], "", outcome)]
    if node.type != "binary_expression":
        return [UNDECIDED]
    operator = operator_of(node)
    left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
    if left is None or right is None:
        return [UNDECIDED]
    if (operator == "&&" and outcome) or (operator == "||" and not outcome):
        return _atoms(left, positions, inputs, outcome) + _atoms(right, positions, inputs, outcome)
    if operator == "&":
        for value, mask in ((left, right), (right, left)):
            value = strip_parentheses(value)
            if value.type == "identifier" and text(value) in positions and _constant(text(mask)):
                return [(positions[text(value)], squash_spaces(text(mask)), outcome)]
    return [UNDECIDED]


def squash_spaces(value: str) -> str:
    return re.sub(r"\s+", "", value)


def exit_statement(statement: Node) -> bool:
    last = statement
    if last.type == "compound_statement":
        if not last.named_children:
            return False
        last = last.named_children[-1]
    return last.type in _EXITS


def derived_inputs(fn: FunctionDef, inputs: set[str]) -> set[str]:
    """Inputs, and locals assigned from expressions that read one
    (`timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT)`)."""
    body = text(fn.body) if fn.body is not None else ""
    found = set(inputs)
    assignments = _ASSIGNMENT.findall(body)
    for _round in range(2):
        for name, value in assignments:
            if name not in found and found & set(_INPUT.findall(value)):
                found.add(name)
    return found


def short_circuit_guarded(node: Node, fn: FunctionDef, inputs: set[str]) -> bool:
    """Whether the call is the right operand of `&&`/`||` whose left one reads an
    input, or a local computed from one (`timeo && !wait_for_more_packets(...)`),
    without calling anything (`hwreset(adapter, hard) && initadapter(adapter)` is
    decided by what the first call returns, not by the caller)."""
    current: Node | None = node
    derived: set[str] | None = None
    while current is not None and current.type != "function_definition":
        parent = current.parent
        if (
            parent is not None
            and parent.type == "binary_expression"
            and current == parent.child_by_field_name("right")
            and operator_of(parent) in ("&&", "||")
        ):
            left = parent.child_by_field_name("left")
            derived = derived if derived is not None else derived_inputs(fn, inputs)
            if left is not None and _reads_without_calls(left, derived):
                return True
        current = parent
    return False


def _reads_without_calls(node: Node, names: set[str]) -> bool:
    if not names & set(_INPUT.findall(text(node))):
        return False
    pending = [node]
    while pending:
        current = pending.pop()
        if current.type == "call_expression":
            return False
        pending.extend(current.named_children)
    return True


def argument_condition(
    node: Node, fn: FunctionDef, inputs: set[str], zeroed: frozenset[str] = frozenset()
) -> Conjunction:
    """What the parameters must be for the call at ``node`` to run: the tests of the
    branches around it, of the left operand of `&&`/`||` it is the right one of, and
    of the early exits before it. A test of an input another way (a field, a computed
    local, a parameter the function writes) is UNDECIDED; loop conditions are not
    read (the body runs again after the test). Tests above a label do not dominate
    the call (a `goto` may land there from anywhere): they are not read. A test of
    a field of an object this function allocated zeroed (``zeroed``, the allocators'
    names) passes only where the field was set: it needs the tests of the one
    assignment of that field (`if (!node) c->wq = alloc(...); ... if (c->wq) ...`)."""
    positions = _parameter_positions(fn)
    derived: set[str] | None = None
    found: list[Atom] = []
    current: Node | None = node
    while current is not None and current.type != "function_definition":
        parent = current.parent
        if parent is None:
            break
        if current.type == "labeled_statement":
            break
        atoms: list[Atom] = []
        condition = parent.child_by_field_name("condition")
        if parent.type in ("if_statement", "conditional_expression") and condition is not None:
            if current == parent.child_by_field_name("consequence"):
                atoms = _atoms(condition, positions, inputs, True)
                if not atoms and zeroed:
                    atoms = _field_set_condition(condition, fn, inputs, zeroed)
            elif current != condition:
                atoms = _atoms(condition, positions, inputs, False)
        elif parent.type == "binary_expression" and current == parent.child_by_field_name("right"):
            operator = operator_of(parent)
            left = parent.child_by_field_name("left")
            if operator in ("&&", "||") and left is not None:
                derived = derived if derived is not None else derived_inputs(fn, inputs)
                atoms = _atoms(left, positions, derived, operator == "&&")
        elif parent.type == "compound_statement":
            sibling = current.prev_named_sibling
            while sibling is not None and sibling.type != "labeled_statement":
                test = sibling.child_by_field_name("condition")
                consequence = sibling.child_by_field_name("consequence")
                if (
                    sibling.type == "if_statement"
                    and test is not None
                    and consequence is not None
                    and sibling.child_by_field_name("alternative") is None
                    and exit_statement(consequence)
                ):
                    atoms += _atoms(test, positions, inputs, False)
                sibling = sibling.prev_named_sibling
        found.extend(atoms)
        current = parent
    written = {p for p, _m, _o in found if p >= 0 and _assigned(fn, fn.params[p])}
    return tuple(dict.fromkeys(UNDECIDED if atom[0] in written else atom for atom in found))


def _field_set_condition(
    condition: Node, fn: FunctionDef, inputs: set[str], zeroed: frozenset[str]
) -> list[Atom]:
    """`if (c->wq)` where ``c`` is a local allocated zeroed, assigned once, and its
    field ``wq`` assigned once before the test, with ``c`` passed to no call in
    between (but in a block that returns): the tests that lead to that assignment."""
    test = strip_parentheses(condition)
    if test.type != "field_expression" or fn.body is None:
        return []
    holder = test.child_by_field_name("argument")
    if holder is None or holder.type != "identifier" or text(holder) in inputs:
        return []
    local, target = text(holder), squash_spaces(text(test))
    body = text(fn.body)
    if not any(name in body for name in zeroed):
        return []  # the common case, without walking the body
    allocations: list[Node] = []
    settings: list[Node] = []
    passing: list[Node] = []
    pending = [fn.body]
    while pending:
        current = pending.pop()
        pending.extend(current.named_children)
        if current.type in ("assignment_expression", "init_declarator"):
            left = current.child_by_field_name("left" if current.type[0] == "a" else "declarator")
            right = current.child_by_field_name("right" if current.type[0] == "a" else "value")
            written = squash_spaces(text(left)).lstrip("*") if left is not None else ""
            if written == local:
                allocations.append(right if right is not None else current)
            elif written == target:
                settings.append(current)
        elif current.type == "call_expression":
            arguments = current.child_by_field_name("arguments")
            names = [
                squash_spaces(text(a)) for a in (arguments.named_children if arguments else [])
            ]
            if local in names or f"&{target}" in names:
                passing.append(current)
    if len(allocations) != 1 or len(settings) != 1:
        return []
    allocation, setting = strip_parentheses(allocations[0]), settings[0]
    function = allocation.child_by_field_name("function")
    if allocation.type != "call_expression" or function is None or text(function) not in zeroed:
        return []
    if not allocation.start_byte < setting.start_byte < test.start_byte:
        return []
    for call in passing:
        if allocation.end_byte <= call.start_byte < test.start_byte and not _returns_after(
            call, test
        ):
            return []
    return [atom for atom in argument_condition(setting, fn, inputs) if atom != UNDECIDED]


def _returns_after(node: Node, test: Node) -> bool:
    """Whether ``node`` is in a block, not around ``test``, that ends in a return."""
    current = node.parent
    while current is not None and current.type != "function_definition":
        if (
            current.type == "compound_statement"
            and current.named_children
            and current.named_children[-1].type == "return_statement"
            and not current.start_byte <= test.start_byte < current.end_byte
        ):
            return True
        current = current.parent
    return False


def _atom_value(atom: Atom, argument: str, values: Mapping[str, int] | None) -> bool | None:
    """The test's outcome when the caller passes ``argument`` (a constant), if known
    (flag names by the values the caller's file defines them to)."""
    _position, mask, _outcome = atom
    value = squash_spaces(argument)
    if values:
        value = _NAME.sub(lambda m: str(values.get(m.group(0), m.group(0))), value)
        mask = _NAME.sub(lambda m: str(values.get(m.group(0), m.group(0))), mask)
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1]
    if value in ("0", "false", "NULL", "0U", "0UL"):
        return False
    if not mask:
        if value in ("true",) or (_NUMBER.match(value) and c_integer(value)):
            return True
        return None
    parts = value.split("|")
    if mask in parts and not _NUMBER.match(mask):
        return True
    numbers = [c_integer(p) if _NUMBER.match(p) else None for p in [*parts, mask]]
    if all(number is not None for number in numbers):
        combined = 0
        for number in numbers[:-1]:
            combined |= number or 0
        return bool(combined & (numbers[-1] or 0))
    return None


@dataclass(frozen=True)
class CallFacts:
    """What one call passes, as far as it can be judged away from the caller: its
    constant arguments (others are ""), and the positions of arguments its path
    says are not NULL."""

    args: tuple[str, ...]
    nonnull: frozenset[int] = frozenset()


def call_facts(args: tuple[str, ...], nonnull: frozenset[int]) -> CallFacts:
    return CallFacts(tuple(a if _constant(a) else "" for a in args), nonnull)


# What a call's arguments make of a callee's condition.
NEVER = "never"  # no sleeping path is open for these arguments
ALWAYS = "always"  # a sleeping path's tests all pass for these arguments
# The constants pass every test of theirs on a sleeping path, which other tests (of
# objects' state) still guard: as open as for a caller passing variables.
OPEN = "open"


def decide(
    condition: Condition,
    args: tuple[str, ...],
    caller: FunctionDef | None,
    values: Mapping[str, int] | None = None,
    nonnull: frozenset[int] = frozenset(),
) -> str | Condition:
    """NEVER, ALWAYS, OPEN, or the condition left over the caller's own parameters
    (an argument that is one of them passes its test on), None when unknown.
    ``nonnull``: positions of arguments the caller's path says are not NULL (see
    ``nonnull_arguments``): a test of the value itself (`if (!node)`) is decided."""
    if condition is None:
        return None
    positions = _parameter_positions(caller) if caller is not None else {}
    left: list[Conjunction] = []
    unknown = False
    opened = False
    for conjunction in condition:
        remaining: list[Atom] = []
        dead = False
        undecided = False
        passed = False
        unjudged = False  # a test of a parameter whose argument could not be judged
        for atom in conjunction:
            position, mask, outcome = atom
            argument = args[position].strip() if 0 <= position < len(args) else ""
            if position < 0:
                undecided = True
            elif position in nonnull and not mask:
                if not outcome:
                    dead = True
                    break
                passed = True
            elif argument and _constant(argument):
                value = _atom_value(atom, argument, values)
                if value is None:
                    undecided = unjudged = True
                elif value != outcome:
                    dead = True
                    break
                else:
                    passed = True
            elif caller is not None and argument in positions and not _assigned(caller, argument):
                remaining.append((positions[argument], mask, outcome))
            else:
                undecided = unjudged = True
        if dead:
            continue
        if undecided:
            # Still open for some values: kept over the caller's parameters when
            # it can be, so that the caller's own callers may close it.
            unknown = unknown or not remaining
            opened = opened or (passed and not remaining and not unjudged)
            left.append((*remaining, UNDECIDED))
            continue
        if not remaining:
            return ALWAYS
        left.append(tuple(remaining))
    if not left:
        return NEVER
    if opened:
        return OPEN
    if unknown:
        return None
    return tuple(left)


def flag_values(source_text: str) -> dict[str, int]:
    """The numeric object-like macros a file defines (`#define REQ_SYNC 2`, `BIT(3)`,
    `(1 << 4)`): what a caller's flag arguments stand for."""
    found: dict[str, int] = {}
    for name, number, bit, shift in _DEFINE.findall(source_text):
        if number:
            value = c_integer(number)
            if value is not None:
                found[name] = value
        else:
            found[name] = 1 << int(bit or shift)
    return found
