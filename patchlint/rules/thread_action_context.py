"""More ways the code around a thread-directed action shows it is about the process.

Part of ``thread-action-on-group``:

* group state handed in: the function writes through a pointer parameter that every
  caller here fills with group state of the task it acts on
  (``check_cpu_itimer(tsk, &sig->it[CPUCLOCK_PROF], ...)`` with ``sig = tsk->signal``:
  the process-wide itimer expired, then a signal goes to ``tsk`` alone);
* the disposition asked first: the function asks, in its own conditions, group state of
  the target that the delivery itself reads (the process's handler for the signal,
  ``psig->action[SIGCHLD-1]``) and nothing of the target thread's own state.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.findings import Evidence
from patchlint.rules.taskscope.evidence import Anchor, anchor_of
from patchlint.rules.taskscope.extract import Call, strip, text
from patchlint.rules.taskscope.syntax import nodes
from patchlint.rules.taskscope.view import FunctionView, Located, Node, TaskView
from patchlint.rules.thread_group_facts import own_access
from patchlint.rules.thread_group_regions import stored_as


@dataclass(frozen=True)
class HandedWrite:
    """A write through a parameter the callers fill with group state of the target."""

    node: Node
    spelled: str
    member: str
    caller: Evidence


def _groups_handed(
    view: TaskView, fv: FunctionView, target: int
) -> dict[int, tuple[str, Evidence]]:
    """Parameters every caller in this file fills with group state of the task it
    passes as parameter ``target``: {parameter: (group member, evidence)}."""
    callers = view.callers(fv.fn.name)
    found: dict[int, tuple[str, Evidence]] = {}
    if not callers:
        return found
    for position in range(len(fv.reading.params)):
        if position == target:
            continue
        member = ""
        evidence: Evidence | None = None
        for caller, call in callers:
            if max(position, target) >= len(call.locs):
                break
            loc, task = call.locs[position], call.locs[target]
            if loc is None or task is None or view.model.scope_of(loc.holder) != "group":
                break
            if anchor_of(loc, view.model) != (task.base, task.path):
                break
            member = member or f"{loc.holder}->{loc.member}"
            evidence = evidence or Evidence(
                "caller",
                f"{caller.fn.name}() passes {text(call.args[position])}, group state of "
                f"the task it passes as {fv.reading.params[target]}",
                view.source.path,
                call.node.start_point[0] + 1,
            )
        else:
            if evidence is not None:
                found[position] = (member, evidence)
    return found


def handed_group_write(view: TaskView, fv: FunctionView, anchor: Anchor) -> HandedWrite | None:
    """A write through a parameter that the callers fill with group state of the task
    ``anchor`` (a parameter) names."""
    base, path = anchor
    body = fv.fn.body
    if path or not base.startswith("$") or body is None:
        return None
    handed = _groups_handed(view, fv, int(base[1:]))
    if not handed:
        return None
    names = {fv.reading.params[p]: p for p in handed}
    for node in nodes(body):
        if node.type == "assignment_expression":
            target = node.child_by_field_name("left")
        elif node.type == "update_expression":
            target = node.child_by_field_name("argument")
        else:
            continue
        root = strip(target)
        while root is not None and root.type in ("field_expression", "subscript_expression"):
            root = strip(root.child_by_field_name("argument"))
        if root is None or root.type != "identifier" or text(root) not in names:
            continue
        member, caller = handed[names[text(root)]]
        return HandedWrite(node, view.source.node_text(node), member, caller)
    return None


def asks_disposition(
    view: TaskView, fv: FunctionView, anchor: Anchor, call: Call
) -> Located | None:
    """The function asks, in its own conditions, group state of the target that the
    delivery (``call``) reads too, and none of the thread's own state the delivery
    reads (its ptrace state, its blocked mask: thread-directed on purpose)."""
    delivered = {
        item.fact.name for item in fv.located if item.node == call.node and item.anchor == anchor
    }
    asked: Located | None = None
    for item in fv.located:
        access = item.site.access
        if item.anchor != anchor or access.op != "read" or not access.cond or access.addr:
            continue
        if item.node == call.node or not own_access(view, item):
            continue
        target = view.model.target(item.fact.holder, item.fact.member)
        if item.fact.bit is None and view.model.scope_of(target) is not None:
            continue  # a link (p->signal), not state
        if item.fact.scope == "thread" and item.fact.name in delivered:
            return None  # the thread's own state decides too: thread-directed on purpose
        if item.fact.scope == "group" and item.fact.name in delivered and asked is None:
            asked = item
    return asked


def stored_process(
    view: TaskView, anchor: Anchor, cache: dict[str, object]
) -> tuple[str, int] | None:
    """The target is read from a struct member this file fills with a process (its
    pid from ``task_tgid()``, its group leader): (function storing it, line)."""
    stored = stored_as(view, anchor, cache)
    if stored is None or stored[0] != "process":
        return None
    return stored[1], stored[2]


@dataclass(frozen=True)
class PidChoice:
    """A pid-type variable chosen between one thread and a level above the process."""

    node: Node
    variable: str
    thread: str
    other: str
    process: str


def pid_type_choices(view: TaskView, fv: FunctionView) -> list[PidChoice]:
    """``type = PIDTYPE_PID; if (who < 0) type = PIDTYPE_PGID;`` handed on: the choice
    spans one thread and a group of processes but skips the level in between (the
    pid-type enumeration's order, from the tree), so the positive case names a
    process."""
    levels = view.knowledge.pid_levels
    found: list[PidChoice] = []
    body = fv.fn.body
    if not levels or body is None:
        return found
    for thread, process in view.knowledge.group_constants.items():
        if thread not in levels or process not in levels:
            continue
        above = set(levels[levels.index(process) + 1 : -1])
        assigned: dict[str, list[tuple[str, Node]]] = {}
        passed: set[str] = set()
        for node in nodes(body):
            if node.type in ("assignment_expression", "init_declarator"):
                target = node.child_by_field_name(
                    "left" if node.type != "init_declarator" else "declarator"
                )
                value = strip(
                    node.child_by_field_name("right" if node.type != "init_declarator" else "value")
                )
                if target is not None and target.type == "identifier" and value is not None:
                    assigned.setdefault(text(target), []).append((text(value), node))
            elif node.type == "argument_list":
                passed.update(text(a) for a in node.named_children if a.type == "identifier")
        for variable, values in assigned.items():
            constants = {v for v, _node in values}
            if variable not in passed or process in constants or thread not in constants:
                continue
            others = sorted(constants & above)
            if not others or not constants <= set(levels):
                continue
            node = next(n for v, n in values if v == thread)
            found.append(PidChoice(node, variable, thread, others[0], process))
    return found
