"""What one function says about how thread and group state relate.

Read from a function's accesses (its own, and its callees' through their summaries):

* written together: it sets a per-thread fact and a group fact of the same task;
* in sequence: one is set in its body and the other by a callee on the same task,
  or each by one of two callees (the exit and kill paths);
* tested together: both are asked about the same task as alternatives (``||``, or
  sibling ``if``s leaving the same way);
* set after test: the group fact is asked and the thread fact then set.

Plus who writes each per-thread fact (its owners).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import tree_sitter

from patchlint.rules.taskscope.extract import FunctionReading, Site, text
from patchlint.rules.taskscope.model import Access, Evidence, Fact, Loc, Summary, Where
from patchlint.rules.taskscope.scopes import ScopeModel

Node = tree_sitter.Node
Anchor = tuple[str, tuple[str, ...]]
_JUMPS = frozenset({"return_statement", "continue_statement", "break_statement", "goto_statement"})


def is_accessor(summary: Summary) -> bool:
    """Small functions that only reach a member or two of their arguments (flag
    accessors, predicates): a fact written through one is written by the caller."""
    if summary.wakes or summary.walk_wakes:
        return False
    return summary.breadth <= 2


def is_thin(summary: Summary) -> bool:
    """An accessor of a single fact (``test_tsk_thread_flag()``, ``tsk_is_oom_victim()``):
    a test through it is the caller's own test."""
    return not summary.wakes and not summary.walk_wakes and summary.breadth <= 1


def anchor_of(loc: Loc, model: ScopeModel) -> Anchor | None:
    """The task whose state a location is: the last task struct on its path."""
    task = model.roots.task
    last = None
    for index in range(len(loc.path)):
        if loc.chain[index] == task:
            last = index
    if last is not None:
        return (loc.base, loc.path[:last])
    if loc.base == "current":
        return ("current", ())
    return None


def fact_of(site: Site, model: ScopeModel) -> Fact | None:
    loc = site.access.loc
    holder, member = loc.holder, loc.member
    scope = model.scope_of(holder)
    if scope is None or holder is None or member is None:
        return None
    bit = site.access.bit
    if bit is not None and bit.startswith("$"):
        return None
    return Fact(scope, holder, member, bit)


@dataclass
class Seen:
    """One access of a function, classified."""

    fact: Fact
    anchor: Anchor
    depth: int  # calls that are not accessors between the function and the access
    access: Access

    @property
    def op(self) -> str:
        return self.access.op

    @property
    def first_call(self) -> str:
        return self.access.via.split(">", 1)[0]


@dataclass
class Observed:
    """A function's classified accesses and the syntax relations between them; the
    nodes are not kept, so a whole tree's worth can be held until the end."""

    name: str
    path: str
    seen: list[Seen]
    alternatives: set[tuple[int, int]]  # (thread test, group test) asked as alternatives
    guards: set[tuple[int, int]]  # (group test, thread write) written under the test


def bit_setters(summary: Summary) -> set[tuple[str, str]]:
    """(function, member) for each member the function is handed the bit of."""
    return {
        (summary.name, a.loc.member)
        for a in summary.accesses
        if a.bit is not None and a.bit.startswith("$") and a.loc.member is not None
    }


def hops(access: Access, accessors: AbstractSet[str], setters: AbstractSet[tuple[str, str]]) -> int:
    """Calls between a function and an access that are not accessors: an accessor
    reaches a fact or two, or is handed the very bit it sets
    (``task_set_jobctl_pending(t, JOBCTL_STOP_PENDING)`` sets the caller's bit)."""
    member = access.loc.member or ""
    return sum(
        1
        for name in access.via.split(">")
        if name and name not in accessors and (name, member) not in setters
    )


def observe(
    reading: FunctionReading,
    model: ScopeModel,
    accessors: AbstractSet[str],
    path: str,
    setters: AbstractSet[tuple[str, str]] = frozenset(),
) -> Observed:
    seen: list[Seen] = []
    nodes: list[Node] = []
    for site in reading.sites:
        fact = fact_of(site, model)
        anchor = anchor_of(site.access.loc, model)
        if fact is None or anchor is None:
            continue
        depth = hops(site.access, accessors, setters)
        seen.append(Seen(fact, anchor, depth, site.access))
        nodes.append(site.node)
    observed = Observed(reading.name, path, seen, set(), set())
    tests = [i for i, s in enumerate(seen) if s.op == "read" and s.access.cond and s.depth == 0]
    writes = [i for i, s in enumerate(seen) if s.op in ("set", "clear") and s.depth == 0]
    for t in tests:
        if seen[t].fact.scope != "thread":
            continue
        for g in tests:
            if seen[g].fact.scope == "group" and seen[g].anchor == seen[t].anchor:
                if alternatives(nodes[t], nodes[g]):
                    observed.alternatives.add((t, g))
    for g in tests:
        if seen[g].fact.scope != "group":
            continue
        for t in writes:
            if seen[t].fact.scope == "thread" and seen[t].anchor == seen[g].anchor:
                if seen[g].access.pos < seen[t].access.pos and guards(nodes[g], nodes[t]):
                    observed.guards.add((g, t))
    return observed


@dataclass
class Pairing:
    thread: Fact
    group: Fact
    evidence: Evidence


# A function that writes more facts than this does several things (it creates or tears
# down a task): writing two of them there says little about their meaning.
SPECIFIC = 3


def normalised(fact: Fact, plain: bool, flag_words: AbstractSet[tuple[str, str]]) -> Fact:
    """A constant assigned to a member that is never tested bit by bit is a value
    (``exit_state = EXIT_ZOMBIE``), not a flag."""
    if fact.bit and plain and (fact.holder, fact.member) not in flag_words:
        return Fact(fact.scope, fact.holder, fact.member)
    return fact


