"""What an assignment tells the reader about a variable: a parameter replaced by its
process, a task found from a pid parameter, a pointer that picks the thread's or the
group's state by comparing a parameter with a constant."""

from __future__ import annotations

from collections.abc import Callable

from patchlint.rules.taskscope.model import Loc, Select, Where
from patchlint.rules.taskscope.scopes import Roots, ScopeModel
from patchlint.rules.taskscope.syntax import FunctionReading, Node, call_args, strip, text


def own_process_link(roots: Roots, name: str, value: Node) -> bool:
    """``p = rcu_dereference(p->group_leader)``: the parameter becomes its process."""
    inner: Node | None = value
    while inner is not None and inner.type == "call_expression" and len(call_args(inner)) == 1:
        inner = strip(call_args(inner)[0])
    if inner is None or inner.type != "field_expression":
        return False
    base = strip(inner.child_by_field_name("argument"))
    field = text(inner.child_by_field_name("field"))
    return text(base) == name and field in roots.process_links


def looked_up(
    model: ScopeModel, reading: FunctionReading, struct: str | None, value: Node
) -> Loc | None:
    """``t = pid_task(pid, type)``: a task variable found from a parameter that is not
    task state (a pid): what is done to ``t`` is done to the task ``pid`` names."""
    if value.type != "call_expression" or struct != model.roots.task:
        return None
    args = call_args(value)
    first = strip(args[0]) if args else None
    if first is None or first.type != "identifier" or text(first) not in reading.params:
        return None
    index = reading.params.index(text(first))
    param_struct = reading.param_structs[index]
    if param_struct is None or model.scope_of(param_struct) is not None:
        return None
    return Loc(f"${index}", (), (param_struct,))


def pid_select(
    model: ScopeModel,
    reading: FunctionReading,
    path: str,
    node: Node,
    resolve: Callable[[Node | None], Loc | None],
) -> Select | None:
    """``pending = type != PIDTYPE_PID ? &t->signal->shared_pending : &t->pending``: a
    parameter compared with a constant picks a thread or a group location."""
    condition = strip(node.child_by_field_name("condition"))
    if condition is None or condition.type != "binary_expression":
        return None
    operator = text(condition.child_by_field_name("operator"))
    left = strip(condition.child_by_field_name("left"))
    right = strip(condition.child_by_field_name("right"))
    if operator not in ("==", "!=") or left is None or right is None:
        return None
    if text(left) not in reading.params:
        left, right = right, left
    if text(left) not in reading.params or right.type != "identifier":
        return None
    scopes = []
    for branch in ("consequence", "alternative"):
        loc = resolve(strip(node.child_by_field_name(branch)))
        scopes.append(model.scope_of(loc.holder) if loc is not None else None)
    first, second = scopes
    if first is None or second is None or first == second:
        return None
    equal, other = (first, second) if operator == "==" else (second, first)
    return Select(
        reading.params.index(text(left)),
        text(right),
        equal,
        other,
        Where(path, node.start_point[0] + 1, reading.name),
    )
