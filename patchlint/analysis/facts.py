"""Per-file analysis facts, computed lazily and once, shared by every lock rule.

``file_facts(unit)`` is the entry point: it caches a ``FileFacts`` in
``unit.cache`` so all rules of one file image reuse the same CFGs and states.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from tree_sitter import Node, Query, QueryCursor

from patchlint.analysis.calls import text
from patchlint.analysis.cfg import Cfg, CfgNode, GuardInfo, build_cfg
from patchlint.analysis.deep import call_deep
from patchlint.analysis.kb import Knowledge, knowledge

# MAYBE: the summary of a helper that takes RCU on some paths only (a conditional
# lock helper, such as a lookup returning with RCU held when it finds something).
from patchlint.analysis.lockstate import MAYBE, Events, LockAnalysis, LockState

_CALL_QUERY_SOURCE = "(call_expression function: (identifier) @name)"
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_query_cache: dict[int, Query] = {}


@dataclass
class FunctionFacts:
    fn: Any  # patchlint.source.FunctionDef
    cfg: Cfg
    analysis: LockAnalysis
    events: Events

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

    lock: str
    how: str  # "annotation", "comment", "caller"
    message: str
    line: int | None = None
    file: str | None = None
    confidence: str = "high"
    chain: list[tuple[str, str, int]] = field(default_factory=list)  # (file, function, line)


class FileFacts:
    def __init__(self, source: Any, path: str, index: Any = None) -> None:
        self.source = source
        self.path = path
        self.index = index
        self.kb: Knowledge = knowledge()
        self._facts: dict[str, FunctionFacts | None] = {}
        self._in_progress: set[str] = set()
        self._summaries: dict[str, dict[str, int] | None] = {}
        self._sleepers: dict[str, tuple[str, ...] | None] | None = None
        self._calls_by_name: dict[str, list[Node]] | None = None
        self._starts = [fn.start_byte for fn in source.functions]
        self.loops: dict[int, Any] = {
            c.start: c for c in source.constructs if c.kind in ("iterator", "scoped_guard")
        }
        self._token_re = _token_regex(self.kb)
        self._positions: dict[str, list[int]] = {}

    # ---- lookup helpers ----
    def function_text(self, fn: Any) -> str:
        return self.source.byte_text(fn.start_byte, fn.end_byte)

    def relevant(self, fn: Any) -> bool:
        """Whether the function mentions anything the lock rules react to."""
        return self.mentions(fn, "tokens", self._token_re)

    def mentions(self, fn: Any, key: str, pattern: re.Pattern[bytes]) -> bool:
        """Whether ``pattern`` matches inside ``fn``; one scan of the file per pattern."""
        positions = self._positions.get(key)
        if positions is None:
            positions = self._positions[key] = [
                m.start() for m in pattern.finditer(self.source.data)
            ]
        index = bisect.bisect_left(positions, fn.start_byte)
        return index < len(positions) and positions[index] < fn.end_byte

    def function_containing(self, byte: int) -> Any:
        index = bisect.bisect_right(self._starts, byte) - 1
        if index >= 0:
            fn = self.source.functions[index]
            if fn.start_byte <= byte < fn.end_byte:
                return fn
        return None

    def calls_by_name(self) -> dict[str, list[Node]]:
        """Every direct call in the file, by callee name (one tree-sitter query)."""
        if self._calls_by_name is None:
            language = self.source.tree.language
            query = _query_cache.get(id(language))
            if query is None:
                query = _query_cache[id(language)] = Query(language, _CALL_QUERY_SOURCE)
            captures = QueryCursor(query).captures(self.source.tree.root_node)
            by_name: dict[str, list[Node]] = {}
            for node in captures.get("name", []):
                call = node.parent
                if call is not None:
                    by_name.setdefault(text(node), []).append(call)
            self._calls_by_name = by_name
        return self._calls_by_name

    def address_taken(self, name: str) -> bool:
        """Whether ``name`` is mentioned other than by its definition and direct calls."""
        mentions = len(re.findall(rf"\b{re.escape(name)}\b", self.source.normalised.text))
        definitions = sum(1 for fn in self.source.functions if fn.name == name)
        return mentions > definitions + len(self.calls_by_name().get(name, []))

    # ---- per-function analysis ----
    def facts(self, fn: Any) -> FunctionFacts | None:
        key = f"{fn.name}@{fn.start_byte}"
        if key in self._facts:
            return self._facts[key]
        if fn.body is None or key in self._in_progress:
            return None
        self._in_progress.add(key)
        try:
            result: FunctionFacts | None = call_deep(self._analyse, fn)
        except RecursionError:
            result = None
        finally:
            self._in_progress.discard(key)
        self._facts[key] = result
        return result

    def _analyse(self, fn: Any) -> FunctionFacts:
        cfg = build_cfg(fn.body, self._guard_of, self._loop_of)
        analysis = LockAnalysis(cfg, self.kb, self.summary, self._iter_task_var)
        analysis.run()
        events = analysis.replay()
        return FunctionFacts(fn, cfg, analysis, events)

    def _loop_of(self, node: Node) -> Any:
        found = self.loops.get(node.start_byte)
        if found is None and node.type == "do_statement":
            # `do { ... } while_each_thread(g, t);` names the walk at its tail.
            for child in node.children:
                if child.type == "while":
                    found = self.loops.get(child.start_byte)
        return found

    def _guard_of(self, node: Node) -> GuardInfo | None:
        construct = self.loops.get(node.start_byte)
        if construct is not None and construct.kind == "scoped_guard" and construct.args:
            args = tuple(a.strip() for a in construct.args[1:])
            return GuardInfo(construct.args[0].strip(), args, node.start_point[0] + 1, node)
        if node.type != "expression_statement" or not node.named_children:
            return None
        call = node.named_children[0]
        if call.type != "call_expression":
            return None
        inner = call.child_by_field_name("function")
        if inner is None or inner.type != "call_expression":
            return None
        if text(inner.child_by_field_name("function")) != "guard":
            return None
        kind_args = inner.child_by_field_name("arguments")
        outer_args = call.child_by_field_name("arguments")
        kind = text(kind_args.named_children[0]) if kind_args and kind_args.named_children else ""
        args = tuple(text(a) for a in outer_args.named_children) if outer_args else ()
        return GuardInfo(kind, args, node.start_point[0] + 1, node)

    def _iter_task_var(self, node: CfgNode) -> str | None:
        construct = node.info
        spec = self.kb.iterators.get(getattr(construct, "name", ""))
        if spec is None or spec.task_arg >= len(construct.args):
            return None
        return construct.args[spec.task_arg].strip()

    # ---- interprocedural summaries ----
    def summary(self, name: str) -> dict[str, int] | None:
        """Net lock effect of a same-file function: {"rcu": +1} for a lock helper."""
        if name in self._summaries:
            return self._summaries[name]
        fn = self.source.function(name)
        result: dict[str, int] | None = None
        declared = _annotated_effect(self.kb, fn) if fn is not None else None
        if declared is not None:
            result = declared
        elif fn is not None and fn.body is not None and self.relevant(fn):
            self._summaries[name] = None  # recursion guard
            facts = self.facts(fn)
            if facts is not None and facts.precise:
                result = _net_effect(facts)
        self._summaries[name] = result
        return result

    def sleeping_chain(self, name: str) -> tuple[str, ...] | None:
        """The call chain by which a same-file function may sleep, or None."""
        if self._sleepers is None:
            self._sleepers = {}
        if name in self._sleepers:
            return self._sleepers[name]
        self._sleepers[name] = None  # recursion guard
        fn = self.source.function(name)
        result: tuple[str, ...] | None = None
        if fn is not None and fn.body is not None:
            for callee, node in self._direct_calls(fn):
                if callee in self.kb.sleeping_conditional or _tests_parameter(fn, node):
                    continue
                if self.kb.may_sleep(callee, _args(node)):
                    result = (callee,)
                    break
            if result is None:
                for callee, node in self._direct_calls(fn):
                    if _tests_parameter(fn, node):
                        continue
                    if callee != name and self.source.function(callee) is not None:
                        chain = self.sleeping_chain(callee)
                        if chain is not None:
                            result = (callee, *chain)
                            break
        self._sleepers[name] = result
        return result

    def _direct_calls(self, fn: Any) -> list[tuple[str, Node]]:
        """Calls made by ``fn`` outside any RCU section of its own."""
        facts = self.facts(fn) if self.relevant(fn) else None
        found: list[tuple[str, Node]] = []
        for callee, nodes in self.calls_by_name().items():
            for node in nodes:
                if not fn.start_byte <= node.start_byte < fn.end_byte:
                    continue
                if facts is not None:
                    seen = facts.events.calls.get(node.start_byte)
                    # Inside its own section, or after dropping its caller's
                    # (rcu_read_unlock(); schedule(); rcu_read_lock();): not a
                    # sleep under the caller's RCU.
                    if seen is not None and all(state.rcu or state.rcu_under for state in seen[1]):
                        continue
                found.append((callee, node))
        found.sort(key=lambda item: item[1].start_byte)
        return found

    # ---- entry assumptions ----
    def leading_comment(self, fn: Any) -> tuple[str, int]:
        """The comment block just above a function (and its line), or ("", 0)."""
        before = self.source.byte_text(max(0, fn.start_byte - 3000), fn.start_byte).rstrip()
        if not before.endswith("*/"):
            return "", 0
        start = before.rfind("/*")
        if start < 0:
            return "", 0
        comment = before[start:]
        line = fn.start_line - comment.count("\n") - 1
        return comment, max(1, line)

    def body_comments(self, fn: Any) -> list[tuple[str, int]]:
        body = fn.body
        if body is None:
            return []
        chunk = self.source.byte_text(body.start_byte, body.end_byte)
        base = body.start_point[0] + 1
        return [
            (m.group(0), base + chunk.count("\n", 0, m.start())) for m in _COMMENT.finditer(chunk)
        ]

    def declared_assumptions(self, fn: Any) -> list[Assumption]:
        """Protections the function's annotations or comments say it is called with."""
        found: list[Assumption] = []
        for note in fn.annotations:
            if note.name not in ("__must_hold", "__releases", "__cond_releases"):
                continue
            for lock_id, spec in self.kb.locks.items():
                if spec.annotation is not None and any(
                    spec.annotation.search(arg) for arg in note.args
                ):
                    found.append(
                        Assumption(
                            lock_id,
                            "annotation",
                            f"{note.name}({', '.join(note.args)})",
                            note.line,
                            self.path,
                        )
                    )
        comment, line = self.leading_comment(fn)
        comments = [(comment, line)] if comment else []
        comments += self.body_comments(fn)
        for chunk, chunk_line in comments:
            flat = " ".join(chunk.replace("*", " ").split())
            for lock_id, spec in self.kb.locks.items():
                for pattern in spec.comments:
                    match = pattern.search(flat)
                    if match:
                        found.append(
                            Assumption(
                                lock_id,
                                "comment",
                                f'documented precondition: "{match.group(0)}"',
                                chunk_line,
                                self.path,
                                confidence="low",
                            )
                        )
                        break
        return found


