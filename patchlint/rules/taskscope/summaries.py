"""Function summaries over the tree: each function or function-like macro is read once,
with its callees' summaries folded in, and kept for the run.

Definitions are located in batches (one grep for a whole wave of names) in the
common directories of the tree; a name defined in the caller's own file wins, as
a static function does in C.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from patchlint.rules.taskscope.extract import FunctionReading, Reader, nodes, text
from patchlint.rules.taskscope.loops import thread_list_members
from patchlint.rules.taskscope.model import Access, Summary, Wake
from patchlint.rules.taskscope.scopes import ScopeModel
from patchlint.rules.taskscope.treefiles import Head, MacroDef, TreeFiles
from patchlint.source import FunctionDef, SourceFile, parse_c

MAX_DEPTH = 10
MAX_ACCESSES = 160


def constructs_of(
    source: SourceFile, fn: FunctionDef
) -> list[tuple[str, tuple[str, ...], int, int]]:
    return [
        (c.name, c.args, c.start, c.line)
        for c in source.constructs_in(fn.node)
        if c.kind == "iterator"
    ]


def summary_of(
    reading: FunctionReading,
    file: str,
    line: int,
    macro: bool,
    returns_struct: str | None,
    value: bool = False,
    static: bool = False,
    model: ScopeModel | None = None,
) -> Summary:
    """Keep what callers can use: accesses, wakes and selects on parameters or current."""
    accesses: list[Access] = []
    seen: set[tuple[object, ...]] = set()
    facts: set[tuple[str | None, str | None, str | None]] = set()
    for site in reading.sites:
        access = site.access
        if not (access.loc.base.startswith("$") or access.loc.base == "current"):
            continue
        if model is None or not navigation(model, access.loc.holder, access.loc.member):
            facts.add((access.loc.holder, access.loc.member, access.bit))
        key = (access.op, access.loc.base, access.loc.path, access.bit, access.cond)
        if key in seen:
            continue
        seen.add(key)
        accesses.append(access)
    wakes: list[Wake] = []
    for wake, _node in reading.wakes + reading.alias_wakes:
        if wake.loc.base.startswith("$") and all(
            (w.loc, w.select, w.scope) != (wake.loc, wake.select, wake.scope) for w in wakes
        ):
            wakes.append(wake)
    return Summary(
        thread_params=tuple(sorted(reading.touched | own_thread_params(reading, model))),
        as_process=tuple(sorted(reading.as_process)),
        name=reading.name,
        file=file,
        line=line,
        params=tuple(reading.params),
        param_structs=tuple(reading.param_structs),
        accesses=tuple(accesses[:MAX_ACCESSES]),
        wakes=tuple(wakes),
        walk_wakes=tuple(reading.walk_wakes),
        selects=tuple(reading.selects),
        returns=reading.returns,
        returns_struct=returns_struct,
        calls=tuple(sorted({c.name for c in reading.calls})),
        macro=macro,
        value=value,
        static=static,
        breadth=len(facts),
    )


def own_thread_params(reading: FunctionReading, model: ScopeModel | None) -> set[int]:
    """Task parameters whose own members (not the links to their group, their mm or
    other tasks) the function reads or writes."""
    found: set[int] = set()
    if model is None:
        return found
    for site in reading.sites:
        loc = site.access.loc
        if not loc.base.startswith("$") or model.scope_of(loc.holder) != "thread":
            continue
        if any(step == model.roots.task for step in loc.chain[1:-1]):
            continue  # p->parent->flags: another task's state
        if model.scope_of(model.target(loc.holder, loc.member or "")) is not None:
            continue  # p->signal, p->mm, p->parent: the way to other state
        found.add(int(loc.base[1:]))
    return found


def navigation(model: ScopeModel, holder: str | None, member: str | None) -> bool:
    """``p->signal``, ``p->thread_info``: the way from a task to its other state, not a
    fact of its own."""
    if holder != model.roots.task or member is None:
        return False
    return model.scope_of(model.target(holder, member)) in ("thread", "group")


def returns_value(fn: FunctionDef) -> bool:
    type_node = fn.node.child_by_field_name("type")
    declarator = fn.node.child_by_field_name("declarator")
    pointer = declarator is not None and declarator.type == "pointer_declarator"
    return pointer or text(type_node) != "void"


def returned_struct(fn: FunctionDef) -> str | None:
    type_node = fn.node.child_by_field_name("type")
    if type_node is not None and type_node.type == "struct_specifier":
        declarator = fn.node.child_by_field_name("declarator")
        if declarator is not None and declarator.type == "pointer_declarator":
            return text(type_node.child_by_field_name("name")) or None
    return None


class SummaryStore:
    """Summaries of a tree's functions, computed on demand and memoised."""

    def __init__(
        self,
        files: TreeFiles | None,
        model: ScopeModel,
        fallback: Callable[[str], Summary | None] | None = None,
    ) -> None:
        self.files = files
        self.model = model
        self.fallback = fallback
        self.summaries: dict[tuple[str, str], Summary | None] = {}
        self.located: dict[str, list[Head]] = {}
        self.local: dict[str, tuple[SourceFile, FunctionDef]] = {}
        self._stack: list[tuple[str, str]] = []
        self.wide_files: set[str] = set()
        self._thread_list: frozenset[tuple[str, str]] | None = None

    # ----------------------------------------------------------------- locating

    def locate(self, names: Iterable[str]) -> None:
        missing = [n for n in set(names) if n not in self.located]
        if not missing:
            return
        if self.files is None:
            self.located.update({n: [] for n in missing})
            return
        self.located.update(self.files.definitions(missing))

    def _definition(
        self, name: str, from_file: str
    ) -> tuple[str, FunctionDef | MacroDef, SourceFile | None] | None:
        """The definition a call in ``from_file`` reaches: its own file first, then an
        extern function in a .c file, then a header's; static functions of other .c
        files are invisible, and empty header stubs (the !CONFIG arm) come last."""
        if name in self.local:
            source, fn = self.local[name]
            return source.path, fn, source
        if self.files is None:
            return None
        self.locate([name])
        files = self.files
        heads = [
            h
            for h in self.located.get(name, [])
            if h.path == from_file or not (h.kind == "static" and h.path.endswith(".c"))
        ]
        heads.sort(
            key=lambda h: (h.path != from_file, h.path.endswith(".h"), files.tier(h.path), h.path)
        )
        fallback: tuple[str, FunctionDef | MacroDef, SourceFile | None] | None = None
        for head in heads:
            if head.kind == "macro":
                macro = files.macros(head.path).get(name)
                if macro is not None:
                    return head.path, macro, None
                continue
            parsed = files.parsed(head.path)
            found = parsed.function(name) if parsed is not None else None
            if parsed is None or found is None or found.body is None:
                continue
            if found.body.named_child_count == 0 and head.path.endswith(".h"):
                fallback = fallback or (head.path, found, parsed)
                continue  # an empty stub: a real body may follow
            return head.path, found, parsed
        return fallback

    # --------------------------------------------------------------- summaries

    def summary(self, name: str, from_file: str = "") -> Summary | None:
        found = self._definition(name, from_file)
        if found is None:
            return self.fallback(name) if self.fallback is not None else None
        path, definition, source = found
        key = (path, name)
        if key in self.summaries:
            return self.summaries[key]
        if key in self._stack or len(self._stack) >= MAX_DEPTH:
            return None
        self._stack.append(key)
        try:
            if isinstance(definition, MacroDef):
                summary = self._macro_summary(definition)
            else:
                assert source is not None
                summary = self._function_summary(source, definition)
        finally:
            self._stack.pop()
        self.summaries[key] = summary
        return summary

    def reader(self, from_file: str) -> Reader:
        return Reader(
            self.model, lambda name: self.summary(name, from_file), self._wide, self.thread_list
        )

    def thread_list(self) -> frozenset[tuple[str, str]]:
        """The group members the thread iterators follow, from the iterators' summaries
        computed at the top of the stack (a summary computed deep down is cut short)."""
        if self._thread_list is None:
            self._thread_list = frozenset()  # while computing: no stepper inside iterators
            saved, self._stack = self._stack, []
            try:
                self._thread_list = thread_list_members(self.model, self.summary)
            finally:
                self._stack = saved
        return self._thread_list

    def _wide(self, name: str) -> bool:
        """Callees defined where group state is handled are always read, even when they
        take no task argument (``do_group_exit(code)`` works on current)."""
        if not self.wide_files:
            return False
        self.locate([name])
        return any(h.path in self.wide_files for h in self.located.get(name, []))

    def _function_summary(self, source: SourceFile, fn: FunctionDef) -> Summary:
        reading = self.read_function(source, fn)
        return summary_of(
            reading,
            source.path,
            fn.start_line,
            False,
            returned_struct(fn),
            returns_value(fn),
            fn.is_static and source.path.endswith(".c"),
            self.model,
        )

    def read_function(self, source: SourceFile, fn: FunctionDef) -> FunctionReading:
        reader = self.reader(source.path)
        return reader.read(fn.node, fn.body, fn.name, source.path, None, constructs_of(source, fn))

    def _macro_summary(self, macro: MacroDef) -> Summary | None:
        params = [p for p in macro.params if p != "..."]
        for value, wrapper in (
            (True, f"long __taskscope_macro(void) {{ return ({macro.body}); }}"),
            (False, f"void __taskscope_macro(void) {{ {macro.body}; }}"),
        ):
            source = parse_c(wrapper, macro.file)
            fn = source.function("__taskscope_macro")
            if fn is None or fn.body is None or fn.has_errors:
                continue
            reader = self.reader(macro.file)
            reading = reader.read(
                fn.node, fn.body, macro.name, macro.file, params, constructs_of(source, fn)
            )
            reading.name = macro.name
            shifted = summary_of(
                reading, macro.file, macro.line, True, None, value, False, self.model
            )
            return _at_line(shifted, macro.line)
        return None

    # ----------------------------------------------------------------- waves

    def callee_names(self, source: SourceFile, fn: FunctionDef) -> set[str]:
        names: set[str] = set()
        if fn.body is None:
            return names
        for node in nodes(fn.body):
            if node.type == "call_expression":
                function = node.child_by_field_name("function")
                if function is not None and function.type == "identifier":
                    names.add(text(function))
        return names


def _at_line(summary: Summary, line: int) -> Summary:
    """A macro body is parsed on its own: its accesses are placed on the #define line."""
    summary.accesses = tuple(replace(a, line=line) for a in summary.accesses)
    summary.wakes = tuple(replace(w, line=line) for w in summary.wakes)
    return summary
