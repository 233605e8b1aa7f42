"""The task-scope knowledge as one analysed file sees it.

With a tree (the unit's function index), the tree's inferred knowledge is used,
loaded once per process from the cache; the file's own functions are read on top
of it.  Without a tree, a file that declares task state itself (a miniature kernel)
is its own tree.  Any other file borrows the knowledge of the tree the cache holds,
when that is unambiguous (registry.tree_for_patch_only: one kernel version cached);
otherwise it is not analysed, and the unit carries the reason to the report
(AnalysisUnit.not_analysed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

import patchlint.knowledge as _knowledge
from patchlint.rules.taskscope.cache import load_or_infer
from patchlint.rules.taskscope.evidence import Anchor, anchor_of, fact_of, normalised
from patchlint.rules.taskscope.extract import Call, FunctionReading, Site
from patchlint.rules.taskscope.infer import Knowledge, infer
from patchlint.rules.taskscope.model import Fact, Summary, ThreadFact
from patchlint.rules.taskscope.registry import tree_for_patch_only
from patchlint.rules.taskscope.scopes import Roots, ScopeModel, roots
from patchlint.rules.taskscope.summaries import SummaryStore, constructs_of
from patchlint.rules.taskscope.treefiles import TreeFiles
from patchlint.source import FunctionDef, SourceFile
from patchlint.units import AnalysisUnit

Node = tree_sitter.Node
_CACHE_KEY = "taskscope:view"
_trees: dict[str, Knowledge] = {}
_lock = threading.Lock()
_models: list[tuple[Knowledge, Roots, ScopeModel]] = []


def tree_knowledge(root: Path) -> Knowledge:
    """The knowledge of the tree at ``root``, inferred once per process (and cached)."""
    key = str(root.resolve())
    with _lock:
        known = _trees.get(key)
        if known is None:
            known, _hit = load_or_infer(root)
            _with_overrides(known)
            _trees[key] = known
        return known


def _with_overrides(knowledge: Knowledge) -> None:
    from patchlint.rules.taskstate import apply_overrides

    apply_overrides(knowledge, ScopeModel(roots(), knowledge.structs))


def _forget() -> None:
    _trees.clear()
    _models.clear()


def _model_of(knowledge: Knowledge) -> ScopeModel:
    """One scope model per knowledge, shared by the views of every file image (its
    index of member holders costs about a millisecond to build)."""
    scope_roots = roots()
    with _lock:
        for known, known_roots, model in _models:
            if known is knowledge and known_roots is scope_roots:
                return model
        model = ScopeModel(scope_roots, knowledge.structs)
        _models[:] = [(knowledge, scope_roots, model)]
        return model


_knowledge.on_change(_forget)


@dataclass
class Located:
    """An access of a function with the node doing it, classified."""

    site: Site
    fact: Fact
    anchor: Anchor

    @property
    def node(self) -> Node:
        return self.site.node


@dataclass
class FunctionView:
    fn: FunctionDef
    reading: FunctionReading
    located: list[Located]

    def spell(self, anchor: Anchor) -> str:
        base, path = anchor
        if base.startswith("$") and base[1:].isdigit():
            index = int(base[1:])
            base = self.reading.params[index] if index < len(self.reading.params) else base
        return "->".join((base,) + path)


@dataclass
class TaskView:
    """The analysed functions of one file image read against the tree's knowledge.

    The functions the unit wants are read when the view is built; their same-file
    callers (which tell how a wanted function is called) only when a rule first asks
    for them (``functions``, ``by_name``, ``callers``): most images have nothing to
    judge, and the callers' reading was then most of the view's cost."""

    knowledge: Knowledge
    model: ScopeModel
    source: SourceFile
    origin: str  # "tree", "file", or "cached <version> tree at <root>"
    store: SummaryStore
    wanted: list[FunctionView] = field(default_factory=list)
    wanted_names: set[str] = field(default_factory=set)
    _functions: list[FunctionView] | None = field(default=None, repr=False)
    _by_name: dict[str, FunctionView] = field(default_factory=dict, repr=False)

    @property
    def functions(self) -> list[FunctionView]:
        """Every function read, in source order: the wanted ones and their callers."""
        if self._functions is None:
            read = {id(fv.fn): fv for fv in self.wanted}
            for fn in self.source.functions:
                if id(fn) not in read and _calls(self.source, fn, self.wanted_names):
                    read[id(fn)] = _read(self, fn)
            self._functions = [read[id(fn)] for fn in self.source.functions if id(fn) in read]
            for function_view in self._functions:
                self._by_name.setdefault(function_view.fn.name, function_view)
        return self._functions

    @property
    def by_name(self) -> dict[str, FunctionView]:
        self.functions  # noqa: B018 - completes the reading
        return self._by_name

    def origin_note(self) -> str:
        """How the knowledge was come by, when it is not the tree's own."""
        if self.origin == "file":
            return " in this file (no tree given)"
        if self.origin != "tree":
            return f" (no tree given: inferred from the {self.origin})"
        return ""

    def thread_fact(self, fact: Fact) -> ThreadFact | None:
        found = self.knowledge.thread_facts.get(fact.name)
        return found if found is not None and found.fact == fact else None

    def summary(self, name: str) -> Summary | None:
        return self.store.summary(name, self.source.path)

    def callers(self, name: str) -> list[tuple[FunctionView, Call]]:
        return [(f, c) for f in self.functions for c in f.reading.calls if c.name == name]