_IDENT = re.compile(r"[A-Za-z_]\w*")


def _tests_parameter(fn: Any, call: Node) -> bool:
    """Whether a branch around ``call`` tests one of ``fn``'s parameters.

    `if (sync) synchronize_net();` sleeps only for callers that ask it to,
    so the helper is not a sleeper for every caller.
    """
    params = set(fn.params)
    node = call.parent
    while node is not None and node.start_byte >= fn.start_byte and params:
        if node.type in (
            "if_statement",
            "switch_statement",
            "conditional_expression",
            "while_statement",
        ):
            condition = node.child_by_field_name("condition")
            if condition is not None and params & set(_IDENT.findall(text(condition))):
                return True
        node = node.parent
    return False


def _args(call: Node) -> tuple[str, ...]:
    arguments = call.child_by_field_name("arguments")
    return tuple(text(a) for a in arguments.named_children) if arguments is not None else ()


def _annotated_effect(kb: Knowledge, fn: Any) -> dict[str, int] | None:
    """The sparse context annotation's word on RCU, which we trust over our paths."""
    rcu = kb.locks["rcu"].annotation
    for note in fn.annotations:
        if rcu is None or not any(rcu.search(arg) for arg in note.args):
            continue
        if note.name == "__acquires":
            return {"rcu": 1}
        if note.name == "__releases":
            return {"rcu": -1}
        if note.name == "__cond_acquires":
            return {"rcu": MAYBE}
    return None


