"""Functions and macros that only read: calling one twice with the same arguments,
with nothing written in between, gives the same answer and changes nothing.

A condition a callee tests (`if (!PageHighMem(page)) return ...;`) can stand in
a summary only if evaluating it at the call site means the same thing: it calls
nothing but such readers. This is decided from their definitions, never from
their names: a function of the file, a header's static inline or a header macro
(every definition, as configurations choose between them), whose body writes
only its own locals and calls only readers in turn, down to ``MAX_DEPTH`` (other
files are read in patch checks, not inside a whole-tree scan). The
data's ``pure`` list (rules/kernel/locks.toml) holds what cannot be read so (the
compiler's builtins, KCSAN's assertions). What cannot be found is not a reader.
"""

from __future__ import annotations

import re
import weakref
from typing import Protocol, TypeGuard

from tree_sitter import Node

from patchlint.analysis.calls import text
from patchlint.analysis.facts import FileFacts, TreeIndex
from patchlint.source import FunctionDef, SourceFile

MAX_DEPTH = 4
MAX_HEADERS = 24  # header files searched for one macro's definitions

_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_WRITES = re.compile(r"(?<![=!<>+\-*/%&|^])=(?!=)|\+\+|--|[+\-*/%&|^]=|<<=|>>=")
_NOT_CALLS = frozenset(
    {"sizeof", "typeof", "__typeof__", "if", "while", "for", "switch", "return", "do"}
)


class MacroIndex(Protocol):
    """What finding a header macro asks of the function index."""

    def candidates(self, name: str) -> list[str]: ...

    def source(self, path: str) -> SourceFile | None: ...


def _searchable(index: TreeIndex | None) -> TypeGuard[MacroIndex]:
    return index is not None and callable(getattr(index, "candidates", None))


# Answers about other files' definitions, per tree index; held weakly, so a patch's
# view of the tree (with its overlay) goes when the patch is done.
_TREE_ANSWERS: weakref.WeakKeyDictionary[object, dict[str, bool]] = weakref.WeakKeyDictionary()


def reads_only(ff: FileFacts, name: str, depth: int = 0) -> bool:
    """Whether every definition of ``name`` only reads (see the module docstring)."""
    kb = ff.kb
    if name in kb.pure_calls or name in kb.error_tests or name in kb.bit_tests:
        return True
    if name in kb.transparent:
        return True  # its value is its argument's (`unlikely(x)`, `WARN_ON_ONCE(x)`)
    if name in kb.ops or name in kb.sleep_names():
        return False  # takes or drops a lock, or may sleep: known without reading it
    key = f"reads-only:{name}"
    cached = ff.memo.get(key)
    if isinstance(cached, bool):
        return cached
    if depth >= MAX_DEPTH:
        return False
    answers = _tree_answers(ff)
    if answers is not None and ff.source.function(name) is None:
        if name not in ff.local_macros() and name in answers:
            # Another file's definition: the same answer for every file of the tree.
            ff.memo[key] = answers[name]
            return answers[name]
    ff.memo[key] = False  # a recursive definition is not taken on trust
    found = _decide(ff, name, depth)
    ff.memo[key] = found
    if answers is not None and ff.source.function(name) is None and depth == 0:
        if name not in ff.local_macros() and not _deferring(ff):
            answers[name] = found
    return found


def _tree_answers(ff: FileFacts) -> dict[str, bool] | None:
    if ff.index is None:
        return None
    try:
        return _TREE_ANSWERS.setdefault(ff.index, {})
    except TypeError:  # an index that cannot be referred to weakly is not shared
        return None


def _decide(ff: FileFacts, name: str, depth: int) -> bool:
    if name in ff.local_macros():
        bodies = _macro_bodies(ff.source.text, name)
        return bool(bodies) and all(_macro_reads_only(ff, body, depth) for body in bodies)
    own = ff.source.function(name)
    if own is not None:
        return _function_reads_only(ff, own, depth)
    if ff.index is None or _deferring(ff):
        return False
    definitions = ff.index.definitions(name)
    if definitions:
        return all(
            path.endswith(".h") and fn.is_static and _function_reads_only(ff, fn, depth)
            for path, fn in definitions
        )
    if not _searchable(ff.index):
        return False
    headers = [path for path in ff.index.candidates(name) if path.endswith(".h")]
    if not headers or len(headers) > MAX_HEADERS:
        return False
    found: list[str] = []
    for path in headers:
        source = ff.index.source(path)
        if source is not None:
            found += _macro_bodies(source.text, name)
    return bool(found) and all(_macro_reads_only(ff, body, depth) for body in found)


def _deferring(ff: FileFacts) -> bool:
    """Inside a whole-tree scan other files are not read for a summary (as
    inlines.py): the tree's readers are asked about in patch checks only."""
    from patchlint.analysis.external import TREE_KEY, DeferringSummaries

    return isinstance(ff.memo.get(TREE_KEY), DeferringSummaries)


def _macro_bodies(source: str, name: str) -> list[str]:
    pattern = re.compile(
        rf"^[ \t]*#[ \t]*define[ \t]+{re.escape(name)}\(([^)]*)\)((?:[^\n]*\\\n)*[^\n]*)", re.M
    )
    return [match.group(2).replace("\\\n", " ") for match in pattern.finditer(source)]


def _macro_reads_only(ff: FileFacts, body: str, depth: int) -> bool:
    if _WRITES.search(body) or "asm" in body:
        return False
    called = set(_CALLED.findall(body)) - _NOT_CALLS
    return all(reads_only(ff, callee, depth + 1) for callee in called)


def _function_reads_only(ff: FileFacts, fn: FunctionDef, depth: int) -> bool:
    if fn.body is None:
        return False
    own = _locals(fn.body)
    stack: list[Node] = [fn.body]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in ("gnu_asm_expression", "asm_statement"):
            return False
        if kind in ("assignment_expression", "update_expression"):
            target = node.child_by_field_name("left") or node.child_by_field_name("argument")
            if target is None or target.type != "identifier" or text(target) not in own:
                return False
        if kind == "call_expression":
            function = node.child_by_field_name("function")
            if function is None or function.type != "identifier":
                return False
            if not reads_only(ff, text(function), depth + 1):
                return False
        stack.extend(node.named_children)
    return True


def _locals(body: Node) -> set[str]:
    """Variables the body declares."""
    found: set[str] = set()
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "declaration":
            for child in node.named_children:
                declarator: Node | None = child
                while declarator is not None and declarator.type != "identifier":
                    declarator = declarator.child_by_field_name("declarator")
                if declarator is not None:
                    found.add(text(declarator))
        stack.extend(node.named_children)
    return found


__all__ = ["reads_only"]