def pairings(observed: Observed, flag_words: AbstractSet[tuple[str, str]]) -> Iterator[Pairing]:
    seen = [
        Seen(normalised(s.fact, s.access.plain, flag_words), s.anchor, s.depth, s.access)
        for s in observed.seen
    ]
    written = {
        (scope, depth): _written(seen, scope, depth)
        for scope in ("thread", "group")
        for depth in (0, 1)
    }
    for ti, t in enumerate(seen):
        if t.fact.scope != "thread":
            continue
        for gi, g in enumerate(seen):
            if g.fact.scope != "group" or t.anchor != g.anchor:
                continue
            kind = _kind(ti, t, gi, g, observed)
            if kind in ("written-together", "sequence"):
                depth = 0 if kind == "written-together" else 1
                threads, groups = written[("thread", depth)], written[("group", depth)]
                if len(threads) > SPECIFIC or len(groups) > SPECIFIC:
                    continue
                if kind == "written-together" and (len(threads), len(groups)) != (1, 1):
                    kind = "written-with-others"
            if kind is None:
                continue
            line = min(t.access.line, g.access.line)
            where = Where(observed.path, line, observed.name)
            yield Pairing(
                t.fact, g.fact, Evidence(kind, _describe(kind, t, g, observed.name), where)
            )


def _written(seen: list[Seen], scope: str, depth: int) -> set[Fact]:
    return {
        s.fact
        for s in seen
        if s.fact.scope == scope and s.depth <= depth and s.op in ("set", "clear")
    }


def _kind(ti: int, t: Seen, gi: int, g: Seen, observed: Observed) -> str | None:
    t_write = t.op in ("set", "clear")
    if t_write and g.op == "set":
        if t.depth == 0 and g.depth == 0:
            return "written-together"
        if max(t.depth, g.depth) == 1 and (t.first_call != g.first_call or t.depth != g.depth):
            return "sequence"
        return None
    if (ti, gi) in observed.alternatives:
        return "tested-together"
    if (gi, ti) in observed.guards:
        return "set-after-test"
    return None


def _describe(kind: str, t: Seen, g: Seen, function: str) -> str:
    tn, gn = t.fact.name, g.fact.name
    if kind in ("written-together", "written-with-others"):
        return f"{function}() sets {tn} and {gn} of the same task"
    if kind == "sequence":
        first, second = (t, g) if t.access.pos <= g.access.pos else (g, t)
        return f"{function}() sets {_how(first)} then {_how(second)} on the same task"
    if kind == "tested-together":
        return f"{function}() asks {gn} and {tn} of the same task as alternatives"
    return f"{function}() asks {gn} before setting {tn}"


def _how(seen: Seen) -> str:
    return f"{seen.fact.name} (in {seen.first_call}())" if seen.depth else seen.fact.name


def flag_words_of(observed: Observed) -> set[tuple[str, str]]:
    """Members tested or changed bit by bit (``& BIT``, ``|= BIT``, bit operations)."""
    return {
        (s.fact.holder, s.fact.member) for s in observed.seen if s.fact.bit and not s.access.plain
    }


# --------------------------------------------------------------------- syntax


def condition_root(node: Node) -> Node | None:
    child, parent = node, node.parent
    while parent is not None:
        if parent.type in ("if_statement", "while_statement", "for_statement", "do_statement"):
            return child if parent.child_by_field_name("condition") == child else None
        if parent.type == "return_statement":
            return child
        if parent.type in ("expression_statement", "compound_statement", "declaration"):
            return None
        child, parent = parent, parent.parent
    return None


def _same(a: Node | None, b: Node | None) -> bool:
    return (
        a is not None and b is not None and (a.start_byte, a.end_byte) == (b.start_byte, b.end_byte)
    )


def _joined_by_or(a: Node, b: Node, root: Node) -> bool:
    """The nearest expression holding both is an ``||``."""
    common: Node | None = a
    while common is not None and not (
        common.start_byte <= b.start_byte and b.end_byte <= common.end_byte
    ):
        common = common.parent
    while common is not None and common.type == "parenthesized_expression":
        common = common.parent
    return (
        common is not None
        and common.type == "binary_expression"
        and text(common.child_by_field_name("operator")) == "||"
        and root.start_byte <= common.start_byte
    )


def _enclosing_if(node: Node) -> Node | None:
    root = condition_root(node)
    if root is None or root.parent is None or root.parent.type != "if_statement":
        return None
    return root.parent


def _exit(statement: Node | None) -> str | None:
    while statement is not None and statement.type == "compound_statement":
        if statement.named_child_count != 1:
            return None
        statement = statement.named_children[0]
    if statement is None or statement.type not in _JUMPS:
        return None
    return " ".join(text(statement).split())


def alternatives(a: Node, b: Node) -> bool:
    """Two tests that answer the same question the same way."""
    root_a, root_b = condition_root(a), condition_root(b)
    if root_a is not None and _same(root_a, root_b):
        return _joined_by_or(a, b, root_a)
    if_a, if_b = _enclosing_if(a), _enclosing_if(b)
    if if_a is None or if_b is None:
        return False
    exit_a = _exit(if_a.child_by_field_name("consequence"))
    return exit_a is not None and exit_a == _exit(if_b.child_by_field_name("consequence"))


def guards(test: Node, write: Node) -> bool:
    """``write`` runs under the ``if`` whose condition holds ``test``."""
    owner = _enclosing_if(test)
    if owner is None:
        return False
    consequence = owner.child_by_field_name("consequence")
    return consequence is not None and (
        consequence.start_byte <= write.start_byte and write.end_byte <= consequence.end_byte
    )
