"""Semaphores used as locks: whether a function judges one as a section it closes.

A counting semaphore is also a count of slots or a signal between two pieces of
code (downed here, upped by a completion), so lock-unbalanced does not judge it in
general. One the function takes itself and ups again as a plain statement of its
body is a lock there.
"""

from __future__ import annotations

from patchlint.analysis.facts import FunctionFacts
from patchlint.analysis.identity import canonical
from patchlint.analysis.state import TAKEN
from patchlint.analysis.summaries import Outcome


def closes_section(facts: FunctionFacts, outcome: Outcome) -> bool:
    """The function releases the semaphore itself on its main path: a release that is
    a statement of the body, under no branch, loop or label (`down_trylock(&l); ...;
    up(&l);`). It is used as a lock here, not as a count handed to other code (`down();
    submit(); ... err: up();`), so a path returning with it held is a leak."""
    body = facts.fn.body
    if body is None:
        return False
    key = (outcome.kind, outcome.lock)
    if not all(
        h.how == TAKEN
        for _n, state in outcome.holding
        for h in state.held
        if (h.kind, h.lock) == key
    ):
        return False  # taken inside a helper: an allocator of slots, not a section
    handed = {outcome.lock, canonical("&" + outcome.lock)}
    for node in facts.cfg.nodes:
        for store in facts.analysis.node_stores(node):
            if not store.simple and facts.context.resolver.expression(store.value) in handed:
                return False  # `t.act.semaphore = &sem;`: other code ups it
    releases = {
        site.call.start
        for site in facts.events.calls.values()
        if any(
            e.op == "release" and (e.kind, e.lock) == key for e in facts.analysis.effects(site.call)
        )
    }
    for statement in body.named_children:
        if statement.type == "labeled_statement":
            return False
        if statement.type != "expression_statement":
            continue
        call = statement.named_children[0] if statement.named_children else None
        if call is not None and call.type == "call_expression" and call.start_byte in releases:
            return True
    return False


__all__ = ["closes_section"]