def _root(unit: AnalysisUnit) -> Path | None:
    root = getattr(unit.index, "root", None)
    if isinstance(root, Path) and root.is_dir():
        return root
    return None


def view_of(unit: AnalysisUnit) -> TaskView | None:
    """The view of one file image, built once per unit; None when nothing is known."""
    cached = unit.cache.get(_CACHE_KEY)
    if isinstance(cached, TaskView):
        return cached
    if _CACHE_KEY in unit.cache:
        return None
    view = _build(unit)
    unit.cache[_CACHE_KEY] = view
    return view


def _build(unit: AnalysisUnit) -> TaskView | None:
    source: SourceFile = unit.source
    root = _root(unit)
    if root is not None:
        knowledge, origin = tree_knowledge(root), "tree"
    else:
        knowledge, origin = infer(TreeFiles.virtual({unit.path: source.text})), "file"
        _with_overrides(knowledge)
        if not knowledge.structs:
            borrowed = tree_for_patch_only()
            if borrowed.root is None:
                unit.not_analysed(f"thread-group rules: {borrowed.reason}")
                return None
            knowledge = tree_knowledge(borrowed.root)
            origin = f"cached linux {borrowed.version} tree at {borrowed.root}"
    if not knowledge.structs:
        return None
    model = _model_of(knowledge)
    store = SummaryStore(None, model, knowledge.summaries.get)
    for fn in source.functions:
        if fn.body is not None:
            store.local.setdefault(fn.name, (source, fn))
    view = TaskView(knowledge, model, source, origin, store)
    view.wanted_names = {fn.name for fn in source.functions if unit.wants(fn.name)}
    for fn in source.functions:
        if fn.body is not None and fn.name in view.wanted_names:
            view.wanted.append(_read(view, fn))
    return view


def _read(view: TaskView, fn: FunctionDef) -> FunctionView:
    source, model, knowledge = view.source, view.model, view.knowledge
    assert fn.body is not None
    reading = view.store.reader(source.path).read(
        fn.node, fn.body, fn.name, source.path, None, constructs_of(source, fn)
    )
    located = []
    for site in reading.sites:
        fact = fact_of(site, model)
        anchor = anchor_of(site.access.loc, model)
        if fact is not None and anchor is not None:
            fact = normalised(fact, site.access.plain, knowledge.flag_words)
            located.append(Located(site, fact, anchor))
    return FunctionView(fn, reading, located)


def _calls(source: SourceFile, fn: FunctionDef, names: set[str]) -> bool:
    """Same-file callers of the analysed functions are read too: they tell how a
    function is called (on each thread of a walk, on each process of one)."""
    if fn.body is None:
        return False
    body = source.node_text(fn.body)
    return any(f"{name}(" in body for name in names)
