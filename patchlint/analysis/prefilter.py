"""Literal tokens a file must contain for a lock rule to find anything in it (the
whole-tree scan greps for them before parsing anything), derived from the data."""

from __future__ import annotations

from patchlint.analysis.kb import Knowledge, knowledge


def _lock_tokens(kb: Knowledge, wanted: set[str] | None) -> set[str]:
    tokens: set[str] = set()
    for name, ops in kb.ops.items():
        if wanted is None or any(op.kind in wanted for op in ops):
            tokens.add(name)
    tokens |= set(kb.guard_macros) | set(kb.class_macros) | set(kb.scoped_macros)
    tokens |= kb.annotations.acquire | kb.annotations.release | kb.annotations.hold
    return tokens


def balance_tokens(rcu: bool) -> tuple[str, ...]:
    """Tokens for lock-unbalanced (every non-RCU kind) or rcu-unbalanced (RCU kinds)."""
    kb = knowledge()
    kinds = {k.id for k in kb.kinds.values() if k.rcu == rcu}
    return tuple(sorted(_lock_tokens(kb, kinds)))


def sleep_tokens(rcu: bool) -> tuple[str, ...]:
    """Tokens for sleep-in-atomic / rcu-sleep: the contexts that forbid sleeping, and
    every sleeping call (a file defining a sleeper is needed for the tree's table)."""
    kb = knowledge()
    kinds = {k.id for k in kb.kinds.values() if (k.rcu if rcu else k.atomic)}
    tokens = _lock_tokens(kb, kinds)
    tokens |= kb.sleep_names() | {n for n, ops in kb.ops.items() if any(o.sleeps for o in ops)}
    tokens |= set(kb.sleep_prefilter)
    return tuple(sorted(tokens))
