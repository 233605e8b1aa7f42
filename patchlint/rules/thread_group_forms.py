"""The group form of a single-thread action: a function that applies the action to
every thread of its argument's group (``thaw_process()`` for ``__thaw_task()``).

Looked for in the tree's inferred knowledge, then in the analysed file, then through
the function index among the action's callers (which sees a patch's new files).
"""

from __future__ import annotations

import weakref

from patchlint.rules.taskscope.model import GroupForm, Summary, Where
from patchlint.rules.taskscope.view import TaskView
from patchlint.source import FunctionDef, SourceFile
from patchlint.units import AnalysisUnit

_by_index: weakref.WeakKeyDictionary[object, dict[str, GroupForm | None]] = (
    weakref.WeakKeyDictionary()
)


def _form_of(summary: Summary | None, action: str) -> GroupForm | None:
    if summary is None:
        return None
    for walk in summary.walk_wakes:
        base = walk.group.base
        if walk.action == action and base.startswith("$") and len(walk.group.path) <= 1:
            return GroupForm(summary.name, action, int(base[1:]), walk.walk, summary.where())
    return None


def find_group_form(unit: AnalysisUnit, view: TaskView, action: str) -> GroupForm | None:
    known = view.knowledge.group_forms.get(action, [])
    if known:
        return known[0]  # the inference lists the plainest form first
    for fn in view.source.functions:
        if fn.body is not None and f"{action}(" in view.source.node_text(fn.body):
            form = _form_of(view.summary(fn.name), action)
            if form is not None:
                return form
    return _from_index(unit, view, action)


def _from_index(unit: AnalysisUnit, view: TaskView, action: str) -> GroupForm | None:
    index = unit.index
    callers_of = getattr(index, "callers", None)
    source_of = getattr(index, "source", None)
    if index is None or not callable(callers_of) or not callable(source_of):
        return None
    try:
        memo = _by_index.setdefault(index, {})
    except TypeError:
        memo = {}
    if action in memo:
        return memo[action]
    found: GroupForm | None = None
    try:
        callers = list(callers_of(action) or ())
    except Exception:  # an index failure must not end the run; the message degrades
        callers = []
    for item in callers:
        path, fn = str(item[0]), item[1]
        source = source_of(path)
        if not isinstance(fn, FunctionDef) or not isinstance(source, SourceFile):
            continue
        form = _form_of(_summarise(view, source, fn), action)
        if form is not None:
            found = GroupForm(
                form.name, action, form.param, form.walk, Where(path, fn.start_line, fn.name)
            )
            break
    memo[action] = found
    return found


def _summarise(view: TaskView, source: SourceFile, fn: FunctionDef) -> Summary | None:
    from patchlint.rules.taskscope.summaries import constructs_of, summary_of

    if fn.body is None:
        return None
    reading = view.store.reader(source.path).read(
        fn.node, fn.body, fn.name, source.path, None, constructs_of(source, fn)
    )
    return summary_of(reading, source.path, fn.start_line, False, None)
