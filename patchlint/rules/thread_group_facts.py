"""Per-function and per-file facts shared by the thread-group rules.

Everything here is computed once per SourceFile and kept in ``unit.cache`` so that
both rules (and both images of a patch, each with its own unit) pay for it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patchlint.findings import Evidence
from patchlint.rules.engine import AnalysisUnit
from patchlint.rules.taskstate import (
    Aliases,
    Call,
    TaskStateKB,
    aliases,
    calls_in,
    squash,
    task_name,
)

_CACHE_KEY = "thread_group"
_LOOPS = ("for_statement", "while_statement", "do_statement")


@dataclass
class WalkRegion:
    """A task-list walk: its macro, its cursor and the byte range of its body."""

    name: str
    kind: str  # "thread" or "process"
    cursor: str
    start: int
    end: int
    line: int

    def contains(self, node: Any) -> bool:
        return self.start <= node.start_byte and node.end_byte <= self.end


@dataclass
class FunctionFacts:
    function: Any  # patchlint.source.FunctionDef
    names: Aliases
    calls: list[Call]
    walks: list[WalkRegion]

    def walk_at(self, node: Any, kind: str, cursor: str) -> WalkRegion | None:
        for region in self.walks:
            if region.kind == kind and region.cursor == cursor and region.contains(node):
                return region
        return None


@dataclass
class FileFacts:
    # Every definition, in order (both arms of an #ifdef may define the same name).
    every: list[FunctionFacts] = field(default_factory=list)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    # callee -> [(caller, line, walk the call sits in, or None)]
    callers: dict[str, list[tuple[str, int, WalkRegion | None, Call]]] = field(default_factory=dict)


def _loop_for(source: Any, offset: int) -> Any:
    node = source.tree.root_node.descendant_for_byte_range(offset, offset)
    while node is not None and node.type not in _LOOPS:
        node = node.parent
    return node


def _walk_regions(kb: TaskStateKB, source: Any, fn: Any) -> list[WalkRegion]:
    regions: list[WalkRegion] = []
    constructs_in = getattr(source, "constructs_in", None)
    if constructs_in is None:
        return regions
    for construct in constructs_in(fn.node):
        if getattr(construct, "kind", "") != "iterator":
            continue
        if construct.name in kb.thread_walks:
            kind, walk = "thread", kb.thread_walks[construct.name]
        elif construct.name in kb.process_walks:
            kind, walk = "process", kb.process_walks[construct.name]
        else:
            continue
        args = tuple(construct.args)
        if walk.cursor >= len(args):
            continue
        start = construct.start
        loop = _loop_for(source, start)
        if loop is None or loop.start_byte > start + 1:
            continue
        body = loop.child_by_field_name("body") or loop
        regions.append(
            WalkRegion(
                construct.name,
                kind,
                squash(args[walk.cursor]),
                body.start_byte,
                loop.end_byte,
                construct.line,
            )
        )
    return regions


def file_facts(unit: AnalysisUnit, kb: TaskStateKB) -> FileFacts:
    cached = unit.cache.get(_CACHE_KEY)
    if cached is not None:
        return cached
    facts = FileFacts()
    for fn in unit.source.functions:
        if fn.node is None:
            continue
        names = aliases(kb, fn.node)
        walks = _walk_regions(kb, unit.source, fn)
        calls = list(calls_in(fn.body if fn.body is not None else fn.node))
        facts.every.append(FunctionFacts(fn, names, calls, walks))
        facts.functions.setdefault(fn.name, facts.every[-1])
        for call in calls:
            region = next((w for w in walks if w.contains(call.node)), None)
            line = call.node.start_point[0] + 1
            facts.callers.setdefault(call.name, []).append((fn.name, line, region, call))
    unit.cache[_CACHE_KEY] = facts
    return facts


# --------------------------------------------------------------------------- tree-wide


def _index_callers(unit: AnalysisUnit, name: str) -> list[tuple[str, str, int]]:
    """(file, caller function, line) of calls to ``name`` tree-wide, when an index exists."""
    index = unit.index
    if index is None or not hasattr(index, "callers"):
        return []
    key = f"{_CACHE_KEY}:callers:{name}"
    if key in unit.cache:
        return unit.cache[key]
    result = []
    try:
        # FunctionIndex.callers: (path, FunctionDef, CallSite)
        for path, fn, site in index.callers(name) or ():
            result.append((str(path), str(fn.name), int(site.line)))
    except Exception:  # an index failure must not end the run; the rule degrades
        result = []
    unit.cache[key] = result
    return result


def defines(unit: AnalysisUnit, name: str) -> str | None:
    """Where ``name`` is defined: this file or, with an index, anywhere in the tree."""
    if unit.source.function(name) is not None:
        return unit.path
    index = unit.index
    if index is None or not hasattr(index, "definitions"):
        return None
    key = f"{_CACHE_KEY}:defines:{name}"
    if key not in unit.cache:
        try:
            # FunctionIndex.definitions: (path, FunctionDef), real definitions first
            found = [str(path) for path, fn in index.definitions(name) or () if fn.body is not None]
        except Exception:  # see _index_callers
            found = []
        unit.cache[key] = found[0] if found else None
    return unit.cache[key]


def group_context(unit: AnalysisUnit, kb: TaskStateKB, function: str) -> list[Evidence]:
    """Evidence that ``function`` is evaluated for arbitrary threads of a process."""
    evidence: list[Evidence] = []
    facts = file_facts(unit, kb)
    if function in kb.context_functions:
        evidence.append(
            Evidence(
                "note",
                f"{function}() runs on every thread the freezer, "
                "OOM killer or signal code looks at",
                unit.path,
            )
        )
    for caller, line, region, call in facts.callers.get(function, ()):
        if (
            region is not None
            and region.kind == "thread"
            and any(squash(a.text.decode("utf-8", "replace")) == region.cursor for a in call.args)
        ):
            evidence.append(
                Evidence(
                    "caller",
                    f"{caller}() calls it on each thread of a {region.name}() walk",
                    unit.path,
                    line,
                )
            )
        elif caller in kb.context_functions:
            evidence.append(Evidence("caller", f"called by {caller}()", unit.path, line))
    for path, caller, line in _index_callers(unit, function):
        if caller in kb.context_functions and path != unit.path:
            evidence.append(Evidence("caller", f"called by {caller}()", path, line))
    if not evidence and kb.in_context_file(unit.path):
        evidence.append(
            Evidence(
                "note",
                "freezer/OOM/signal code: task arguments are routinely one thread of some process",
                unit.path,
            )
        )
    return evidence


def counterpart_elsewhere(
    unit: AnalysisUnit,
    kb: TaskStateKB,
    calls: tuple[str, ...],
    function: str,
    subject: str | None = None,
) -> Evidence | None:
    """The same concept asked group-wide elsewhere: this file first, then the tree."""
    facts = file_facts(unit, kb)
    for name in calls:
        for caller, line, _region, call in facts.callers.get(name, ()):
            if caller == function:
                continue
            if subject is not None and not _on_subject(kb, facts, caller, call, subject):
                continue
            return Evidence(
                "counterpart", f"{caller}() asks it group-wide with {name}()", unit.path, line
            )
    near = unit.path.split("/", 1)[0]
    for name in calls:
        # Prefer a use in the same subsystem: that is the code the author is likely to know.
        found = sorted(
            _index_callers(unit, name), key=lambda i: (i[0].split("/", 1)[0] != near, i[0], i[2])
        )
        for path, caller, line in found:
            if caller != function:
                return Evidence(
                    "counterpart", f"{caller}() asks it group-wide with {name}()", path, line
                )
    return None


def _on_subject(kb: TaskStateKB, facts: FileFacts, caller: str, call: Call, subject: str) -> bool:
    names = facts.functions[caller].names if caller in facts.functions else Aliases()
    return any(task_name(kb, a, names) == subject for a in call.args)


def called_with_process(
    unit: AnalysisUnit, kb: TaskStateKB, fn: Any, subject: str
) -> Evidence | None:
    """A caller in this file passes a for_each_process cursor as the tested parameter."""
    if subject not in fn.params:
        return None
    position = fn.params.index(subject)
    facts = file_facts(unit, kb)
    for caller, line, _region, call in facts.callers.get(fn.name, ()):
        if position >= len(call.args) or caller not in facts.functions:
            continue
        cursor = squash(call.args[position].text.decode("utf-8", "replace"))
        region = facts.functions[caller].walk_at(call.node, "process", cursor)
        if region is not None:
            return Evidence(
                "caller",
                f"{caller}() passes each process of a {region.name}() walk as {subject}",
                unit.path,
                line,
            )
    return None
