"""The walks over tasks in one function body: iterator macros (rules/kernel/iterators.toml)
and loops written by hand around a *thread stepper*.

A thread stepper is inferred, not named: a function that takes a task, reads the list
of its group's threads (the group member the thread iterators follow) and returns a
task.  ``t = next_thread(t)`` inside a loop then walks the threads of ``t``'s group
one by one, like ``for_each_thread()`` does (``complete_signal()`` looks for a thread
that wants the signal that way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from patchlint.rules.taskscope.model import Loc, Summary
from patchlint.rules.taskscope.scopes import ScopeModel
from patchlint.rules.taskscope.syntax import (
    Node,
    WalkRegion,
    call_args,
    line_of,
    nodes,
    strip,
    text,
)

LOOPS = ("for_statement", "while_statement", "do_statement")
Constructs = list[tuple[str, tuple[str, ...], int, int]]


def iterator_walks(
    model: ScopeModel,
    body: Node,
    constructs: Constructs,
    resolve_text: Callable[[str], Loc | None],
) -> Iterator[WalkRegion]:
    """The loops of the iterator macros the front end recognised in the body."""
    for name, args, start, line in constructs:
        walker = model.roots.walkers.get(name)
        if walker is None or walker.cursor >= len(args):
            continue
        loop = body.descendant_for_byte_range(start, start)
        while loop is not None and loop.type not in LOOPS:
            loop = loop.parent
        if loop is None or loop.start_byte > start + 1:
            continue
        group = None
        if walker.group is not None and walker.group < len(args):
            group = resolve_text(args[walker.group])
        loop_body = loop.child_by_field_name("body") or loop
        yield WalkRegion(
            name,
            args[walker.cursor].strip(),
            group,
            walker.every_thread,
            loop_body.start_byte,
            loop.end_byte,
            line,
        )


def thread_list_members(
    model: ScopeModel, lookup: Callable[[str], Summary | None]
) -> frozenset[tuple[str, str]]:
    """The group members the thread iterators follow (``signal_struct->thread_head``)."""
    found: set[tuple[str, str]] = set()
    for walker in model.roots.walkers.values():
        summary = lookup(walker.name) if walker.group is not None else None
        for access in summary.accesses if summary is not None else ():
            holder, member = access.loc.holder, access.loc.member
            if holder is not None and member is not None and model.scope_of(holder) == "group":
                found.add((holder, member))
    return frozenset(found)


def is_stepper(summary: Summary, model: ScopeModel, members: frozenset[tuple[str, str]]) -> bool:
    """Takes a task, reads its group's thread list, returns a task."""
    task = model.roots.task
    returns = summary.returns_struct or (summary.returns.struct if summary.returns else None)
    if returns != task or not summary.params or summary.param_structs[:1] != (task,):
        return False
    return any(
        access.loc.base == "$0" and (access.loc.holder or "", access.loc.member or "") in members
        for access in summary.accesses
    )


def stepper_walks(
    model: ScopeModel,
    body: Node,
    lookup: Callable[[str], Summary | None],
    thread_list: Callable[[], frozenset[tuple[str, str]]],
) -> Iterator[WalkRegion]:
    """Loops advancing a task variable with a thread stepper (``t = next_thread(t)``)."""
    members: frozenset[tuple[str, str]] | None = None
    for node in nodes(body):
        if (
            node.type != "assignment_expression"
            or text(node.child_by_field_name("operator")) != "="
        ):
            continue
        left = node.child_by_field_name("left")
        right = strip(node.child_by_field_name("right"))
        if left is None or left.type != "identifier" or right is None:
            continue
        if right.type != "call_expression":
            continue
        args = call_args(right)
        function = right.child_by_field_name("function")
        argument = strip(args[0]) if len(args) == 1 else None
        if function is None or argument is None or text(argument) != text(left):
            continue
        summary = lookup(text(function))
        if summary is None:
            continue
        if members is None:
            members = thread_list()
        if not is_stepper(summary, model, members):
            continue
        loop = node.parent
        while loop is not None and loop.type not in LOOPS + ("function_definition",):
            loop = loop.parent
        if loop is None or loop.type not in LOOPS:
            continue
        cursor = text(left)
        yield WalkRegion(
            text(function),
            cursor,
            Loc(cursor, (), (model.roots.task,)),
            True,
            loop.start_byte,
            loop.end_byte,
            line_of(loop),
        )
