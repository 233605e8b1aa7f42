"""What the code around a per-thread test or a single-thread action says about the task.

Shared by ``thread-flag-as-group`` and ``thread-action-on-group``.  Everything is
read from the function (through the task-scope reader) and its callers: whether a
task stands for a whole process (a process-walk cursor, the process link, a task
looked up by a group pid type, a parameter filled from one), whether the code around
asks or changes group state of it, walks its threads, or acts on it as a process.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Evidence
from patchlint.rules.taskscope.evidence import (
    Anchor,
    alternatives,
    anchor_of,
    bit_setters,
    condition_root,
    is_accessor,
    is_thin,
)
from patchlint.rules.taskscope.extract import Call, WalkRegion, strip, text
from patchlint.rules.taskscope.model import Fact, Loc, ThreadFact
from patchlint.rules.taskscope.view import FunctionView, Located, Node, TaskView
from patchlint.rules.taskscope.walkers import callers_passing
from patchlint.rules.taskstate import squash
from patchlint.units import AnalysisUnit

MAX_CALLER_DEPTH = 3
MAX_CALLER_FILES = 40


def line_of(node: Node) -> int:
    return node.start_point[0] + 1


def test_key(view: TaskView, located: Located) -> str:
    """The finding key of a test: its spelling (a mask names only the bit tested), so
    moving or reformatting it keeps the key."""
    node = located.node
    spelled = squash(view.source.node_text(node))
    if node.type == "binary_expression" and located.fact.bit:
        left = node.child_by_field_name("left")
        holder = squash(view.source.node_text(left)) if left is not None else spelled
        return f"{holder} & {located.fact.bit}"
    return spelled


def is_current(anchor: Anchor) -> bool:
    return anchor == ("current", ())


def is_link_to_group(view: TaskView, fact: Fact) -> bool:
    """``p->signal`` read as a value: which group the task belongs to."""
    target = view.model.target(fact.holder, fact.member)
    return fact.bit is None and view.model.scope_of(target) == "group"


def thread_walk_at(fv: FunctionView, node: Node, anchor: Anchor) -> WalkRegion | None:
    """``node`` asks about the cursor of a walk over every thread."""
    base, path = anchor
    for walk in fv.reading.walks:
        if walk.every_thread and not path and walk.cursor == base and walk.contains(node):
            return walk
    return None


def process_walk_at(fv: FunctionView, node: Node, anchor: Anchor) -> WalkRegion | None:
    """``node`` asks about the cursor of a walk over processes (one task per process)."""
    base, path = anchor
    for walk in fv.reading.walks:
        if not walk.every_thread and not path and walk.cursor == base and walk.contains(node):
            return walk
    return None


def thread_walk_over(view: TaskView, fv: FunctionView, anchor: Anchor) -> WalkRegion | None:
    """The function walks the threads of ``anchor``'s group."""
    for walk in fv.reading.walks:
        if walk.group is None:
            continue
        group = walk.group
        owner = anchor_of_group(view, group.base, group.path, group.chain)
        if owner == anchor:
            return walk
    return None


def anchor_of_group(
    view: TaskView, base: str, path: tuple[str, ...], chain: tuple[str | None, ...]
) -> Anchor | None:
    task = view.model.roots.task
    if chain and chain[-1] == task:
        return (base, path)
    if path and len(chain) >= 2 and chain[-2] == task:
        return (base, path[:-1])
    return None


def process_link(view: TaskView, anchor: Anchor) -> str | None:
    _base, path = anchor
    if path and path[-1] in view.model.roots.process_links:
        return path[-1]
    return None


def group_lookup(view: TaskView, fv: FunctionView, anchor: Anchor) -> Evidence | None:
    """``task = pid_task(pid, PIDTYPE_TGID)``: looked up as a process."""
    base, path = anchor
    if path or base.startswith("$") or base == "current":
        return None
    group_constants = set(view.knowledge.group_constants.values())
    for call in fv.reading.calls:
        parent = call.node.parent
        while parent is not None and parent.type in ("parenthesized_expression", "cast_expression"):
            parent = parent.parent
        if parent is None:
            continue
        target = None
        if parent.type == "init_declarator":
            target = parent.child_by_field_name("declarator")
        elif parent.type == "assignment_expression":
            target = parent.child_by_field_name("left")
        while target is not None and target.type == "pointer_declarator":
            target = target.child_by_field_name("declarator")
        if target is None or text(target) != base:
            continue
        constants = [text(a).strip() for a in call.args if text(a).strip() in group_constants]
        if constants:
            return Evidence(
                "path",
                f"{base} comes from {call.name}(..., {constants[0]}): looked up as a process",
                None,
                line_of(call.node),
            )
    return None


