"""Task-state knowledge (rules/kernel/task-state.toml) and the syntax it is matched on.

The knowledge base says which task state is per-thread and which is per-group, the
accessors of each and the actions on one thread or on a whole process.  This module
turns it into typed records and offers the small AST helpers the thread-group rules
share: call sites, the task an accessor tests, aliases of ``current`` and of
``X->signal``, and the task-list walks recorded by the normaliser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import patchlint.knowledge as _knowledge
from patchlint.knowledge import load_toml

CURRENT = "current"


@dataclass(frozen=True)
class Accessor:
    name: str
    family: str
    kind: str  # "test", "set", "clear", "test_and_set", "test_and_clear"
    task_arg: int  # -1: the running thread
    flag_arg: int
    ti_arg: bool = False


@dataclass(frozen=True)
class Owner:
    function: str
    file: str
    why: str


@dataclass(frozen=True)
class PerThread:
    name: str
    family: str
    when: str  # "any", "process", "never"
    concept: str
    meaning: str
    counterpart: str = ""
    counterpart_calls: tuple[str, ...] = ()
    counterpart_fields: tuple[str, ...] = ()
    owners: tuple[Owner, ...] = ()
    owner_guards: tuple[str, ...] = ()

    def replacement(self, task: str) -> str:
        return self.counterpart.replace("{task}", task)

    def owner(self, function: str | None) -> Owner | None:
        return next((o for o in self.owners if o.function == function), None)


@dataclass(frozen=True)
class SingleAction:
    name: str
    task_arg: int
    group_walk: str
    group_function: str = ""
    group_call: str = ""
    group_needs_definition: bool = False
    pidtype_arg: int | None = None
    single_pidtype: tuple[str, ...] = ()
    signal: bool = False


@dataclass(frozen=True)
class Walk:
    name: str
    cursor: int


@dataclass
class TaskStateKB:
    accessors: dict[str, Accessor]
    task_flags_field: str
    current_names: frozenset[str]
    ti_of_task: frozenset[str]
    ti_current: frozenset[str]
    per_thread: dict[str, PerThread]
    group_predicates: frozenset[str]
    signal_fields: frozenset[str]
    signal_flags: frozenset[str]
    leader_fields: frozenset[str]
    write_fields: frozenset[str]
    write_calls: frozenset[str]
    write_flag_field: str
    write_flag_bits: frozenset[str]
    writers: dict[str, tuple[int, str]]
    actions: dict[str, SingleAction]
    group_action_calls: frozenset[str]
    tgid_pidtypes: frozenset[str]
    thread_walks: dict[str, Walk]
    process_walks: dict[str, Walk]
    context_functions: frozenset[str]
    context_files: tuple[str, ...]
    reportable: dict[str, PerThread] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reportable = {k: v for k, v in self.per_thread.items() if v.when != "never"}

    def prefilter_tokens(self) -> tuple[str, ...]:
        """Words one of which a file must contain for either rule to have anything to say."""
        return tuple(self.reportable) + tuple(self.actions)

    def in_context_file(self, path: str) -> bool:
        return any(path == f or path.endswith("/" + f) for f in self.context_files)


def _walks(entries: list[dict[str, Any]]) -> dict[str, Walk]:
    return {e["name"]: Walk(e["name"], int(e["cursor"])) for e in entries}


@functools.cache
def knowledge() -> TaskStateKB:
    data = load_toml("kernel/task-state.toml")
    per_thread = {}
    for entry in data.get("per_thread", []):
        per_thread[entry["name"]] = PerThread(
            name=entry["name"],
            family=entry["family"],
            when=entry.get("when", "never"),
            concept=entry.get("concept", ""),
            meaning=entry.get("meaning", ""),
            counterpart=entry.get("counterpart", ""),
            counterpart_calls=tuple(entry.get("counterpart_calls", ())),
            counterpart_fields=tuple(entry.get("counterpart_fields", ())),
            owners=tuple(
                Owner(o["function"], o.get("file", ""), o.get("why", ""))
                for o in entry.get("owners", ())
            ),
            owner_guards=tuple(entry.get("owner_guards", ())),
        )
    actions = {}
    for entry in data.get("single_action", []):
        actions[entry["name"]] = SingleAction(
            name=entry["name"],
            task_arg=int(entry["task_arg"]),
            group_walk=entry.get("group_walk", ""),
            group_function=entry.get("group_function", ""),
            group_call=entry.get("group_call", ""),
            group_needs_definition=bool(entry.get("group_needs_definition", False)),
            pidtype_arg=entry.get("pidtype_arg"),
            single_pidtype=tuple(entry.get("single_pidtype", ())),
            signal=bool(entry.get("signal", False)),
        )
    group = data.get("group", {})
    writes = data.get("group_writes", {})
    iterators = data.get("iterators", {})
    contexts = data.get("contexts", {})
    return TaskStateKB(
        accessors={
            e["name"]: Accessor(
                e["name"],
                e["family"],
                e["kind"],
                int(e["task_arg"]),
                int(e["flag_arg"]),
                bool(e.get("ti_arg", False)),
            )
            for e in data.get("accessor", [])
        },
        task_flags_field=data.get("task_flags", {}).get("field", "flags"),
        current_names=frozenset(data.get("current", {}).get("names", ())),
        ti_of_task=frozenset(data.get("thread_info", {}).get("of_task", ())),
        ti_current=frozenset(data.get("thread_info", {}).get("current", ())),
        per_thread=per_thread,
        group_predicates=frozenset(group.get("predicates", ())),
        signal_fields=frozenset(group.get("signal_fields", ())),
        signal_flags=frozenset(group.get("signal_flags", ())),
        leader_fields=frozenset(group.get("leader_fields", ())),
        write_fields=frozenset(writes.get("fields", ())),
        write_calls=frozenset(writes.get("calls", ())),
        write_flag_field=writes.get("flag_field", ""),
        write_flag_bits=frozenset(writes.get("flag_bits", ())),
        writers={w["name"]: (int(w["task_arg"]), w["member"]) for w in writes.get("writers", ())},
        actions=actions,
        group_action_calls=frozenset(data.get("group_actions", {}).get("calls", ())),
        tgid_pidtypes=frozenset(data.get("group_actions", {}).get("tgid_pidtypes", ())),
        thread_walks=_walks(iterators.get("thread_walks", [])),
        process_walks=_walks(iterators.get("process_walks", [])),
        context_functions=frozenset(contexts.get("functions", ())),
        context_files=tuple(contexts.get("files", ())),
    )


# --------------------------------------------------------------------------- syntax

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Canonical spelling of an expression: keys must not change with reformatting."""
    text = _SPACE.sub(" ", text).strip()
    text = re.sub(r"\s*(->|\.)\s*", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    return re.sub(r"\s+\)", ")", text)


def strip_parens(node: Any) -> Any:
    while node is not None and node.type == "parenthesized_expression" and node.named_child_count:
        node = node.named_children[0]
    return node


def walk(node: Any) -> Iterator[Any]:
    """Pre-order over named descendants, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


@dataclass
class Call:
    name: str
    node: Any
    args: list[Any]


def calls_in(node: Any) -> Iterator[Call]:
    for child in walk(node):
        if child.type != "call_expression":
            continue
        function = child.child_by_field_name("function")
        if function is None or function.type != "identifier":
            continue
        arguments = child.child_by_field_name("arguments")
        args = list(arguments.named_children) if arguments is not None else []
        args = [a for a in args if a.type != "comment"]
        yield Call(function.text.decode("utf-8", "replace"), child, args)


def field_chain(node: Any) -> list[str] | None:
    """``p->signal->oom_mm`` -> ["p", "signal", "oom_mm"]; None when not a plain chain."""
    parts: list[str] = []
    node = strip_parens(node)
    while node is not None and node.type == "field_expression":
        name = node.child_by_field_name("field")
        if name is None:
            return None
        parts.append(name.text.decode("utf-8", "replace"))
        node = strip_parens(node.child_by_field_name("argument"))
    if node is None:
        return None
    if node.type == "identifier":
        parts.append(node.text.decode("utf-8", "replace"))
    elif node.type == "call_expression":
        parts.append(squash(node.text.decode("utf-8", "replace")))
    else:
        return None
    parts.reverse()
    return parts


def ancestors(node: Any) -> Iterator[Any]:
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


_STATEMENTS = (
    "if_statement",
    "while_statement",
    "do_statement",
    "for_statement",
    "return_statement",
    "expression_statement",
    "declaration",
)


def enclosing_condition(node: Any) -> Any:
    """The whole condition (or returned/assigned expression) a test belongs to.

    Guards that scope a per-thread test sit in the same condition, e.g.
    ``thread_group_empty(task) && (task->flags & PF_EXITING)``.
    """
    for parent in ancestors(node):
        if parent.type in _STATEMENTS:
            condition = parent.child_by_field_name("condition")
            return condition if condition is not None else parent
    return node


@dataclass
class Aliases:
    """Local names bound to ``current``, to a task's signal_struct, or to a group leader."""

    current: set[str] = field(default_factory=set)
    signal_of: dict[str, str] = field(default_factory=dict)  # "sig" -> "p"
    leaders: set[str] = field(default_factory=set)


def _bindings(body: Any) -> Iterator[tuple[str, Any]]:
    for node in walk(body):
        if node.type == "init_declarator":
            target = node.child_by_field_name("declarator")
            value = node.child_by_field_name("value")
            while target is not None and target.type == "pointer_declarator":
                target = target.child_by_field_name("declarator")
            if target is not None and target.type == "identifier" and value is not None:
                yield target.text.decode("utf-8", "replace"), value
        elif node.type == "assignment_expression":
            left = node.child_by_field_name("left")
            op = node.child_by_field_name("operator")
            if left is not None and left.type == "identifier" and (op is None or op.text == b"="):
                yield left.text.decode("utf-8", "replace"), node.child_by_field_name("right")


def aliases(kb: TaskStateKB, function_node: Any) -> Aliases:
    result = Aliases()
    for name, value in _bindings(function_node):
        value = strip_parens(value)
        if value is None:
            continue
        text = squash(value.text.decode("utf-8", "replace"))
        chain = field_chain(value)
        if text in kb.current_names or text in result.current:
            result.current.add(name)
        elif chain and len(chain) >= 2 and chain[-1] == "signal":
            result.signal_of[name] = squash("->".join(chain[:-1]))
        elif chain and chain[-1] in kb.leader_fields:
            result.leaders.add(name)
    return result


def task_name(kb: TaskStateKB, node: Any, names: Aliases) -> str:
    """Canonical name of a task expression; aliases of current become "current"."""
    node = strip_parens(node)
    text = squash(node.text.decode("utf-8", "replace"))
    if text in kb.current_names or text in names.current:
        return CURRENT
    if node.type == "call_expression":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        fname = function.text.decode("utf-8", "replace") if function is not None else ""
        if fname in kb.ti_current:
            return CURRENT
        if fname in kb.ti_of_task and arguments is not None and arguments.named_child_count:
            return task_name(kb, arguments.named_children[0], names)
    return text


def signal_owner(chain: list[str], names: Aliases) -> tuple[str, str] | None:
    """For ``X->signal->F`` (or ``sig->F`` with sig = X->signal): (task X, member F)."""
    if len(chain) >= 3 and "signal" in chain[1:-1]:
        at = chain.index("signal", 1)
        return squash("->".join(chain[:at])), chain[at + 1]
    if len(chain) >= 2 and chain[0] in names.signal_of:
        return names.signal_of[chain[0]], chain[1]
    return None


# User configuration may extend the knowledge data; drop what was derived from it.
_knowledge.on_change(knowledge.cache_clear)
