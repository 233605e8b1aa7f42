"""thread-action-on-group: an action on one thread where the whole process is meant.

What it does: reports a call that makes one task run (a wake-up, a thaw, a signal sent
to that thread only) after the same code changed group state of that task's process
(state that every thread of the group now sees and must act on), or applied to each
process of a process walk while a group form of the action exists.

Why is this bad: the other threads of the group see the new state but are never woken
to act on it.  mark_oom_victim() made the whole group the OOM victim
(``signal->oom_mm``) and thawed only the thread it was given: the other threads
stayed frozen and the victim could not exit.  A signal queued with PIDTYPE_PID waits
in one thread's private set; PIDTYPE_TGID puts it where any thread can take it.

Example::

    if (!cmpxchg(&tsk->signal->oom_mm, NULL, mm))
        mmgrab(tsk->signal->oom_mm);
    __thaw_task(tsk);        /* bad: one thread */
    thaw_process(tsk);       /* good: every thread of the group */

A signal sent to one thread is also reported where the code is about the process in
other ways (thread_action_context): it changed group state its callers handed in, it
decided the signal by the process's disposition, the target holds a process (a pid
from the group, a group leader), or the pid type was chosen between one thread and a
process group, skipping the process.

The actions, their group forms and the group state are inferred from the tree
(patchlint.rules.taskscope): a function that reaches the scheduler's wake-up on its
argument is an action, one doing so for each thread of a walk over its argument's
group is the group form, a pid-type argument that picks the thread's or the group's
pending set decides which one a signal reaches.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Confidence, Evidence, Finding
from patchlint.rules.taskscope.evidence import Anchor, is_accessor
from patchlint.rules.taskscope.extract import Call
from patchlint.rules.taskscope.model import GroupForm, Wake
from patchlint.rules.taskscope.view import FunctionView, Located, Node, TaskView, view_of
from patchlint.rules.taskstate import squash
from patchlint.rules.thread_action_context import (
    PidChoice,
    asks_disposition,
    handed_group_write,
    pid_type_choices,
    stored_process,
)
from patchlint.rules.thread_group_facts import line_of, process_walk_at
from patchlint.rules.thread_group_forms import find_group_form
from patchlint.units import AnalysisUnit

RULE = "thread-action-on-group"
SCOPE = "function"
FACTS = ("task-state", "callers", "iterators")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    view = view_of(unit)
    if view is None:
        return
    events = set(view.knowledge.group_state)
    for fv in view.wanted:
        done: set[tuple[int, int]] = set()
        for wake, node in fv.reading.wakes:
            span = (node.start_byte, node.end_byte)
            if span in done or wake.scope != "thread" or wake.select is not None:
                continue
            call = next((c for c in fv.reading.calls if c.node == node), None)
            if call is None:
                continue
            done.add(span)
            finding = _judge(unit, view, fv, call, wake, events)
            if finding is not None:
                yield finding
        for choice in pid_type_choices(view, fv):
            yield _choice_finding(unit, view, fv, choice)


def _anchor(wake: Wake) -> Anchor:
    return (wake.loc.base, wake.loc.path)


def _shallow(view: TaskView, located: Located) -> bool:
    """Written here, or by one helper called here (mark_oom_victim(victim))."""
    via = [name for name in located.site.access.via.split(">") if name]
    deep = 0
    for name in via:
        summary = view.summary(name)
        if summary is None or not is_accessor(summary):
            deep += 1
    return deep <= 1


def _group_event(
    view: TaskView, fv: FunctionView, anchor: Anchor, call: Call, events: set[str], either: bool
) -> Located | None:
    for item in reversed(fv.located):
        access = item.site.access
        if item.anchor != anchor or access.op == "read" or item.fact.scope != "group":
            continue
        if item.fact.name not in events and not (either and access.op == "set"):
            continue  # a plain wake-up follows group state that threads act upon
        if item.node == call.node or not _shallow(view, item):
            continue
        if _reachable(item.node, call.node) or either and _reachable(call.node, item.node):
            return item
    return None


def _reachable(first: Node, second: Node) -> bool:
    """``second`` follows ``first`` on some path: not in the other branch of an ``if``,
    no return, goto, break or continue after ``first`` in its block."""
    if first.end_byte > second.start_byte:
        return False
    around = {(a.start_byte, a.end_byte, a.type) for a in _ancestors(second)}
    child = first
    for parent in _ancestors(first):
        if (parent.start_byte, parent.end_byte, parent.type) in around:
            return parent.type != "if_statement"
        if parent.type == "compound_statement":
            after = [c for c in parent.named_children if c.start_byte >= child.end_byte]
            if any(
                c.type
                in ("return_statement", "goto_statement", "break_statement", "continue_statement")
                for c in after
            ):
                return False
        child = parent
    return True


def _ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _group_text(
    view: TaskView, call: Call, wake: Wake, form: GroupForm | None, task: str
) -> str | None:
    if wake.decided and wake.selector:
        constant = view.knowledge.group_constants.get(wake.selector)
        spelled = squash(view.source.node_text(call.node))
        if constant and wake.decided in spelled:
            return spelled.replace(wake.decided, constant)
        # The pid type is chosen below the call (send_sig() passes PIDTYPE_PID down):
        # name the first callee on the way that still takes it.
        for name in wake.via:
            summary = view.summary(name)
            if constant and summary is not None and any(w.select for w in summary.wakes):
                return f"{name}(..., {task}, {constant})"
    if form is not None:
        return f"{form.name}({task})"
    return None


def _walk_text(view: TaskView, action: str) -> str:
    walker = next((w.name for w in view.model.roots.walkers.values() if w.group is not None), "")
    return (
        f"a {walker} walk calling {action}()"
        if walker
        else f"a walk over the threads calling {action}()"
    )


def _other_reason(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, anchor: Anchor, call: Call, task: str
) -> tuple[list[Evidence], str, str] | None:
    """A thread-directed signal where the code is about the process otherwise: it
    changed group state its callers handed in, or it asked the process's disposition."""
    path = view.source.path
    handed = handed_group_write(view, fv, anchor)
    if handed is not None and _reachable(handed.node, call.node):
        lines = [
            Evidence(
                "call",
                f"the function changes {handed.member} of {task}'s process through a "
                f"parameter: {squash(handed.spelled)}",
                path,
                line_of(handed.node),
            ),
            handed.caller,
        ]
        message = (
            f"signals one thread, but the code acts on group state of {task}'s process "
            f"({handed.member}, handed in by its callers)"
        )
        return lines, f"{call.name}({task}) with {handed.member}", message
    asked = asks_disposition(view, fv, anchor, call)
    if asked is not None:
        lines = [
            Evidence(
                "path",
                f"the function decides the signal by {task}'s process state "
                f"({asked.fact.name}, which the delivery reads too) and by nothing of the "
                f"thread {task} itself",
                path,
                line_of(asked.node),
            )
        ]
        message = (
            f"signals one thread, but the code decides it by the state of {task}'s "
            f"process ({asked.fact.name})"
        )
        return lines, f"{call.name}({task}) after {asked.fact.name}", message
    stored = stored_process(view, anchor, unit.cache)
    if stored is not None:
        where, line = stored
        lines = [
            Evidence(
                "note",
                f"{task} holds a process: {where}() fills it with the process's own "
                f"object (its group leader, or its pid from the group)",
                path,
                line,
            )
        ]
        message = f"signals one thread, but {task} names a process"
        return lines, f"{call.name}({task}) to a process", message
    return None


