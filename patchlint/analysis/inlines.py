"""Header inlines that take no lock, asked about only when a finding waits on them.

A patch check sees one file; a call to a ``static inline`` of a header is a call the
analysis knows nothing about, and one given a lock's owner (`zone_managed_pages(zone)`
before `spin_unlock(&zone->lock)`) might return holding that lock, so a release after
it is not claimed to find the lock free. When such a claim is all that stands between
the code and a finding, the function index is asked for the callee's definitions:
if every one is a header inline that calls only what the data says leaves locks
alone (or such inlines of the same header), the call cannot have taken the lock.

Inside a whole-tree scan (questions about other files wait for the scan's table,
which holds no lock facts) and without an index (fixtures, patch-only mode) nothing
is asked and the call stays unknown.
"""

from __future__ import annotations

from patchlint.analysis.calls import INDIRECT, calls_in
from patchlint.analysis.facts import FileFacts
from patchlint.analysis.kb import Knowledge
from patchlint.source import FunctionDef, SourceFile

MAX_INLINE_DEPTH = 2  # same-header inlines followed from the callee


def lock_free_inline(ff: FileFacts, name: str) -> bool:
    """Whether every definition of ``name`` in the tree is a header's static inline
    that takes and drops no lock."""
    key = f"lock-free-inline:{name}"
    cached = ff.memo.get(key)
    if isinstance(cached, bool):
        return cached
    found = _answer(ff, name)
    ff.memo[key] = found
    return found


def _answer(ff: FileFacts, name: str) -> bool:
    from patchlint.analysis.external import TREE_KEY, DeferringSummaries

    if ff.index is None or isinstance(ff.memo.get(TREE_KEY), DeferringSummaries):
        return False
    definitions = ff.index.definitions(name)
    if not definitions:
        return False
    for path, fn in definitions:
        if not path.endswith(".h") or not (fn.is_static and fn.is_inline):
            return False
        source = ff.index.source(path)
        if source is None or not _leaves_locks_alone(ff.kb, source, fn, 0):
            return False
    return True


def _leaves_locks_alone(kb: Knowledge, source: SourceFile, fn: FunctionDef, depth: int) -> bool:
    if fn.body is None:
        return False
    for call in calls_in(fn.body):
        name = call.name
        if name == INDIRECT or name in kb.ops:
            return False
        if kb.neutral(name) or name in kb.noreturn:
            continue
        if name in kb.positive_asserts or name in kb.negated_asserts:
            continue
        other = source.function(name)
        if (
            other is None
            or other is fn
            or depth >= MAX_INLINE_DEPTH
            or not (other.is_static and other.is_inline)
            or not _leaves_locks_alone(kb, source, other, depth + 1)
        ):
            return False
    return True


__all__ = ["lock_free_inline"]
