"""The roots of the inference: which structs hold thread, group and mm state, read from
the tree's own declarations, plus the primitives whose bodies are assembly.

``rules/kernel/task-state.toml`` names the scope structs (``[roots]``) and the memory
primitives (``[primitives]``); everything else is inferred from the code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import tree_sitter

import patchlint.knowledge as _knowledge
from patchlint.knowledge import load_toml
from patchlint.rules.taskscope.model import FieldInfo, Scope, StructInfo
from patchlint.source import parse_c

SCOPES: tuple[Scope, ...] = ("thread", "group", "mm")


@dataclass(frozen=True)
class BitOp:
    name: str
    bit: int
    word: int
    ops: tuple[str, ...]  # "read", "set", "clear"


@dataclass(frozen=True)
class Walker:
    """A task-list iterator macro (rules/kernel/iterators.toml)."""

    name: str
    cursor: int
    group: int | None  # argument naming the thread group walked, if any
    every_thread: bool  # walks every thread (of a group, or of the system)


@dataclass(frozen=True)
class Roots:
    structs: dict[str, Scope]
    task: str
    current: frozenset[str]
    wake: frozenset[str]
    bit_ops: dict[str, BitOp]
    writes: dict[str, int]
    walkers: dict[str, Walker]
    process_links: frozenset[str]


def _walkers() -> dict[str, Walker]:
    walkers: dict[str, Walker] = {}
    for entry in load_toml("kernel/iterators.toml").get("iterator", []):
        group = entry.get("group_arg")
        walkers[str(entry["name"])] = Walker(
            name=str(entry["name"]),
            cursor=int(entry.get("task_arg", 0)),
            group=int(group) if group is not None else None,
            every_thread=group is not None or bool(entry.get("double", False)),
        )
    return walkers


@functools.cache
def roots() -> Roots:
    data = load_toml("kernel/task-state.toml")
    table = data.get("roots", {})
    structs: dict[str, Scope] = {}
    for scope in SCOPES:
        for name in table.get(scope, ()):
            structs[str(name)] = scope
    primitives = data.get("primitives", {})
    bit_ops = {
        str(e["name"]): BitOp(
            str(e["name"]), int(e["bit"]), int(e["word"]), tuple(str(o) for o in e["ops"])
        )
        for e in primitives.get("bit_ops", [])
    }
    thread = [str(n) for n in table.get("thread", ())]
    return Roots(
        structs=structs,
        task=thread[0] if thread else "",
        current=frozenset(str(n) for n in table.get("current", ())),
        wake=frozenset(str(n) for n in primitives.get("wake", ())),
        bit_ops=bit_ops,
        writes={str(e["name"]): int(e["target"]) for e in primitives.get("writes", [])},
        walkers=_walkers(),
        process_links=frozenset(str(n) for n in table.get("process_links", ())),
    )


_knowledge.on_change(roots.cache_clear)


@dataclass
class ScopeModel:
    """The scope structs as the tree declares them."""

    roots: Roots
    structs: dict[str, StructInfo] = field(default_factory=dict)

    def scope_of(self, struct: str | None) -> Scope | None:
        return self.roots.structs.get(struct) if struct else None

    def target(self, holder: str | None, member: str) -> str | None:
        info = self.structs.get(holder) if holder else None
        if info is None or member not in info.fields:
            return None
        return info.fields[member].target

    @functools.cached_property
    def _holders(self) -> dict[str, list[str]]:
        holders: dict[str, list[str]] = {}
        for info in self.structs.values():
            for member in info.fields:
                holders.setdefault(member, []).append(info.name)
        return holders

    def unique_holder(self, member: str) -> str | None:
        """The scope struct that alone has ``member`` (types of macro arguments)."""
        found = self._holders.get(member, [])
        return found[0] if len(found) == 1 else None

    def links(self, scope: Scope) -> list[str]:
        """Members of the task struct that lead to a struct of ``scope``."""
        task = self.structs.get(self.roots.task)
        if task is None:
            return []
        return [
            f.name
            for f in task.fields.values()
            if f.target and self.scope_of(f.target) == scope and f.target != task.name
        ]

    def member_line(self, holder: str, member: str) -> tuple[str, int] | None:
        info = self.structs.get(holder)
        if info is None or member not in info.fields:
            return None
        return info.file, info.fields[member].line


# --------------------------------------------------------------------- declarations


def _text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _struct_name(type_node: tree_sitter.Node | None) -> str | None:
    if type_node is not None and type_node.type == "struct_specifier":
        name = type_node.child_by_field_name("name")
        return _text(name) or None
    return None


def declarator_name(node: tree_sitter.Node | None) -> str | None:
    while node is not None:
        if node.type in ("identifier", "field_identifier"):
            return _text(node)
        inner = node.child_by_field_name("declarator")
        if inner is None:
            return None
        node = inner
    return None


def _members(body: tree_sitter.Node, into: dict[str, FieldInfo]) -> None:
    for child in body.named_children:
        if child.type.startswith("preproc_"):
            _members(child, into)  # both arms of an #ifdef declare members
            continue
        if child.type != "field_declaration":
            continue
        type_node = child.child_by_field_name("type")
        target = _struct_name(type_node)
        declarators = child.children_by_field_name("declarator")
        if not declarators and type_node is not None:
            nested = type_node.child_by_field_name("body")
            if nested is not None:  # an anonymous struct or union: its members are ours
                _members(nested, into)
            continue
        for declarator in declarators:
            name = declarator_name(declarator)
            if (
                name
                and name.isidentifier()
                and name not in ("struct", "union")
                and name not in into
            ):
                into[name] = FieldInfo(name, declarator.start_point[0] + 1, target)


def read_structs(
    text: str, path: str, wanted: dict[str, Scope], found: dict[str, StructInfo]
) -> None:
    """Add the definitions of ``wanted`` structs in one file to ``found`` (first wins)."""
    source = parse_c(text, path)
    stack = [source.tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "struct_specifier":
            name = _text(node.child_by_field_name("name"))
            body = node.child_by_field_name("body")
            if name in wanted and body is not None and name not in found:
                info = StructInfo(name, wanted[name], path, node.start_point[0] + 1)
                _members(body, info.fields)
                if info.fields:
                    found[name] = info
        stack.extend(reversed(node.named_children))


def struct_pattern(names: list[str]) -> str:
    return r"^\s*struct\s+(" + "|".join(re.escape(n) for n in names) + r")\s*\{"