def passed_process(view: TaskView, fv: FunctionView, anchor: Anchor) -> Evidence | None:
    """A caller in this file passes the cursor of a process walk as the tested parameter."""
    base, path = anchor
    if path or not base.startswith("$"):
        return None
    position = int(base[1:])
    for caller, call in view.callers(fv.fn.name):
        if position >= len(call.args):
            continue
        argument = strip(call.args[position])
        if argument is None or argument.type != "identifier":
            continue
        walk = process_walk_at(caller, call.node, (text(argument), ()))
        if walk is not None:
            return Evidence(
                "caller",
                f"{caller.fn.name}() passes each process of a {walk.name}() walk as "
                f"{fv.reading.params[position]}",
                None,
                line_of(call.node),
            )
    return None


def group_questions(view: TaskView, fv: FunctionView, anchor: Anchor) -> Iterator[Located]:
    """Group state of ``anchor``'s process asked or changed by the function itself
    (directly or through accessors and predicates): state the tree relates to
    per-thread state, not attributes such as limits or ids."""
    state = set(view.knowledge.group_state)
    for item in fv.located:
        if (
            item.anchor == anchor
            and item.fact.scope == "group"
            and item.fact.name in state
            and not item.site.access.addr
            and own_access(view, item)
        ):
            yield item


def counterpart_asked(
    view: TaskView, fv: FunctionView, anchor: Anchor, thread: ThreadFact
) -> Located | None:
    group = thread.counterpart.group
    for item in group_questions(view, fv, anchor):
        if item.fact == group or (
            item.fact.holder == group.holder
            and item.fact.member == group.member
            and group.bit is None
        ):
            return item
    return None


def asked_first(view: TaskView, fv: FunctionView, thread: ThreadFact, node: Node) -> Located | None:
    """The group question was asked before, in the same function (about any task)."""
    group = thread.counterpart.group
    for item in fv.located:
        access = item.site.access
        if (
            item.fact == group
            and access.op == "read"
            and access.cond
            and item.node.end_byte <= node.start_byte
            and own_access(view, item)
        ):
            return item
    return None


def scoped(view: TaskView, fv: FunctionView, located: Located) -> Located | None:
    """``thread_group_empty(task) && (task->flags & PF_EXITING)``: a question about the
    group's threads (the list the thread walks follow, or which group the task is in),
    asked about the same task in the same condition, limits the thread test on purpose."""
    root = condition_root(located.node)
    if root is None:
        return None
    shape = set(view.knowledge.shape)
    for item in fv.located:
        if item.anchor != located.anchor or item is located:
            continue
        if item.fact.name not in shape and not is_link_to_group(view, item.fact):
            continue
        other_root = condition_root(item.node)
        if other_root is None or (other_root.start_byte, other_root.end_byte) != (
            root.start_byte,
            root.end_byte,
        ):
            continue
        if not alternatives(located.node, item.node):
            return item
    return None


def clears_on_current(view: TaskView, name: str, fact: Fact) -> bool:
    summary = view.summary(name)
    if summary is None:
        return False
    return any(
        a.op == "clear"
        and a.loc.base == "current"
        and a.bit == fact.bit
        and a.loc.member == fact.member
        for a in summary.accesses
    )


def guards_owner_action(view: TaskView, thread: ThreadFact, node: Node) -> str | None:
    """``if (test_thread_flag(TIF_MEMDIE)) exit_oom_victim();``: the thread holding the
    flag drops it (the guarded call clears it on current)."""
    parent = node.parent
    while parent is not None and parent.type not in ("compound_statement", "function_definition"):
        if parent.type == "if_statement":
            consequence = parent.child_by_field_name("consequence")
            if consequence is None:
                return None
            stack = [consequence]
            while stack:
                current = stack.pop()
                if current.type == "call_expression":
                    function = current.child_by_field_name("function")
                    name = text(function)
                    if name in thread.clearers_on_current or clears_on_current(
                        view, name, thread.fact
                    ):
                        return name
                stack.extend(current.named_children)
            return None
        parent = parent.parent
    return None


def own_access(view: TaskView, located: Located) -> bool:
    """Made by the function itself, directly or through accessors and predicates."""
    member = located.site.access.loc.member or ""
    for name in located.site.access.via.split(">"):
        summary = view.summary(name) if name else None
        if not name:
            continue
        if summary is None:
            return False
        if not is_accessor(summary) and (name, member) not in bit_setters(summary):
            return False
    return True


def guards_thread_write(view: TaskView, fv: FunctionView, located: Located) -> Located | None:
    """The test decides a write of the same task's own per-thread state
    (``if (!(child->flags & PF_EXITING) && ...) child->jobctl |= JOBCTL_STOP_PENDING``):
    it asks about that thread."""
    owner = located.node.parent
    while owner is not None and owner.type != "if_statement":
        if owner.type in ("compound_statement", "function_definition"):
            return None
        owner = owner.parent
    consequence = owner.child_by_field_name("consequence") if owner is not None else None
    if consequence is None:
        return None
    written = [
        item
        for item in fv.located
        if item.anchor == located.anchor
        and item.site.access.op != "read"
        and consequence.start_byte <= item.node.start_byte
        and item.node.end_byte <= consequence.end_byte
        and own_access(view, item)
    ]
    if any(item.fact.scope == "group" for item in written):
        return None  # the branch changes the process too: the test may be about it
    return next((item for item in written if item.fact.scope == "thread"), None)


