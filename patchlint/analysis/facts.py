"""Per-file analysis facts, computed lazily and once, shared by every lock rule.

``file_facts(unit)`` is the entry point: it caches a ``FileFacts`` in
``unit.cache`` so all rules of one file image reuse the same CFGs, lock states
and summaries.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol, TypeGuard

from tree_sitter import Node

from patchlint.analysis.callindex import CallIndex
from patchlint.analysis.calls import call_args, text
from patchlint.analysis.cfg import Cfg, CfgNode, GuardInfo, build_cfg
from patchlint.analysis.conditions import (
    atom_text,
    bit_atom,
    case_formula,
    constant_truth,
    switch_subject,
)
from patchlint.analysis.constant_returns import constant_stores, integer_macros
from patchlint.analysis.deep import call_deep
from patchlint.analysis.identity import (
    canonical,
    function_resolver,
    kind_by_shape,
    local_names,
    pointee,
    pointer_roots,
    shape,
    struct_pointers,
    typed_shape,
)
from patchlint.analysis.kb import ANY_KIND, Knowledge, knowledge
from patchlint.analysis.lockstate import Events, FunctionContext, LockAnalysis
from patchlint.analysis.state import ENTRY, Held, LockState
from patchlint.source import CallSite, Construct, FunctionDef, SourceFile

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_STATEMENT_ARG = re.compile(r"^(?:return|goto|break|continue)\b|[;{]")
_MACRO = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(", re.M)


class TreeIndex(Protocol):
    """What the analysis asks of the tree (patchlint.source.FunctionIndex)."""

    def callers(self, name: str) -> list[tuple[str, FunctionDef, CallSite]]: ...

    def definitions(self, name: str) -> list[tuple[str, FunctionDef]]: ...

    def source(self, path: str) -> SourceFile | None: ...


@dataclass(frozen=True)
class Verdict:
    """Whether a function was analysed, and if not, why (shown as "not analysed")."""

    analysed: bool
    reason: str = ""
    line: int | None = None


ANALYSED = Verdict(True)


@dataclass
class FunctionFacts:
    fn: FunctionDef
    cfg: Cfg
    analysis: LockAnalysis
    events: Events
    context: FunctionContext

    @property
    def precise(self) -> bool:
        return self.analysis.precise

    def node(self, node_id: int) -> CfgNode:
        return self.cfg.nodes[node_id]

    def states(self, node_id: int) -> set[LockState]:
        return self.analysis.states[node_id]


@dataclass
class Assumption:
    """A protection held on entry to a function, and why we believe it."""

    lock: str  # a protection id (locks.toml [protection.<id>])
    how: str  # "annotation", "comment", "caller"
    message: str
    line: int | None = None
    file: str | None = None
    confidence: str = "high"
    chain: list[tuple[str, str, int]] = field(default_factory=list)  # (file, function, line)


class FileFacts:
    def __init__(self, source: SourceFile, path: str, index: TreeIndex | None = None) -> None:
        self.source = source
        self.path = path
        self.index = index
        self.kb: Knowledge = knowledge()
        self._facts: dict[str, FunctionFacts | None] = {}
        self._verdicts: dict[str, Verdict] = {}
        self._in_progress: set[str] = set()
        self.call_index = CallIndex(source)
        self._starts = [fn.start_byte for fn in source.functions]
        self.loops: dict[int, Construct] = {
            c.start: c for c in source.constructs if c.kind in ("iterator", "scoped_guard")
        }
        self.cleanups: dict[int, Construct] = {
            c.start: c
            for c in source.constructs
            if c.kind == "attribute" and c.name in self.kb.cleanup_attributes
        }
        self._cleanup_starts = sorted(self.cleanups)
        kb = self.kb
        self._lock_names = kb.lock_names() | kb.task_lookup | kb.guard_macros | kb.class_macros
        self._annotation_names = (
            kb.annotations.hold | kb.annotations.release | kb.annotations.acquire
        )
        self._construct_starts = sorted(
            c.start
            for c in source.constructs
            if c.kind == "scoped_guard"
            or (c.kind == "iterator" and c.name in kb.iterators)
            or (c.kind == "guard")
        )
        self._positions: dict[str, list[int]] = {}
        self._macros: frozenset[str] | None = None
        # Cross-function knowledge, filled by patchlint.analysis.summaries / sleep.
        self.memo: dict[str, object] = {}

    # ---- lookup helpers ----
    def function_text(self, fn: FunctionDef) -> str:
        return self.source.byte_text(fn.start_byte, fn.end_byte)

    def mentions_locks(self, fn: FunctionDef) -> bool:
        """Whether the function calls, asserts or declares anything the lock state
        reacts to (a lock function, an assertion, a guard, a task-list walk)."""
        key = f"mentions:{fn.start_byte}"
        cached = self.memo.get(key)
        if isinstance(cached, bool):
            return cached
        names = self._lock_names
        found = bool(fn.annotations) and any(
            note.name in self._annotation_names for note in fn.annotations
        )
        if not found:
            found = any(name in names for name, _node in self.calls_in_function(fn))
        if not found:
            index = bisect.bisect_left(self._construct_starts, fn.start_byte)
            found = (
                index < len(self._construct_starts) and self._construct_starts[index] < fn.end_byte
            )
        self.memo[key] = found
        return found

    def mentions(self, fn: FunctionDef, key: str, pattern: re.Pattern[bytes]) -> bool:
        """Whether ``pattern`` matches inside ``fn``; one scan of the file per pattern."""
        positions = self._positions.get(key)
        if positions is None:
            positions = self._positions[key] = [
                m.start() for m in pattern.finditer(self.source.data)
            ]
        index = bisect.bisect_left(positions, fn.start_byte)
        return index < len(positions) and positions[index] < fn.end_byte

    def function_containing(self, byte: int) -> FunctionDef | None:
        index = bisect.bisect_right(self._starts, byte) - 1
        if index >= 0:
            fn = self.source.functions[index]
            if fn.start_byte <= byte < fn.end_byte:
                return fn
        return None

    def kinds_by_shape(self) -> dict[str, str]:
        """Lock shapes (`?->lock`) this file takes with exactly one kind."""
        cached = self.memo.get("kinds-by-shape")
        if isinstance(cached, dict):
            return cached
        seen: dict[str, set[str]] = {}
        for name, nodes in self.calls_by_name().items():
            for op in self.kb.ops.get(name, ()):
                if op.kind == ANY_KIND or not isinstance(op.lock, int):
                    continue
                for node in nodes:
                    args = call_args(node)
                    if op.lock < len(args):
                        lock = pointee(args[op.lock])
                        fn = self.function_containing(node.start_byte)
                        typed = typed_shape(lock, struct_pointers(text(fn.node))) if fn else None
                        for key in (shape(lock), typed):
                            if key is not None:
                                seen.setdefault(key, set()).add(op.kind)
        found = {key: kinds.pop() for key, kinds in seen.items() if len(kinds) == 1}
        self.memo["kinds-by-shape"] = found
        return found

    def noreturn_names(self) -> frozenset[str]:
        """Functions this file declares or defines with a noreturn attribute."""
        cached = self.memo.get("noreturn")
        if isinstance(cached, frozenset):
            return cached
        names: set[str] = set()
        root = self.source.tree.root_node
        for construct in self.source.constructs:
            if construct.kind != "attribute" or construct.name not in self.kb.noreturn_attributes:
                continue
            node = root.descendant_for_byte_range(construct.start, construct.start)
            while node is not None and node.type not in ("declaration", "function_definition"):
                node = node.parent
            declarator = node.child_by_field_name("declarator") if node is not None else None
            while declarator is not None and declarator.type != "function_declarator":
                declarator = declarator.child_by_field_name("declarator")
            name = declarator.child_by_field_name("declarator") if declarator else None
            if name is not None and name.type == "identifier":
                names.add(text(name))
        found = frozenset(names)
        self.memo["noreturn"] = found
        return found

    def local_macros(self) -> frozenset[str]:
        """Function-like macros this file defines: its own meaning, not the data's."""
        if self._macros is None:
            self._macros = frozenset(_MACRO.findall(self.source.text))
        return self._macros

    def opaque_macros(self) -> frozenset[str]:
        """Macros of this file whose expansion calls something that may take or drop a
        lock (patchlint.analysis.macros): a call to one has unknown lock effects."""
        from patchlint.analysis.macros import opaque_macros

        return opaque_macros(self)

    def opaque_macro(self, name: str) -> bool:
        """Whether a call to the macro ``name`` has unknown lock effects, once the tree
        is asked about what its expansion calls (patchlint.analysis.macros)."""
        from patchlint.analysis.macros import opaque_macro

        return opaque_macro(self, name)

    def calls_by_name(self) -> dict[str, list[Node]]:
        """Every direct call in the file, by callee name (one tree-sitter query)."""
        return self.call_index.by_name()

    def local_names(self, fn: FunctionDef) -> frozenset[str]:
        """The names ``fn`` declares: its analysis's, else a query (not a resolver,
        a walk of the whole body, for most functions a call's only question)."""
        facts = self.facts(fn) if self.mentions_locks(fn) else None
        if facts is not None:
            return facts.context.resolver.local_names
        found = self.memo.get(key := f"locals:{fn.start_byte}")
        if not isinstance(found, frozenset):
            found = self.memo[key] = local_names(fn.body)
        return found

    def calls_in_function(self, fn: FunctionDef) -> list[tuple[str, Node]]:
        """Direct calls inside ``fn``, in source order."""
        return self.call_index.calls_in(fn.start_byte, fn.end_byte)

    def address_taken(self, name: str) -> bool:
        """Whether ``name`` is mentioned other than by its definition and direct calls."""
        mentions = len(re.findall(rf"\b{re.escape(name)}\b", self.source.normalised.text))
        definitions = sum(1 for fn in self.source.functions if fn.name == name)
        return mentions > definitions + len(self.calls_by_name().get(name, []))

    # ---- per-function analysis ----
    def verdict(self, fn: FunctionDef) -> Verdict:
        """Why a function cannot be analysed, or ANALYSED."""
        key = f"{fn.name}@{fn.start_byte}"
        found = self._verdicts.get(key)
        if found is not None:
            return found
        found = self.static_verdict(fn)
        if found.analysed and self.mentions_locks(fn):
            facts = self.facts(fn)
            if facts is None:
                found = self._verdicts.get(key, Verdict(False, "nesting too deep to analyse"))
            elif not facts.precise:
                found = Verdict(False, facts.analysis.reason)
        self._verdicts[key] = found
        return found

    def facts(self, fn: FunctionDef) -> FunctionFacts | None:
        key = f"{fn.name}@{fn.start_byte}"
        if key in self._facts:
            return self._facts[key]
        if fn.body is None or key in self._in_progress or not self.static_verdict(fn).analysed:
            return None
        self._in_progress.add(key)
        try:
            result: FunctionFacts | None = call_deep(self._analyse, fn)
        except RecursionError:
            result = None
            self._verdicts[key] = Verdict(False, "nesting too deep to analyse", fn.start_line)
        finally:
            self._in_progress.discard(key)
        self._facts[key] = result
        return result

    def _analyse(self, fn: FunctionDef) -> FunctionFacts:
        from patchlint.analysis.instantiate import callee_effects

        assert fn.body is not None
        cfg = build_cfg(fn.body, self._guard_of, self._loop_of, integer_macros(self).get)
        context = FunctionContext(
            name=fn.name,
            resolver=function_resolver(fn.params, fn.body),
            kinds_by_shape=self.kinds_by_shape(),
            struct_types=struct_pointers(text(fn.node)),
            pinning=self.kb.task_pinned_by,
            pure_calls=self.kb.pure_calls | self.kb.error_tests | self.kb.bit_tests,
            noreturn=self.noreturn_names(),
            drops_callers=any(n.name in self.kb.annotations.release for n in fn.annotations),
        )
        analysis = LockAnalysis(
            cfg,
            self.kb,
            context,
            lambda call: callee_effects(self, fn, context, call),
            self._iter_task_var,
        )
        self._prepare(fn, cfg, analysis, context)
        analysis.run()
        return FunctionFacts(fn, cfg, analysis, analysis.replay(), context)

    def static_verdict(self, fn: FunctionDef) -> Verdict:
        """Reasons visible in the syntax alone: no body, unparsed code, inline asm."""
        if fn.body is None:
            return Verdict(False, "no body")
        if fn.has_errors:
            error = _first_error(fn.body)
            line = error.start_point[0] + 1 if error is not None else fn.start_line
            return Verdict(
                False,
                f"code the front end could not parse at line {line} (an unknown macro?)",
                line,
            )
        asm = self.call_index.first_asm(fn.start_byte, fn.end_byte)
        if asm is not None:
            line = self.source.data.count(b"\n", 0, asm) + 1
            return Verdict(
                False, f"inline asm at line {line} may change interrupt or preemption state", line
            )
        return ANALYSED

    def _prepare(
        self, fn: FunctionDef, cfg: Cfg, analysis: LockAnalysis, context: FunctionContext
    ) -> None:
        """Facts about the whole function the path analysis needs before it starts."""
        kb = self.kb
        atoms: Counter[str] = Counter()
        constants: set[str] = set()
        returned: set[str] = set()
        for node in cfg.nodes:
            for call in analysis.node_calls(node):
                if call.name in kb.task_lookup:
                    context.finds_tasks = True
                if call.name in kb.bit_sets or call.name in kb.bit_clears:
                    constants.add(bit_atom(kb.bit_tests, call.args))
                for op in kb.ops.get(call.name, ()):
                    if op.kind == ANY_KIND:
                        continue
                    lock = analysis.lock_name(op.kind, op.lock, call.args)
                    if lock:
                        context.kinds_by_lock.setdefault(lock, op.kind)
            if node.kind == "cond" and node.cond is not None:
                atoms.update(analysis.node_formula(node).atoms())
            if node.kind == "switch":
                subject = switch_subject(node.cond, kb.transparent)
                for _target, value in analysis.case_values(node):
                    if subject and value is not None:
                        atoms.update(case_formula(subject, value).atoms())
            for store in analysis.node_stores(node):
                if constant_truth(store.value) is not None:
                    constants.add(atom_text(store.target))
            if node.kind == "return" and node.ast is not None and node.ast.named_children:
                returned_node = node.ast.named_children[0]
                if returned_node.type == "identifier":
                    returned.add(text(returned_node))
        constants |= constant_stores(self, cfg.nodes, analysis.node_stores, atoms, context)
        # The cursor of a walk that ends NULL: tested after the loop to learn if it broke.
        cursors = {
            construct.args[0].strip()
            for node in cfg.nodes
            if node.kind == "iter"
            and isinstance(construct := node.info, Construct)
            and construct.name in kb.null_at_end
            and construct.args
        }
        repeated = {atom for atom, count in atoms.items() if count > 1} | (cursors & set(atoms))
        # A returned variable known an error says if it locked: `if (IS_ERR(p)) ...`.
        verdicts = {
            atom
            for atom in atoms
            if any(
                atom in (f"{test}({name})", f"{name}<0")
                for name in returned
                for test in kb.error_tests
            )
        }
        repeated |= verdicts
        test = min(kb.error_tests) if kb.error_tests else ""
        for name in returned:
            if test:
                context.error_atoms[name] = atom_text(f"{test}({name})")
        repeated |= set(context.error_atoms.values())
        # Returned variables too: what a path returns tells callers whether it locked.
        context.tracked = frozenset(
            repeated | (set(atoms) & (constants | returned)) | (returned & constants)
        )
        context.entry = self.entry_state(fn, context)

    def entry_state(self, fn: FunctionDef, context: FunctionContext) -> LockState:
        """Locks the function's annotations say its callers hold."""
        notes = self.kb.annotations
        held: list[Held] = []
        # `__acquires(x) __releases(x)` together: x is taken and dropped inside.
        inner = inner_annotated(fn, notes.acquire, notes.release)
        for note in fn.annotations:
            if note.name not in notes.hold and note.name not in notes.release:
                continue
            for arg in note.args:
                if note.name in notes.release and canonical(arg) in inner:
                    continue
                kind, lock = self.annotated_lock(arg, fn, context)
                if not kind:
                    continue
                held.append(Held(kind, lock, "", note.line, ENTRY, note.name))
        return LockState(held=tuple(held))

    def annotated_lock(
        self, arg: str, fn: FunctionDef, context: FunctionContext
    ) -> tuple[str, str]:
        """(kind, lock) an annotation argument names: `RCU`, `&dev->lock`, `lock`."""
        stripped = arg.strip()
        kind = self.kb.annotations.kind_names.get(stripped)
        if kind is not None:
            return kind, ""
        value = canonical(stripped).lstrip("&")
        if pointer_roots(value) - set(fn.params):
            # Names a non-parameter (`__must_hold(&dev->lock)`, no `dev`): lock unknown.
            return "", ""
        if value in fn.params:
            value = "*" + value
        lock = context.resolver.resolve(canonical(value))
        kind = context.kinds_by_lock.get(lock) or kind_by_shape(
            context.kinds_by_shape, lock, context.struct_types, ANY_KIND
        )
        return kind, lock

    def _loop_of(self, node: Node) -> Construct | None:
        found = self.loops.get(node.start_byte)
        if found is None and node.type == "do_statement":
            # `do { ... } while_each_thread(g, t);` names the walk at its tail.
            for child in node.children:
                if child.type == "while":
                    found = self.loops.get(child.start_byte)
        return found

    def _guard_of(self, node: Node) -> GuardInfo | None:
        construct = self.loops.get(node.start_byte)
        line = node.start_point[0] + 1
        if construct is not None and construct.kind == "scoped_guard" and construct.args:
            args = tuple(a.strip() for a in construct.args[1:] if not _STATEMENT_ARG.search(a))
            return GuardInfo(construct.args[0].strip(), args, line, node)
        if node.type == "declaration":
            return self._cleanup_of(node)
        if node.type != "expression_statement" or not node.named_children:
            return None
        call = node.named_children[0]
        if call.type != "call_expression":
            return None
        inner = call.child_by_field_name("function")
        if inner is None or inner.type != "call_expression":
            return None
        macro = text(inner.child_by_field_name("function"))
        kind_args = inner.child_by_field_name("arguments")
        outer_args = call.child_by_field_name("arguments")
        if kind_args is None or not kind_args.named_children:
            return None
        if macro not in self.kb.guard_macros and macro not in self.kb.class_macros:
            return None
        kind = text(kind_args.named_children[0])
        args = tuple(text(a) for a in outer_args.named_children) if outer_args else ()
        return GuardInfo(kind, args, line, node)

    def _cleanup_of(self, node: Node) -> GuardInfo | None:
        """`T *v __free(fn) = ...;`: fn(v) runs when the scope ends."""
        index = bisect.bisect_left(self._cleanup_starts, node.start_byte)
        if index >= len(self._cleanup_starts):
            return None
        start = self._cleanup_starts[index]
        if start >= node.end_byte:
            return None
        construct = self.cleanups[start]
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type not in ("identifier",):
            declarator = declarator.child_by_field_name("declarator")
        if declarator is None or not construct.args:
            return None
        variable = text(declarator)
        return GuardInfo(
            construct.args[0].strip(),
            (variable,),
            node.start_point[0] + 1,
            node.parent or node,
            enters=False,
            cleanup=True,
        )

    def _iter_task_var(self, node: CfgNode) -> str | None:
        construct = node.info
        if not isinstance(construct, Construct):
            return None
        spec = self.kb.iterators.get(construct.name)
        if spec is None or spec.task_arg >= len(construct.args):
            return None
        return construct.args[spec.task_arg].strip()


def inner_annotated(fn: FunctionDef, acquire: frozenset[str], release: frozenset[str]) -> set[str]:
    """Locks a function annotates as both acquired and released: sparse's way of saying
    it takes and drops them inside, not a contract with its callers."""
    taken = {canonical(a) for n in fn.annotations if n.name in acquire for a in n.args}
    dropped = {canonical(a) for n in fn.annotations if n.name in release for a in n.args}
    return taken & dropped


def _first_error(node: Node) -> Node | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            return current
        if current.has_error:
            stack.extend(reversed(current.children))
    return None


class HasAnalysisCache(Protocol):
    source: SourceFile
    path: str

    @property
    def cache(self) -> dict[str, object]: ...

    @property
    def index(self) -> object: ...


def file_facts(unit: HasAnalysisCache) -> FileFacts:
    cached = unit.cache.get("analysis")
    if isinstance(cached, FileFacts):
        return cached
    index = unit.index
    facts = FileFacts(unit.source, unit.path, index if _is_index(index) else None)
    unit.cache["analysis"] = facts
    return facts


def _is_index(value: object) -> TypeGuard[TreeIndex]:
    return all(
        callable(getattr(value, name, None)) for name in ("callers", "definitions", "source")
    )