def _net_effect(facts: FunctionFacts) -> dict[str, int] | None:
    deltas: set[tuple[int, int]] = set()
    for states in facts.events.returns.values():
        for state in states:
            rcu = len(state.acquired_rcu()) - state.rcu_under
            tasklist = sum(
                1 for _, how in state.tasklist if how == "lock" or how.startswith("helper:")
            )
            deltas.add((rcu, tasklist))
    if len(deltas) != 1:
        if {rcu for rcu, _ in deltas} == {0, 1}:
            return {"rcu": MAYBE}
        return None
    rcu, tasklist = deltas.pop()
    effect = {key: value for key, value in (("rcu", rcu), ("tasklist", tasklist)) if value}
    return effect or None


_TOKEN_RE: dict[int, re.Pattern[bytes]] = {}


def _token_regex(kb: Knowledge) -> re.Pattern[bytes]:
    cached = _TOKEN_RE.get(id(kb))
    if cached is not None:
        return cached
    names = set(kb.interesting) | set(kb.iterators) | {"scoped_guard"}
    names.discard("guard")
    alternation = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    pattern = _TOKEN_RE[id(kb)] = re.compile(rf"\b(?:{alternation}|guard\s*\()".encode())
    return pattern


def file_facts(unit: Any) -> FileFacts:
    cached = unit.cache.get("analysis")
    if cached is None:
        cached = FileFacts(unit.source, unit.path, getattr(unit, "index", None))
        unit.cache["analysis"] = cached
    return cached
