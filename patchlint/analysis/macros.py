"""Function-like macros a file defines: which of them may take or drop a lock.

A call to a macro of the file is a call the lock analysis cannot see into. Its
expansion is read as text: the file's other macros are expanded in turn (the file's
`uidhashentry()` calls its `__uidhashfn()`, arithmetic only), and a macro is opaque
(its callers' lock summaries unknown) when the expansion calls a lock function, or a
function the analysis does not know. In a patch check with a tree, such a function
is looked up (``tree_lock_summary``): one whose every definition leaves locks alone
(a header's `__kuid_val()`) does not make the macro opaque. What cannot be found
stays unknown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchlint.analysis.facts import FileFacts

# A macro definition with its continued lines: name, body.
_MACRO_BODY = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\([^)]*\)((?:[^\n]*\\\n)*[^\n]*)", re.M
)
_CALLED_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
# Words a macro body writes before "(" that call nothing (`do { } while (0)`).
_NOT_CALLS = frozenset(
    {"sizeof", "typeof", "__typeof__", "if", "while", "for", "switch", "return", "do"}
)


def opaque_macros(ff: FileFacts) -> frozenset[str]:
    """The file's macros opaque by what the file alone says (another file's function
    counts as unknown)."""
    cached = ff.memo.get("opaque-macros")
    if isinstance(cached, frozenset):
        return cached
    found = frozenset(name for name in _bodies(ff) if _expansion(ff, name) is None)
    ff.memo["opaque-macros"] = found
    return found


def opaque_macro(ff: FileFacts, name: str) -> bool:
    """Whether a call to the macro ``name`` has unknown lock effects, once the
    functions its expansion calls are looked up in the tree."""
    if name not in opaque_macros(ff):
        return False
    key = f"opaque-macro:{name}"
    cached = ff.memo.get(key)
    if isinstance(cached, bool):
        return cached
    ff.memo[key] = True  # a macro reached again while deciding stays opaque
    called = _expansion(ff, name, strict=False)
    found = called is None or not all(_leaves_locks(ff, callee) for callee in called)
    ff.memo[key] = found
    return found


def _bodies(ff: FileFacts) -> dict[str, str]:
    cached = ff.memo.get("macro-bodies")
    if isinstance(cached, dict):
        return cached
    bodies: dict[str, str] = {}
    for name, body in _MACRO_BODY.findall(ff.source.text):
        bodies[name] = bodies.get(name, "") + "\n" + body  # every #ifdef arm
    ff.memo["macro-bodies"] = bodies
    return bodies


def _expansion(ff: FileFacts, name: str, strict: bool = True) -> frozenset[str] | None:
    """The functions the macro's expansion calls that the analysis does not know
    (through the file's other macros): None if it calls a lock function, or (with
    ``strict``) anything unknown."""
    kb = ff.kb
    bodies = _bodies(ff)
    unknown: set[str] = set()
    seen = {name}
    pending = [name]
    while pending:
        for called in _CALLED_NAME.findall(bodies[pending.pop()]):
            if called in seen or called in _NOT_CALLS:
                continue
            seen.add(called)
            if called in kb.ops:
                return None
            if called in bodies:
                pending.append(called)
            elif not (kb.neutral(called) or called in kb.noreturn):
                if strict:
                    return None
                unknown.add(called)
    return frozenset(unknown)


def _leaves_locks(ff: FileFacts, name: str) -> bool:
    """Whether calling ``name`` takes or drops no lock, by its summary."""
    from patchlint.analysis.external import tree_lock_summary
    from patchlint.analysis.summaries import lock_summary

    own = ff.source.function(name)
    summary = lock_summary(ff, own) if own is not None else tree_lock_summary(ff, name)
    return summary is not None and not summary.effects and summary.returns
