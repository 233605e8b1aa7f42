"""group-state-as-thread: a group-level fact tested where the code asks about one thread.

What it does: reports a test of group state (a signal_struct flag bit, a member, or a
group predicate such as tsk_is_oom_victim()) that has a per-thread counterpart, where
the code around asks about one thread: the tested task is the cursor of a walk over
the threads of one group (by an iterator, or a loop stepping to the next thread, in
the function or in a caller here), the branch it decides sets or clears the per-thread
counterpart on that task, the decided code works only on that thread's own state, the
task is held as one thread (a struct member the file fills with ``current``), or it is
the running thread asking about its own exit in code that does nothing with its
process.

Why is this bad: the group fact is the same for every thread of the process.  Inside
``for_other_threads(tsk, t)`` the test ``t->signal->flags & SIGNAL_GROUP_EXIT`` gives
one answer for all ``t`` (the group is not exiting, or the function returned earlier),
so a thread that already exited alone (``PF_EXITING``, after ``pthread_exit()``) is
picked as if it could still take signals.  ``tsk_is_oom_victim(current)`` guarding
``exit_oom_victim()`` is true on every thread of the victim, so each of them drops the
one mark ``mark_oom_victim()`` counted.

Example::

    for_other_threads(tsk, t) {
        if (t->signal->flags & SIGNAL_GROUP_EXIT)   /* bad: same for every t */
        if (t->flags & PF_EXITING)                  /* good: this thread exits */
            continue;

Which facts are per group or per thread, their counterparts, the thread steppers and
what each callee does to a task are inferred from the tree (patchlint.rules.taskscope);
the evidence lines say which inference and which context decided.  The mirror rule is
``thread-flag-as-group``.
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Confidence, Evidence, Finding
from patchlint.rules.taskscope.evidence import is_thin
from patchlint.rules.taskscope.model import Fact, ThreadFact
from patchlint.rules.taskscope.view import FunctionView, Located, TaskView, view_of
from patchlint.rules.thread_group_facts import (
    group_action_on,
    group_lookup,
    is_current,
    line_of,
    own_access,
    passed_process,
    process_link,
    process_walk_at,
    test_key,
    thread_walk_at,
    writes_fact,
)
from patchlint.rules.thread_group_regions import (
    decided_region,
    sets_thread_fact,
    stored_as,
    thread_work,
)
from patchlint.rules.thread_group_speech import (
    counterpart_lines,
    thread_forms,
    thread_spelling,
)
from patchlint.units import AnalysisUnit

RULE = "group-state-as-thread"
SCOPE = "function"
FACTS = ("task-state", "callers", "iterators")


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    view = view_of(unit)
    if view is None or not view.knowledge.thread_facts:
        return
    forms = thread_forms(view)
    for fv in view.wanted:
        done: set[tuple[int, int]] = set()
        for located in fv.located:
            access = located.site.access
            threads = forms.get(located.fact)
            if access.op != "read" or not access.cond or not threads:
                continue
            span = (located.node.start_byte, located.node.end_byte)
            if span in done or not _asked_here(view, located):
                continue
            done.add(span)
            finding = _judge(unit, view, fv, located, threads)
            if finding is not None:
                yield finding


def _asked_here(view: TaskView, located: Located) -> bool:
    """The test is the function's own: made directly or through accessors of that one
    fact (``tsk_is_oom_victim()``), wherever they are defined (a group predicate has
    no context of its own to be judged in)."""
    for name in (n for n in located.site.access.via.split(">") if n):
        summary = view.summary(name)
        if summary is None or not is_thin(summary):
            return False
    return True


def _stands_for_process(
    unit: AnalysisUnit, view: TaskView, fv: FunctionView, located: Located
) -> bool:
    anchor = located.anchor
    if process_walk_at(fv, located.node, anchor) is not None or process_link(view, anchor):
        return True
    if passed_process(view, fv, anchor) is not None or group_lookup(view, fv, anchor):
        return True
    stored = stored_as(view, anchor, unit.cache)
    return stored is not None and stored[0] == "process"


def _changes_group(view: TaskView, fv: FunctionView, anchor: tuple[str, tuple[str, ...]]) -> bool:
    """The function itself (directly or through accessors) changes some group state of
    the task: it handles the process."""
    return any(
        item.anchor == anchor
        and item.fact.scope == "group"
        and item.site.access.op != "read"
        and not item.site.access.addr
        and own_access(view, item)
        for item in fv.located
    )


def _asks_both(
    view: TaskView, fv: FunctionView, located: Located, threads: list[ThreadFact]
) -> bool:
    """The function asks the per-thread form about the same task too: both levels on
    purpose (``thread_group_empty(p) && PF_EXITING`` after ``SIGNAL_GROUP_EXIT``)."""
    names = {t.fact.name for t in threads}
    return any(
        item.anchor == located.anchor
        and item.fact.name in names
        and item.site.access.op == "read"
        and item.site.access.cond
        and item is not located
        and own_access(view, item)
        for item in fv.located
    )


def _judge(
    unit: AnalysisUnit,
    view: TaskView,
    fv: FunctionView,
    located: Located,
    threads: list[ThreadFact],
) -> Finding | None:
    anchor, node = located.anchor, located.node
    group: Fact = located.fact
    if writes_fact(view, fv, group):
        return None  # the owner of the group fact (a group exit sets it)
    if _stands_for_process(unit, view, fv, located) or _asks_both(view, fv, located, threads):
        return None
    if _changes_group(view, fv, anchor):
        return None  # it handles the process (a group exit, a group stop)
    if group_action_on(view, fv, anchor) is not None:
        return None
    subject = fv.spell(anchor)
    found = _thread_context(unit, view, fv, located, threads, subject)
    if found is None:
        return None
    thread, context, confidence = found
    key = test_key(view, located)
    spelled = thread_spelling(view, thread.fact, subject)
    evidence = counterpart_lines(view, thread, group) + context
    return Finding(
        rule=RULE,
        severity="info" if confidence == "low" else "warning",
        message=(
            f"{key} asks about {subject}'s whole thread group ({group.name} is shared by "
            f"every thread), but the code asks about {subject} alone; the per-thread "
            f"question is {spelled}"
        ),
        file=unit.path,
        line=line_of(node),
        column=node.start_point[1] + 1,
        function=fv.fn.name,
        confidence=confidence,
        key=key,
        evidence=evidence,
    )


def _thread_context(
    unit: AnalysisUnit,
    view: TaskView,
    fv: FunctionView,
    located: Located,
    threads: list[ThreadFact],
    subject: str,
) -> tuple[ThreadFact, list[Evidence], Confidence] | None:
    anchor, node = located.anchor, located.node
    path = view.source.path
    plain = next((t for t in threads if not t.marker), None)
    first = plain or threads[0]
    walk = thread_walk_at(fv, node, anchor)
    if walk is not None and walk.group is not None:
        return (
            first,
            [
                Evidence(
                    "path",
                    f"{subject} is the cursor of {walk.name}(): each thread in turn, and the "
                    f"group fact gives the same answer for all of them",
                    path,
                    walk.line,
                )
            ],
            "high",
        )
    caller = _walking_caller(view, fv, anchor)
    if caller is not None:
        return first, [caller], "high"
    region = decided_region(node)
    if region is not None:
        names = {t.fact.name for t in threads}
        owned = sets_thread_fact(fv, anchor, names, region)
        if owned is None and any(writes_fact(view, fv, t.fact) for t in threads):
            return None  # it sets the thread fact on either outcome: the test says how
        if owned is not None:
            match = next(t for t in threads if t.fact.name == owned.fact.name)
            verb = "clears" if owned.site.access.op == "clear" else "sets"
            how = f" (in {owned.site.access.via.split('>')[0]}())" if owned.site.access.via else ""
            return (
                match,
                [
                    Evidence(
                        "path",
                        f"the branch {verb} {owned.fact.name} of {subject}{how}: it handles "
                        f"the thread that carries it, not the process",
                        path,
                        line_of(owned.node),
                    )
                ],
                "high",
            )
    if plain is None:
        return None  # a marker's group fact is the right question for every other thread
    if region is not None:
        work = thread_work(view, fv, anchor, region)
        if work is not None:
            return (
                plain,
                [
                    Evidence(
                        "path",
                        f"the code the test decides {work.what} of {subject} and nothing of "
                        f"its group: it is about this thread",
                        path,
                        line_of(work.node),
                    )
                ],
                "medium",
            )
    stored = stored_as(view, anchor, unit.cache)
    if stored is not None and stored[0] == "thread":
        kind, where, line = stored
        return (
            plain,
            [
                Evidence(
                    "note",
                    f"{subject} holds one thread: {where}() stores current there",
                    path,
                    line,
                )
            ],
            "medium",
        )
    if is_current(anchor) or anchor[0] == "current" and not anchor[1]:
        return (
            plain,
            [
                Evidence(
                    "note",
                    f"the running thread asks about its process in code that neither "
                    f"changes nor walks it; a thread may exit alone, before or without "
                    f"{located.fact.name}: its own exit is {plain.fact.name}",
                    path,
                    line_of(node),
                )
            ],
            "medium",
        )
    return None


def _walking_caller(
    view: TaskView, fv: FunctionView, anchor: tuple[str, tuple[str, ...]]
) -> Evidence | None:
    """A caller in this file hands the task from the cursor of a walk over one group's
    threads (``while (!wants_signal(sig, t)) t = next_thread(t);``)."""
    base, path = anchor
    if path or not base.startswith("$"):
        return None
    position = int(base[1:])
    for caller, call in view.callers(fv.fn.name):
        if position >= len(call.args):
            continue
        argument = view.source.node_text(call.args[position]).strip()
        walk = thread_walk_at(caller, call.node, (argument, ()))
        if walk is not None and walk.group is not None:
            return Evidence(
                "caller",
                f"{caller.fn.name}() asks it about each thread of a {walk.name}() walk in turn",
                view.source.path,
                line_of(call.node),
            )
    return None
