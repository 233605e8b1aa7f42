"""A per-thread test joined by ``||`` to a question about the same task's group state.

Part of ``thread-flag-as-group``, for per-thread facts that have no inferred group
counterpart: ``task_is_stopped(child) || child->signal->group_stop_count`` asks one
question of the process (is a group stop in effect or under way), and the per-thread
operand answers it for the one thread only.  The group operand must be group *state*
(what the tree changes together with the counterparts: exit codes, stop counts), not
an attribute.  The running thread is left alone: a thread adding its own case to a
group question (``tsk_is_oom_victim(current) || (current->flags & PF_EXITING)``) asks
about itself on purpose.
"""

from __future__ import annotations

from patchlint.findings import Evidence, Finding
from patchlint.rules.taskscope.evidence import alternatives, condition_root
from patchlint.rules.taskscope.view import FunctionView, Located, TaskView
from patchlint.rules.taskstate import squash
from patchlint.rules.thread_group_facts import (
    is_current,
    line_of,
    own_access,
    test_key,
    thread_walk_at,
)
from patchlint.units import AnalysisUnit

RULE = "thread-flag-as-group"


def _link(view: TaskView, located: Located) -> bool:
    fact = located.fact
    target = view.model.target(fact.holder, fact.member)
    return fact.bit is None and view.model.scope_of(target) is not None


def mixed_alternative(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, located: Located
) -> Finding | None:
    anchor, node = located.anchor, located.node
    if located.fact.scope != "thread" or is_current(anchor) or _link(view, located):
        return None
    if thread_walk_at(fv, node, anchor) is not None:
        return None  # each thread in turn
    root = condition_root(node)
    if root is None:
        return None
    state = set(view.knowledge.group_state)
    for item in fv.located:
        if item.anchor != anchor or item.fact.scope != "group" or item.fact.name not in state:
            continue
        access = item.site.access
        if access.op != "read" or not access.cond or not own_access(view, item):
            continue
        other = condition_root(item.node)
        if other is None or (other.start_byte, other.end_byte) != (root.start_byte, root.end_byte):
            continue
        if not alternatives(node, item.node):
            continue
        key = test_key(view, located)
        subject = fv.spell(anchor)
        group = squash(view.source.node_text(item.node))
        return Finding(
            rule=RULE,
            severity="warning",
            message=(
                f"{key} tests one thread, as the alternative of {group}, a question about "
                f"{subject}'s whole thread group: the condition asks about the process, and "
                f"{located.fact.name} answers it for one thread only; ask the group's state"
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
                    f"{located.fact.name}: per-thread ({located.fact.describe()}); "
                    f"{item.fact.name}: group state, one value for every thread",
                ),
                Evidence(
                    "path",
                    f"{group} and {key} are alternatives (||) of one condition about {subject}",
                    view.source.path,
                    line_of(item.node),
                ),
            ],
        )
    return None
