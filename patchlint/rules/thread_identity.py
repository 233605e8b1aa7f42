"""Identity tests of two tasks where one of them stands for a process.

Part of ``thread-flag-as-group``: ``a == b`` on two task pointers asks whether they are
the same thread.  When one side stands for a whole process, the question the code means
is whether the other thread belongs to that process (``same_thread_group()``, or a
comparison of group leaders), and the identity test answers it for one thread only.

A side stands for a process when the file stores a process in the struct member it is
read from (``proc->tsk = get_task_struct(current->group_leader)``), or when the same
function hands it to a callee that replaces its argument by the group leader before
comparing (yama's ``task_is_descendant(parent, tracer)``).  A side that is itself a
process link (``current->group_leader``) makes the comparison one of leaders, which is
right.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Evidence, Finding
from patchlint.rules.taskscope.extract import strip, text
from patchlint.rules.taskscope.syntax import nodes
from patchlint.rules.taskscope.view import FunctionView, Node, TaskView
from patchlint.rules.taskstate import squash
from patchlint.rules.thread_group_regions import stored_in_member
from patchlint.units import AnalysisUnit

RULE = "thread-flag-as-group"


def identity_findings(unit: AnalysisUnit, view: TaskView, fv: FunctionView) -> Iterator[Finding]:
    body = fv.fn.body
    if body is None:
        return
    for node in nodes(body):
        if node.type != "binary_expression":
            continue
        if text(node.child_by_field_name("operator")) not in ("==", "!="):
            continue
        left = strip(node.child_by_field_name("left"))
        right = strip(node.child_by_field_name("right"))
        if left is None or right is None:
            continue
        for process, thread in ((left, right), (right, left)):
            why = _process_side(unit, view, fv, process, node)
            if why is None or not _thread_side(view, fv, thread):
                continue
            yield _finding(unit, view, fv, node, process, thread, why)
            break


def _task_operand(view: TaskView, fv: FunctionView, operand: Node) -> bool:
    """The running thread, or a variable declared as a task."""
    spelled = text(operand)
    task = view.model.roots.task
    if spelled in view.model.roots.current:
        return True
    if operand.type != "identifier":
        return False
    if spelled in fv.reading.params:
        return fv.reading.param_structs[fv.reading.params.index(spelled)] == task
    return fv.reading.local_structs.get(spelled) == task


def _is_process_link(view: TaskView, operand: Node) -> bool:
    return (
        operand.type == "field_expression"
        and text(operand.child_by_field_name("field")) in view.model.roots.process_links
    )


def _thread_side(view: TaskView, fv: FunctionView, operand: Node) -> bool:
    """A plain task: the running thread, a task parameter or variable, not a process
    link and nothing the function treats as a process."""
    if _is_process_link(view, operand) or not _task_operand(view, fv, operand):
        return False
    name = text(operand)
    if operand.type == "identifier" and name in fv.reading.params:
        if fv.reading.params.index(name) in fv.reading.as_process:
            return False
    alias = fv.reading.aliases.get(name)
    if alias is not None and alias.path and alias.path[-1] in view.model.roots.process_links:
        return False  # task = current->group_leader: a process
    return True


def _process_side(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, operand: Node, comparison: Node
) -> Evidence | None:
    path = view.source.path
    if operand.type == "field_expression":
        if not _member_of_struct(operand):
            return None
        member = text(operand.child_by_field_name("field"))
        stored = stored_in_member(view, member, unit.cache)
        if stored is not None and stored[0] == "process":
            _kind, where, line = stored
            return Evidence(
                "note",
                f"{text(operand)} holds a process: {where}() stores a group leader in ->{member}",
                path,
                line,
            )
        return None
    if operand.type != "identifier":
        return None
    name = text(operand)
    for call in fv.reading.calls:
        summary = view.summary(call.name)
        if summary is None or not summary.as_process or call.node == comparison:
            continue
        for index in summary.as_process:
            if index < len(call.args) and text(strip(call.args[index])) == name:
                return Evidence(
                    "call",
                    f"{name} is handed to {call.name}(), which takes its group leader: the "
                    f"function treats it as a process",
                    path,
                    call.node.start_point[0] + 1,
                )
    return None


def _member_of_struct(operand: Node) -> bool:
    """``proc->tsk``: a member of some object, not of a task (whose members the other
    rules judge)."""
    return operand.child_by_field_name("field") is not None


def _group_predicate(view: TaskView) -> str | None:
    """A predicate of two tasks comparing their links to the group (same_thread_group)."""
    task = view.model.roots.task
    links = set(view.model.links("group"))
    for name in sorted(view.knowledge.summaries):
        summary = view.knowledge.summaries[name]
        if not summary.value or summary.param_structs != (task, task) or summary.wakes:
            continue
        reads = {(a.loc.base, a.loc.path) for a in summary.accesses if a.op == "read"}
        if any(len(path) != 1 or path[0] not in links for _base, path in reads):
            continue
        if {base for base, _path in reads} == {"$0", "$1"}:
            return name
    return None


def _finding(
    unit: AnalysisUnit,
    view: TaskView,
    fv: FunctionView,
    node: Node,
    process: Node,
    thread: Node,
    why: Evidence,
) -> Finding:
    key = squash(view.source.node_text(node))
    a, b = text(thread), text(process)
    predicate = _group_predicate(view)
    links = sorted(view.model.roots.process_links)
    if predicate is not None:
        group = f"{predicate}({a}, {b})"
    elif links:
        group = f"{a}->{links[0]} == {b}->{links[0]}"
    else:
        group = f"whether {a} belongs to the process of {b}"
    return Finding(
        rule=RULE,
        severity="warning",
        message=(
            f"{key} compares {a}, one thread, with {b}, which stands for a process: it "
            f"holds for one thread of that process only; the process-wide question is "
            f"{group}"
        ),
        file=unit.path,
        line=node.start_point[0] + 1,
        column=node.start_point[1] + 1,
        function=fv.fn.name,
        confidence="medium",
        key=key,
        evidence=[
            Evidence(
                "inference",
                f"{key}: an identity test of two tasks asks whether they are the same thread",
            ),
            why,
        ],
    )