def _choice_finding(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, choice: PidChoice
) -> Finding:
    node = choice.node
    key = f"{choice.variable} = {choice.thread} or {choice.other}"
    return Finding(
        rule=RULE,
        severity="warning",
        message=(
            f"{squash(view.source.node_text(node))} makes the target one thread, while the "
            f"other choice, {choice.other}, addresses a group of processes: the level in "
            f"between is skipped, so the case chosen here names a process; use "
            f"{choice.process}"
        ),
        file=unit.path,
        line=line_of(node),
        column=node.start_point[1] + 1,
        function=fv.fn.name,
        confidence="medium",
        key=key,
        evidence=[
            Evidence(
                "inference",
                f"pid types in the tree's order: {', '.join(view.knowledge.pid_levels)}; "
                f"{choice.thread} reaches one thread, {choice.process} its process",
            ),
            Evidence(
                "path",
                f"{choice.variable} is {choice.thread} or {choice.other} and is handed on",
                view.source.path,
                line_of(node),
            ),
        ],
    )


def _judge(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, call: Call, wake: Wake, events: set[str]
) -> Finding | None:
    anchor = _anchor(wake)
    task = fv.spell(anchor)
    spelled = squash(view.source.node_text(call.node))
    path = view.source.path
    signal = bool(wake.decided)
    event = _group_event(view, fv, anchor, call, events, signal)
    walk = process_walk_at(fv, call.node, anchor) if event is None else None
    other = None
    if event is None and walk is None and signal:
        other = _other_reason(unit, view, fv, anchor, call, task)
    if event is None and walk is None and other is None:
        return None
    form = find_group_form(unit, view, call.name)
    group = _group_text(view, call, wake, form, task)
    if walk is not None and group is None:
        return None  # no group form to point to: a process walk may mean its leaders
    replacement = group or _walk_text(view, call.name)
    confidence: Confidence = "high" if group else "medium"
    evidence = [
        Evidence(
            "inference",
            f"{call.name}() makes one task run: it reaches the wake-up on its argument "
            f"({' > '.join(wake.via)})",
        )
    ]
    if wake.decided:
        evidence.append(
            Evidence(
                "inference",
                f"{wake.decided} picks the thread's own pending set, another pid type the "
                f"group's shared one",
            )
        )
    if form is not None:
        evidence.append(
            Evidence(
                "inference",
                f"group form: {form.name}() calls {call.name}() on each thread of a "
                f"{form.walk}() walk",
                form.where.file,
                form.where.line,
            )
        )
    if event is not None:
        how = (
            "changes"
            if not event.site.access.via
            else f"changes (in {event.site.access.via.split('>')[0]}())"
        )
        evidence.append(
            Evidence(
                "call",
                f"the function {how} group state of {task}: {event.fact.name}",
                path,
                line_of(event.node),
            )
        )
        evidence.append(
            Evidence("call", f"{call.name}() acts on {task} alone", path, line_of(call.node))
        )
        key = f"{call.name}({task}) with {event.fact.name}"
        message = (
            f"{spelled} acts on one thread, but the same code changes {event.fact.name} for "
            f"the whole thread group; the other threads are left behind: use {replacement}"
        )
    elif other is not None:
        lines, key, message = other
        evidence.extend(lines)
        message = f"{spelled} {message}; use {replacement}"
    else:
        assert walk is not None
        evidence.append(
            Evidence(
                "path",
                f"{task} is the cursor of {walk.name}(): one task per process",
                path,
                walk.line,
            )
        )
        key = f"{call.name}({task}) in {walk.name}({task})"
        message = (
            f"{spelled} reaches only one thread of each process of the {walk.name}() walk; "
            f"use {replacement}"
        )
    return Finding(
        rule=RULE,
        severity="warning",
        message=message,
        file=unit.path,
        line=line_of(call.node),
        column=call.node.start_point[1] + 1,
        function=fv.fn.name,
        confidence=confidence,
        key=key,
        evidence=evidence,
    )
