"""What the code a test decides does with the tested task, and what a task stored in a
struct stands for.

Shared by the thread-group rules.  A test decides the branches of its ``if`` (and, when
its branch only leaves - ``return``, ``goto``, ``continue`` - the rest of the block
after it).  The code there either works on the task's own per-thread state (its
members, or callees that work on them: ``Summary.thread_params``) or on its group's.
A task pointer kept in a struct member is read as what the file stores there: the
running thread (``ubq->ubq_daemon = current``) or a process
(``proc->tsk = get_task_struct(current->group_leader)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from patchlint.rules.taskscope.evidence import Anchor, condition_root
from patchlint.rules.taskscope.extract import Call, strip, text
from patchlint.rules.taskscope.syntax import call_args
from patchlint.rules.taskscope.view import FunctionView, Located, Node, TaskView
from patchlint.rules.thread_group_facts import anchor_of_group

_JUMPS = ("return_statement", "goto_statement", "continue_statement", "break_statement")
Stored = Literal["thread", "process"]


Ranges = tuple[tuple[int, int], ...]


def _within(ranges: Ranges, first: int, last: int) -> bool:
    return any(start <= first and last <= end for start, end in ranges)


@dataclass(frozen=True)
class Region:
    """Byte ranges of code that runs only on one outcome of a test: when the condition
    holds (its branch) and when it does not (the ``else``, or the rest of the block
    when the branch leaves)."""

    taken: Ranges
    skipped: Ranges

    def contains(self, node: Node) -> bool:
        return self.covers(node.start_byte, node.end_byte)

    def covers(self, first: int, last: int) -> bool:
        return _within(self.taken + self.skipped, first, last)

    def one_outcome(self, nodes: list[Node]) -> bool:
        """All of ``nodes`` run on one outcome only (and there is one)."""
        inside = [
            (
                _within(self.taken, n.start_byte, n.end_byte),
                _within(self.skipped, n.start_byte, n.end_byte),
            )
            for n in nodes
        ]
        return bool(inside) and (all(t for t, _ in inside) or all(s for _, s in inside))


def _leaves(statement: Node | None) -> Node | None:
    """The jump a statement ends with (itself, or a block's last statement)."""
    while statement is not None and statement.type == "compound_statement":
        named = [c for c in statement.named_children if c.type != "comment"]
        if not named:
            return None
        statement = named[-1]
    return statement if statement is not None and statement.type in _JUMPS else None


def _lands_in(jump: Node, start: int, end: int) -> bool:
    """A ``goto`` whose label lies in ``start``..``end``: that code runs after the jump."""
    if jump.type != "goto_statement":
        return False
    label = text(jump.child_by_field_name("label"))
    root = jump
    while root.parent is not None:
        root = root.parent
    stack = [root]
    while stack:
        node = stack.pop()
        if node.end_byte <= start or node.start_byte >= end:
            continue
        if node.type == "labeled_statement" and text(node.child_by_field_name("label")) == label:
            return True
        stack.extend(node.named_children)
    return False


def decided_region(node: Node) -> Region | None:
    """The code that runs only on one outcome of the ``if`` whose condition holds
    ``node``: its branches, and the rest of the block when the taken branch leaves."""
    root = condition_root(node)
    owner = root.parent if root is not None else None
    if owner is None or owner.type != "if_statement":
        return None
    consequence = owner.child_by_field_name("consequence")
    alternative = owner.child_by_field_name("alternative")
    taken = () if consequence is None else ((consequence.start_byte, consequence.end_byte),)
    skipped: Ranges = ()
    if alternative is not None:
        skipped = ((alternative.start_byte, alternative.end_byte),)
    block = owner.parent
    jump = _leaves(consequence)
    if jump is not None and block is not None and block.type == "compound_statement":
        if not _lands_in(jump, owner.end_byte, block.end_byte):
            skipped += ((owner.end_byte, block.end_byte),)
    return Region(taken, skipped) if taken or skipped else None


def _is_link(view: TaskView, located: Located) -> bool:
    """``p->signal``, ``p->mm``, ``p->parent``: the way to other state, not state."""
    fact = located.fact
    target = view.model.target(fact.holder, fact.member)
    return fact.bit is None and view.model.scope_of(target) is not None


@dataclass(frozen=True)
class ThreadWork:
    """Per-thread state of the task the decided code works on."""

    what: str
    node: Node


def thread_work(
    view: TaskView, fv: FunctionView, anchor: Anchor, region: Region
) -> ThreadWork | None:
    """The decided code works on the task's own per-thread state and on nothing of its
    group (a group member, a walk over its threads): the decision is about the thread."""
    found: ThreadWork | None = None
    for item in fv.located:
        if item.anchor != anchor or not region.contains(item.node):
            continue
        if item.fact.scope == "group":
            return None
        if item.fact.scope == "thread" and not _is_link(view, item) and found is None:
            verb = "reads" if item.site.access.op == "read" else "changes"
            found = ThreadWork(f"{verb} {item.fact.name}", item.node)
    for walk in fv.reading.walks:
        group = walk.group
        if group is not None and region.covers(walk.start, walk.end):
            if anchor_of_group(view, group.base, group.path, group.chain) == anchor:
                return None  # it walks the task's threads: a group matter
    for call in fv.reading.calls:
        if not region.contains(call.node):
            continue
        position = _position_of(view, call, anchor)
        summary = view.summary(call.name) if position is not None else None
        if summary is not None and position in summary.thread_params and found is None:
            found = ThreadWork(
                f"hands it to {call.name}(), which works on its own state", call.node
            )
    return found


def _position_of(view: TaskView, call: Call, anchor: Anchor) -> int | None:
    for position, loc in enumerate(call.locs):
        if loc is not None and (loc.base, loc.path) == anchor:
            return position
    return None


def sets_thread_fact(
    fv: FunctionView, anchor: Anchor, names: set[str], region: Region
) -> Located | None:
    """The test decides whether one of the per-thread facts ``names`` of the task is
    set or cleared: every write of it in the function runs on one outcome only
    (``if (...) exit_oom_victim();``), not on both (exit_signals() sets PF_EXITING
    either way and only decides how)."""
    writes = [
        item
        for item in fv.located
        if item.anchor == anchor
        and item.fact.name in names
        and item.site.access.op in ("set", "clear")
    ]
    if writes and region.one_outcome([item.node for item in writes]):
        return writes[0]
    return None


# ------------------------------------------------------------------ stored tasks


def stored_as(
    view: TaskView, anchor: Anchor, cache: dict[str, object]
) -> tuple[Stored, str, int] | None:
    """What the task at ``anchor`` is, when it is read from a struct member."""
    _base, path = anchor
    return stored_in_member(view, path[-1], cache) if path else None


def stored_in_member(
    view: TaskView, member: str, cache: dict[str, object]
) -> tuple[Stored, str, int] | None:
    """What the file fills the struct member ``member`` with: the running thread
    (``x->m = current``) or a process (``x->m = ...->group_leader``); None when it does
    both, or neither.  Returns (kind, the function storing it, line)."""
    key = f"taskscope:stored:{member}"
    cached = cache.get(key)
    if isinstance(cached, tuple):
        return cached
    if cached is False:
        return None
    found = _stored(view, member)
    cache[key] = found if found is not None else False
    return found


def _stored(view: TaskView, member: str) -> tuple[Stored, str, int] | None:
    source = view.source
    data = source.text
    kinds: dict[Stored, tuple[str, int]] = {}
    for match in re.finditer(rf"(?:->|\.)\s*{re.escape(member)}\s*=(?!=)", data):
        offset = len(data[: match.start()].encode())
        node = source.tree.root_node.descendant_for_byte_range(offset, offset)
        while node is not None and node.type != "assignment_expression":
            node = node.parent
        if node is None:
            continue
        left = node.child_by_field_name("left")
        if left is None or left.type != "field_expression":
            continue
        if text(left.child_by_field_name("field")) != member:
            continue
        kind = _value_kind(view, node.child_by_field_name("right"))
        if kind is not None:
            name = next(
                (
                    fn.name
                    for fn in source.functions
                    if fn.start_byte <= node.start_byte < fn.end_byte
                ),
                "",
            )
            kinds.setdefault(kind, (name, node.start_point[0] + 1))
    if len(kinds) != 1:
        return None
    ((kind, (name, line)),) = kinds.items()
    return kind, name, line


def _value_kind(view: TaskView, value: Node | None) -> Stored | None:
    """``current`` (maybe through a call handing its argument back, like
    get_task_struct()) is a thread; a process link (``current->group_leader``), or an
    object of the group a callee returns (``task_tgid(current)``, the process's pid),
    a process."""
    value = strip(value)
    while value is not None and value.type == "call_expression":
        args = call_args(value)
        function = value.child_by_field_name("function")
        summary = view.summary(text(function)) if function is not None else None
        if len(args) != 1 and (summary is None or summary.returns is None):
            return None
        if summary is not None and summary.returns is not None:
            returned = summary.returns
            scope = view.model.scope_of(returned.holder)
            if returned.path and scope == "group" and returned.struct != view.model.roots.task:
                return "process"  # task_tgid(p): an object of p's process (its pid)
            base = summary.returns.base
            index = int(base[1:]) if base.startswith("$") and not summary.returns.path else None
            if index is None or index >= len(args):
                return None
            value = strip(args[index])
        elif len(args) == 1:
            value = strip(args[0])
    if value is None:
        return None
    spelled = text(value)
    current = view.model.roots.current
    if spelled in current:
        return "thread"
    if value.type == "field_expression":
        holder = strip(value.child_by_field_name("argument"))
        field = text(value.child_by_field_name("field"))
        if field in view.model.roots.process_links and text(holder) in current:
            return "process"  # current->group_leader (other structs have such members)
    return None