def through_accessors(view: TaskView, located: Located) -> bool:
    """The test is the function's own: made directly or through accessors of that one
    fact (a test inside a bigger callee belongs to the callee)."""
    via = [name for name in located.site.access.via.split(">") if name]
    for name in via:
        summary = view.summary(name)
        if summary is None or not is_thin(summary):
            return False
    if via and via[0] in view.store.local:
        # A predicate of this file is judged in its own body; only a bit handed to it
        # (an accessor like test_tsk_thread_flag()) makes the test the caller's.
        summary = view.summary(via[0])
        return summary is not None and any(
            a.bit is not None and a.bit.startswith("$") for a in summary.accesses
        )
    return True


def writes_fact(view: TaskView, fv: FunctionView, fact: Fact) -> bool:
    """The function sets or clears the fact itself (directly or through an accessor)."""
    return any(
        item.fact == fact and item.site.access.op in ("set", "clear") and own_access(view, item)
        for item in fv.located
    )


def unpaired_bits(view: TaskView, located: Located) -> list[str]:
    """Other bits tested in the same mask that have no group counterpart."""
    node = located.node
    if node.type != "binary_expression":
        return []
    bits = [
        item.fact.bit
        for item in located_same_node(view, located)
        if item.fact.bit and item.fact.bit != located.fact.bit
    ]
    return [b for b in bits if b not in view.knowledge.thread_facts]


def located_same_node(view: TaskView, located: Located) -> Iterator[Located]:
    for fv in view.functions:
        for item in fv.located:
            if item.node == located.node:
                yield item


def group_action_on(view: TaskView, fv: FunctionView, anchor: Anchor) -> Call | None:
    """A call acting on the whole process of ``anchor`` (a group form, or a signal sent
    to the process)."""
    forms = {f.name for group in view.knowledge.group_forms.values() for f in group}
    for wake, node in fv.reading.wakes:
        if wake.scope == "group" and anchor_of_task(view, wake.loc) == anchor:
            call = next((c for c in fv.reading.calls if c.node == node), None)
            if call is not None:
                return call
    for call in fv.reading.calls:
        if call.name in forms and any(
            loc is not None and anchor_of_task(view, loc) == anchor for loc in call.locs
        ):
            return call
    return None


def anchor_of_task(view: TaskView, loc: Loc) -> Anchor | None:
    """The task a location names or belongs to (``p``, ``p->signal``)."""
    if not loc.path or loc.struct == view.model.roots.task:
        return (loc.base, loc.path)
    return anchor_of(loc, view.model)


def changes_group_state(view: TaskView, fv: FunctionView, anchor: Anchor) -> Located | None:
    """The function itself sets group state of ``anchor``'s process."""
    for item in group_questions(view, fv, anchor):
        if item.site.access.op != "read":
            return item
    return None


def walk_callers(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, anchor: Anchor
) -> Evidence | None:
    """The tested parameter is, through callers here or in the tree, the cursor of a
    walk over every thread: the function is evaluated for arbitrary threads."""
    base, path = anchor
    if path or not base.startswith("$"):
        return None
    position = int(base[1:])
    for caller, call in view.callers(fv.fn.name):
        if position < len(call.args):
            argument = strip(call.args[position])
            name = text(argument) if argument is not None else ""
            walk = thread_walk_at(caller, call.node, (name, ()))
            if walk is not None:
                return Evidence(
                    "caller",
                    f"{caller.fn.name}() calls it on each thread of a {walk.name}() walk",
                    None,
                    line_of(call.node),
                )
    return tree_walk_callers(unit, view, fv.fn.name, position)


def tree_walk_callers(
    unit: AnalysisUnit, view: TaskView, name: str, position: int
) -> Evidence | None:
    index = unit.index
    if index is None:
        return None
    key = f"taskscope:walkers:{name}:{position}"
    if key in unit.cache:
        cached = unit.cache[key]
        return cached if isinstance(cached, Evidence) else None
    found = _search_walk_callers(view, index, name, position, [name], 0)
    unit.cache[key] = found if found is not None else False
    return found


def _search_walk_callers(
    view: TaskView,
    index: object,
    name: str,
    position: int,
    chain: list[str],
    depth: int,
) -> Evidence | None:
    if depth >= MAX_CALLER_DEPTH:
        return None
    for path, caller, line, walk, forwarded in callers_passing(
        view, index, name, position, MAX_CALLER_FILES
    ):
        if walk is not None:
            route = " > ".join(f"{name}()" for name in reversed(chain))
            return Evidence(
                "caller",
                f"{caller}() hands each thread of a {walk}() walk to {route}",
                path,
                line,
            )
        if forwarded is not None and caller not in chain:
            deeper = _search_walk_callers(
                view, index, caller, forwarded, chain + [caller], depth + 1
            )
            if deeper is not None:
                return deeper
    return None
