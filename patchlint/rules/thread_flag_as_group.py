"""thread-flag-as-group: a per-thread fact tested where the process-wide question is meant.

What it does: reports a test of per-thread task state (a task_struct flag bit, a
thread_info flag, a task_struct member) whose group counterpart exists, where the
code asks about the whole thread group: on a task that stands for a process, next to
group state of the same task, or (for facts set on one chosen thread to mark a group
event) anywhere outside the fact's owners.

Why is this bad: the threads of a process share the group state; a per-thread fact is
set on one of them.  ``test_tsk_thread_flag(p, TIF_MEMDIE)`` is false on every thread
of the OOM victim but the one mark_oom_victim() picked; ``p->flags & PF_EXITING`` on
a zombie group leader says nothing of its running threads.

Example::

    if (test_tsk_thread_flag(p, TIF_MEMDIE))   /* bad: one thread of the victim */
    if (tsk_is_oom_victim(p))                 /* good: signal->oom_mm, every thread */

Two more shapes are reported here: an identity test of a thread against a task that
stands for a process (thread_identity), and a per-thread operand joined by ``||`` to a
group-state question about the same task (thread_alternatives).

Which state is per thread or per group, the counterparts, their owners and the group
predicates are inferred from the tree (patchlint.rules.taskscope); the evidence lines
of each finding say which inference decided.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Confidence, Evidence, Finding
from patchlint.rules.taskscope.model import ThreadFact
from patchlint.rules.taskscope.view import FunctionView, Located, TaskView, view_of
from patchlint.rules.taskstate import inference_lines, squash
from patchlint.rules.thread_alternatives import mixed_alternative
from patchlint.rules.thread_group_facts import (
    asked_first,
    changes_group_state,
    counterpart_asked,
    group_action_on,
    group_lookup,
    group_questions,
    guards_owner_action,
    guards_thread_write,
    is_current,
    line_of,
    passed_process,
    process_link,
    process_walk_at,
    scoped,
    test_key,
    thread_walk_at,
    thread_walk_over,
    through_accessors,
    unpaired_bits,
    walk_callers,
    writes_fact,
)
from patchlint.rules.thread_identity import identity_findings
from patchlint.units import AnalysisUnit

RULE = "thread-flag-as-group"
SCOPE = "function"
FACTS = ("task-state", "callers", "iterators")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    view = view_of(unit)
    if view is None or not view.knowledge.thread_facts:
        return
    for fv in view.wanted:
        done: set[tuple[int, int]] = set()
        for located in fv.located:
            access = located.site.access
            if access.op != "read" or not access.cond:
                continue
            thread = view.thread_fact(located.fact)
            span = (located.node.start_byte, located.node.end_byte)
            if span in done or not through_accessors(view, located):
                continue
            done.add(span)
            if thread is None:
                finding = mixed_alternative(unit, view, fv, located)
            else:
                finding = _judge(unit, view, fv, located, thread)
            if finding is not None:
                yield finding
        yield from identity_findings(unit, view, fv)


def _judge(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, located: Located, thread: ThreadFact
) -> Finding | None:
    node, anchor = located.node, located.anchor
    owners = {w.function for w in thread.writers}
    if (
        fv.fn.name in owners
        or writes_fact(view, fv, thread.fact)
        or guards_owner_action(view, thread, node)
    ):
        return None  # the owner: it sets, clears or drops the flag on purpose
    if thread_walk_at(fv, node, anchor) is not None:
        return None  # each thread asked in turn: that is the group question
    subject = fv.spell(anchor)
    evidence = inference_lines(view, thread, subject)
    if thread.marker:
        found = _marker_context(unit, view, fv, located, thread, subject)
    else:
        found = _process_context(view, fv, located, thread, subject)
    if found is None:
        return None
    context, confidence = found
    evidence.extend(context)
    replacement = thread.counterpart.replacement.replace("{task}", subject)
    key = test_key(view, located)
    return Finding(
        rule=RULE,
        severity="info" if confidence == "low" else "warning",
        message=(
            f"{key} tests one thread, but {thread.fact.name} is per-thread state; "
            f"the process-wide question is {replacement}"
        ),
        file=unit.path,
        line=line_of(node),
        column=node.start_point[1] + 1,
        function=fv.fn.name,
        confidence=confidence,
        key=key,
        evidence=evidence,
    )


def _marker_context(
    unit: AnalysisUnit,
    view: TaskView,
    fv: FunctionView,
    located: Located,
    thread: ThreadFact,
    subject: str,
) -> tuple[list[Evidence], Confidence] | None:
    """A marker has no per-thread meaning left outside its owners: every test is
    suspect, the more so where the code asks about a process."""
    earlier = asked_first(view, fv, thread, located.node)
    if earlier is not None:
        return None  # the group question was asked first: a deliberate refinement
    anchor = located.anchor
    path = view.source.path
    if is_current(anchor):
        here = next(
            (
                f
                for f in view.functions
                if f is not fv and counterpart_asked(view, f, anchor, thread) is not None
            ),
            None,
        )
        note = Evidence(
            "note",
            "tested on the running thread, which need not be the one the flag was set on",
            path,
        )
        if here is not None:
            asked = Evidence(
                "counterpart",
                f"{here.fn.name}() asks it group-wide about current",
                path,
                here.fn.start_line,
            )
            return [note, asked], "medium"
        return [note], "low"
    context = _group_context(view, fv, located, subject)
    walkers = walk_callers(unit, view, fv, anchor)
    if walkers is not None:
        walkers.file = walkers.file or path
        context.append(walkers)
    not_current = Evidence("note", f"{subject} may be any thread, not the running one", path)
    return [not_current] + context, "high" if context else "medium"


def _group_context(
    view: TaskView, fv: FunctionView, located: Located, subject: str
) -> list[Evidence]:
    """The code around asks or changes group state of the task, or walks its threads."""
    path = view.source.path
    context: list[Evidence] = []
    question = next(iter(group_questions(view, fv, located.anchor)), None)
    if question is not None:
        verb = "changes" if question.site.access.op != "read" else "asks"
        context.append(
            Evidence(
                "path",
                f"the function {verb} group state of {subject} ({question.fact.name})",
                path,
                line_of(question.node),
            )
        )
    walk = thread_walk_over(view, fv, located.anchor)
    if walk is not None:
        context.append(
            Evidence(
                "path",
                f"the function walks the threads of {subject} ({walk.name}())",
                path,
                walk.line,
            )
        )
    return context


def _process_context(
    view: TaskView, fv: FunctionView, located: Located, thread: ThreadFact, subject: str
) -> tuple[list[Evidence], Confidence] | None:
    """A fact each thread sets for itself keeps its per-thread meaning; only a test on a
    task that stands for the process, or next to group state of it, asks the wrong one."""
    anchor, node = located.anchor, located.node
    path = view.source.path
    if scoped(view, fv, located) is not None:
        return None  # limited on purpose by a group question in the same condition
    if guards_thread_write(view, fv, located) is not None:
        return None  # it decides what happens to this thread
    if is_current(anchor):
        # The running thread asking about itself, unless the same function asks or
        # sets the group form of the very same question about it elsewhere.
        same = counterpart_asked(view, fv, anchor, thread)
        if same is not None:
            verb = "sets" if same.site.access.op != "read" else "asks"
            return [
                Evidence(
                    "counterpart",
                    f"the function {verb} the same question group-wide about current "
                    f"({squash(view.source.node_text(same.node))})",
                    path,
                    line_of(same.node),
                )
            ], "medium"
        if unpaired_bits(view, located):
            return None  # PF_EXITING | PF_KTHREAD: the running thread's own state
        change = changes_group_state(view, fv, anchor)
        if change is not None:
            return [
                Evidence(
                    "path",
                    f"the function changes the group state of current's process "
                    f"({change.fact.name}): it handles the process, not the thread",
                    path,
                    line_of(change.node),
                )
            ], "low"
        action = group_action_on(view, fv, anchor)
        if action is not None:
            return [
                Evidence(
                    "call",
                    f"the function acts on current's whole process ({action.name}())",
                    path,
                    line_of(action.node),
                )
            ], "low"
        return None
    walk = process_walk_at(fv, node, anchor)
    if walk is not None:
        return [
            Evidence(
                "path",
                f"{subject} is the cursor of {walk.name}(): one task per process, the group leader",
                path,
                walk.line,
            )
        ], "high"
    link = process_link(view, anchor)
    if link is not None:
        return [
            Evidence(
                "note",
                f"{subject} is the task reached through ->{link}: it stands for the process "
                "and stays behind as a zombie while other threads run",
                path,
                line_of(node),
            )
        ], "high"
    for strong in (passed_process(view, fv, anchor), group_lookup(view, fv, anchor)):
        if strong is not None:
            strong.file = strong.file or path
            return [strong], "high"
    if unpaired_bits(view, located):
        return None  # PF_EXITING | PF_DUMPCORE: this thread's own state
    same = counterpart_asked(view, fv, anchor, thread)
    if same is not None:
        return [
            Evidence(
                "counterpart",
                f"the function asks the same question group-wide about {subject} "
                f"({squash(view.source.node_text(same.node))})",
                path,
                line_of(same.node),
            )
        ], "medium"
    action = group_action_on(view, fv, anchor)
    if action is not None:
        return [
            Evidence(
                "call",
                f"the function acts on {subject} as a process ({action.name}())",
                path,
                line_of(action.node),
            )
        ], "medium"
    context = _group_context(view, fv, located, subject)
    if context:
        return context, "medium"
    return None
