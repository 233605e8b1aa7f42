"""Functions whose every return is the same integer literal: the branch a caller takes
on their result is decided.

```c
int gx_powerup(struct fb_info *info)        /* suspend_gx.c */
{
        ...
        return 0;                           /* and every other return: 0 */
}

        console_lock();                     /* gxfb_core.c */
        ret = gx_powerup(info);
        if (ret) {
                printk(KERN_ERR "gxfb:  power up failed!\n");
                return ret;                 /* never taken: not a leak */
        }
```

A function counts only when the literal is all it can return: every ``return`` of
every definition the call may reach returns it, the body ends in such a ``return``
(no falling off the end), no call in it is one of the file's function-like macros
that holds a ``return`` of its own, and no definition is one configuration's choice
(``alternatives.config_alternative``): a stub returning 0 next to a real definition
in the other arm of an ``#if`` decides nothing.  Anything else is unknown.

Where the definitions are looked for (cost matters: this runs for patch checks):
the caller's own file, then the ``.c``/``.h`` files of the caller's directory (the
driver's other files: a helper in ``suspend_gx.c`` called from ``gxfb_core.c``),
found by a column-0 declarator and parsed through the tree's index; a static
function of another ``.c`` file is not what the call reaches.  Only callees whose
result the caller stores in a variable it tests, in a function that takes or drops
a lock, are asked about (``facts.py``).
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeGuard

from patchlint.analysis.alternatives import config_alternative
from patchlint.source import FunctionDef, SourceFile, c_integer
from patchlint.treecache import read_json, tree_cache_file, write_json

if TYPE_CHECKING:
    from tree_sitter import Node

    from patchlint.analysis.calls import Store
    from patchlint.analysis.cfg import CfgNode
    from patchlint.analysis.events import FunctionContext
    from patchlint.analysis.facts import FileFacts

__all__ = [
    "called_name",
    "constant_call_truth",
    "constant_result",
    "constant_return",
    "constant_stores",
    "file_integer_macros",
    "integer_macros",
]

MEMO_KEY = "constant-returns"
# Directories with more source files than this are not searched (one regex pass over
# each file, once per directory while its files stay the same, is the cost).
MAX_DIRECTORY_FILES = 200
MAX_DEFINITION_FILES = 4
_DIRECTORIES_KEPT = 32

# A definition's head at column 0: `int gx_powerup(`, `static inline int f(`.
_DECLARATOR = re.compile(r"^(?:[A-Za-z_][^;{}()=\n]*[\s*])?([A-Za-z_]\w*)\s*\(", re.M)
# A function-like macro whose body returns: a call of it may leave the function.
_RETURNING_MACRO = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+(\w+)\((?:[^\n]*\\\n)*[^\n]*\breturn\b", re.M
)
_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")


class DirectoryIndex(Protocol):
    root: Path

    def source(self, path: str) -> SourceFile | None: ...


def _has_root(index: object) -> TypeGuard[DirectoryIndex]:
    return isinstance(getattr(index, "root", None), Path) and callable(
        getattr(index, "source", None)
    )


def constant_return(fn: FunctionDef, returning_macros: frozenset[str] = frozenset()) -> int | None:
    """The integer literal every return of ``fn`` returns, None if not that simple."""
    body = fn.body
    if body is None or fn.has_errors:
        return None
    last = body.named_children[-1] if body.named_children else None
    while last is not None and last.type == "comment":
        last = last.prev_named_sibling
    if last is None or last.type != "return_statement":
        return None
    values: set[int] = set()
    stack: list[Node] = [body]
    while stack:
        node = stack.pop()
        if node.type == "return_statement":
            value = _literal(node)
            if value is None:
                return None
            values.add(value)
            continue
        if node.type == "call_expression" and returning_macros:
            function = node.child_by_field_name("function")
            if function is not None and function.text is not None:
                if function.text.decode("utf-8", "replace") in returning_macros:
                    return None
        if node.type == "ERROR":
            return None
        stack.extend(node.named_children)
    return values.pop() if len(values) == 1 else None


def _literal(node: Node) -> int | None:
    value = node.named_children[0] if node.named_children else None
    while value is not None and value.type == "parenthesized_expression" and value.named_children:
        value = value.named_children[0]
    if value is None or value.type != "number_literal" or value.text is None:
        return None
    return c_integer(value.text.decode("ascii", "replace"))


def constant_stores(
    ff: FileFacts,
    nodes: Iterable[CfgNode],
    stores_of: Callable[[CfgNode], list[Store]],
    atoms: Iterable[str],
    context: FunctionContext,
) -> set[str]:
    """The variables stored (`v = f(...)`) in ``nodes`` that a condition tests
    (``atoms``) and that are assigned the result of a callee returning one literal on
    every path, in a function that takes or drops a lock; ``context.constant_calls``
    gets each such callee."""
    if not context.kinds_by_lock:
        return set()
    tested = set(atoms)
    found = context.constant_calls
    targets: set[str] = set()
    for store in (store for node in nodes for store in stores_of(node)):
        if not store.simple or store.target not in tested or not store.value.endswith(")"):
            continue
        name = called_name(store.value)
        value = constant_result(ff, name) if name else None
        if name and value is not None:
            found[name] = value
            targets.add(store.target)
    return targets


def constant_result(ff: FileFacts, name: str) -> int | None:
    """The constant a call of ``name`` from this file returns, if every definition it
    may reach returns that one literal (None: unknown, or not constant)."""
    memo = ff.memo.setdefault(MEMO_KEY, {})
    if not isinstance(memo, dict):
        return None
    if name in memo:
        found = memo[name]
        return found if isinstance(found, int) else None
    result = _constant_result(ff, name)
    memo[name] = result
    return result


def _constant_result(ff: FileFacts, name: str) -> int | None:
    if name in ff.kb.ops or name in ff.local_macros():
        return None
    own = [fn for fn in ff.source.functions if fn.name == name]
    if own:
        return _agreed(ff.source, own)
    index = ff.index
    if not _has_root(index):
        return None
    directory = os.path.dirname(ff.path)
    overlay = _overlay(index, directory)
    paths = [
        p
        for p in _definition_files(index.root, directory, name)
        if p != ff.path and p not in overlay
    ]
    paths += sorted(p for p, text in overlay.items() if p != ff.path and name in text)
    if not paths or len(paths) > MAX_DEFINITION_FILES:
        return None
    values: set[int] = set()
    for path in paths:
        text = overlay[path] if path in overlay else _read(index, path)
        possible = _may_return_constant(text, name) if text is not None else False
        if possible is None:
            continue  # declarations only
        if not possible:
            return None
        source = index.source(path)
        if source is None:
            # A scan's first pass answers no questions about other files: asking marks
            # this file for the second pass (and its cached result as depending on the
            # tree), which parses the definition.
            ask = getattr(index, "definitions", None)
            if callable(ask):
                ask(name)
            return None
        found = [
            fn
            for fn in source.functions
            if fn.name == name and fn.body is not None and (path.endswith(".h") or not fn.is_static)
        ]
        if not found:
            continue
        value = _agreed(source, found)
        if value is None:
            return None
        values.add(value)
    return values.pop() if len(values) == 1 else None


_COMMENT_OR_LITERAL = re.compile(
    r"/\*.*?\*/|//[^\n]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", re.S
)
# Every return of a body, as text: `return 0;`, `return (0);`.
_RETURN = re.compile(r"\breturn\b([^;]*);")
_LITERAL_RETURN = re.compile(r"\s*\(?\s*(\d\w*)\s*\)?\s*")


def _overlay(index: DirectoryIndex, directory: str) -> dict[str, str]:
    """The files of ``directory`` a patch (series) changes, with their new text."""
    overlay = getattr(index, "overlay", None)
    if not isinstance(overlay, dict):
        return {}
    return {
        path: text or ""
        for path, text in overlay.items()
        if isinstance(path, str)
        and isinstance(text, (str, type(None)))
        and os.path.dirname(path) == directory
        and path.endswith((".c", ".h"))
    }


def _read(index: DirectoryIndex, path: str) -> str | None:
    """The tree's text of ``path`` (through the index's reader: a git tree's blob)."""
    reader = getattr(index, "reader", None)
    if callable(reader):
        text = reader(path)
        if isinstance(text, str):
            return text
    try:
        return (index.root / path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _may_return_constant(text: str, name: str) -> bool | None:
    """A cheap look at the file's text before it is parsed: whether its first
    definition of ``name`` returns one and the same number everywhere (None: the
    file only declares it).  Kernel style is assumed (the head at column 0, the body
    closed by a ``}`` at column 0): the parse decides, this only spares it."""
    head = re.compile(rf"^(?:[A-Za-z_][^;{{}}()=\n]*[\s*])?{re.escape(name)}\s*\(", re.M)
    for match in head.finditer(text):
        opening = text.find("{", match.end())
        if opening < 0 or ";" in text[match.end() : opening]:
            continue  # a declaration
        closing = text.find("\n}", opening)
        if closing < 0:
            return False
        body = _COMMENT_OR_LITERAL.sub(" ", text[opening:closing])
        words = {
            literal.group(1) if (literal := _LITERAL_RETURN.fullmatch(found.group(1))) else ""
            for found in _RETURN.finditer(body)
        }
        return len(words) == 1 and "" not in words
    return None


def _agreed(source: SourceFile, definitions: list[FunctionDef]) -> int | None:
    bodies = [fn for fn in definitions if fn.body is not None]
    # The AST first: most callees return more than a literal, and the text checks
    # below read the whole file.
    values = {constant_return(fn) for fn in bodies}
    if len(values) != 1 or None in values:
        return None
    macros = frozenset(_RETURNING_MACRO.findall(source.text))
    for fn in bodies:
        if config_alternative(source.text, fn.name, fn.start_line):
            return None
        if macros and constant_return(fn, macros) is None:
            return None
    return values.pop()


_DIRECTORIES: OrderedDict[tuple[str, str], Mapping[str, tuple[str, ...]]] = OrderedDict()
_KEEP_LISTINGS = [True]


def keep_directory_listings(keep: bool) -> bool:
    """Whether a directory's declarators are kept in the cache folder (on for checks);
    returns the previous setting."""
    previous, _KEEP_LISTINGS[0] = _KEEP_LISTINGS[0], keep
    return previous


def _definition_files(root: Path, directory: str, name: str) -> tuple[str, ...]:
    """The files of ``directory`` (relative to ``root``) with a column-0 declarator of
    ``name``: where a definition may be."""
    key = (str(root), directory)
    found = _DIRECTORIES.get(key)
    if found is None:
        found = _directory_declarators(root, directory)
        _DIRECTORIES[key] = found
        while len(_DIRECTORIES) > _DIRECTORIES_KEPT:
            _DIRECTORIES.popitem(last=False)
    else:
        _DIRECTORIES.move_to_end(key)
    return found.get(name, ())


def _directory_declarators(root: Path, directory: str) -> Mapping[str, tuple[str, ...]]:
    """Declared name -> the directory's files declaring it; kept in the cache folder
    under the directory's listing with each file's size and modification time (as
    git's index), so that a one-patch run reads one file instead of the directory."""
    try:
        entries = sorted(
            (entry.name, entry.stat())
            for entry in os.scandir(root / directory)
            if entry.name.endswith((".c", ".h")) and entry.is_file()
        )
    except OSError:
        return {}
    if len(entries) > MAX_DIRECTORY_FILES:
        return {}
    listing = "\0".join(f"{name}:{info.st_mtime_ns}:{info.st_size}" for name, info in entries)
    stored_at = (
        tree_cache_file("declarators", root, directory, listing) if _KEEP_LISTINGS[0] else None
    )
    stored = _stored_declarators(read_json(stored_at))
    if stored is not None:
        return stored
    by_name: dict[str, list[str]] = {}
    for name, _info in entries:
        path = os.path.join(directory, name) if directory else name
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for declared in set(_DECLARATOR.findall(text)):
            by_name.setdefault(declared, []).append(path)
    write_json(stored_at, by_name)
    return {declared: tuple(paths) for declared, paths in by_name.items()}


def _stored_declarators(data: object) -> dict[str, tuple[str, ...]] | None:
    if not isinstance(data, dict):
        return None
    found: dict[str, tuple[str, ...]] = {}
    for declared, paths in data.items():
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            return None
        found[str(declared)] = tuple(paths)
    return found


def called_name(value: str) -> str | None:
    """The function ``value`` calls when it is one whole call (`f(a, g(b))`)."""
    match = _CALL.match(value)
    if match is None or not value.endswith(")") or not _one_call(value, match.end() - 1):
        return None
    return match.group(1)


def constant_call_truth(value: str, constants: Mapping[str, int]) -> bool | None:
    """Whether ``value``, a whole call of a function in ``constants``, is non-zero."""
    name = called_name(value)
    constant = constants.get(name) if name is not None else None
    return None if constant is None else constant != 0


def _one_call(value: str, opening: int) -> bool:
    """The parenthesis at ``opening`` closes at the end of ``value`` (not `f(a) + g(b)`)."""
    depth = 0
    for index in range(opening, len(value)):
        character = value[index]
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth == 0:
                return index == len(value) - 1
    return False


# ---- integer macros of the file: what a loop bound stands for (cfg.py) ----

INTEGER_MACROS_KEY = "integer-macros"
_INTEGER_DEFINE = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+\(?[ \t]*((?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*)"
    r"[ \t]*\)?[ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?$",
    re.M,
)
_UNDEF = re.compile(r"^[ \t]*#[ \t]*undef[ \t]+([A-Za-z_]\w*)", re.M)


def integer_macros(ff: FileFacts) -> dict[str, int]:
    """The file's macros defined as one integer literal (cached per file)."""
    found = ff.memo.get(INTEGER_MACROS_KEY)
    if isinstance(found, dict):
        return found
    values = file_integer_macros(ff.source.text)
    ff.memo[INTEGER_MACROS_KEY] = values
    return values


def file_integer_macros(text: str) -> dict[str, int]:
    """Macros of ``text`` defined as one integer literal, once (or always alike) and
    never ``#undef``'d: `#define IWL_MEI_PLDR_NUM_RETRIES 3`."""
    if "define" not in text:
        return {}
    values: dict[str, int] = {}
    conflicting: set[str] = set(_UNDEF.findall(text)) if "undef" in text else set()
    for name, literal in _INTEGER_DEFINE.findall(text):
        value = c_integer(literal)
        if value is None or values.get(name, value) != value:
            conflicting.add(name)
            continue
        values[name] = value
    for name in conflicting:
        values.pop(name, None)
    return values
