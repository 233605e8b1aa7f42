"""Lock summaries applied at a call site: the callee's effects with the call's
arguments in the argument slots (same-file callees first, then the tree's table)."""

from __future__ import annotations

from patchlint.analysis.calls import Call, call_args
from patchlint.analysis.conditions import atom_text
from patchlint.analysis.facts import FileFacts
from patchlint.analysis.identity import canonical, fill, roots
from patchlint.analysis.lockstate import FunctionContext
from patchlint.analysis.state import Effect
from patchlint.analysis.summaries import LockSummary, lock_summary
from patchlint.source import FunctionDef


def instantiate(
    summary: LockSummary, call: Call, context: FunctionContext, via: str
) -> tuple[Effect, ...]:
    """The summary's effects with the call's arguments in the slots."""
    if not summary.returns:
        return (Effect("noreturn", "", "", via=via, helper=True),)
    found: list[Effect] = []
    for template in summary.effects:
        lock = ""
        if template.lock:
            filled = fill(template.lock, call.args, call.assigned_to)
            if filled is None:
                continue
            lock = context.resolver.resolve(filled)
        flags = ""
        if template.flags:
            flags = (fill(template.flags, call.args, call.assigned_to) or "").lstrip("&")
        irq = template.irq
        if template.op == "release" and irq == "save":
            irq = "restore"
        elif template.op == "release" and irq == "disable":
            irq = "enable"
        elif template.op in ("acquire", "try") and irq == "restore":
            irq = "save"
        when = ""
        if template.when:
            # The value choosing this alternative, as the caller's conditions spell it
            # (the slot itself, which no fact names, when the call does not pass it).
            filled = fill(template.when, call.args, call.assigned_to)
            when = atom_text(filled) if filled else template.when
        found.append(
            Effect(
                template.op,
                template.kind,
                lock,
                template.mode,
                irq,
                flags,
                template.success,
                via,
                helper=True,
                shown=fill(template.lock, call.args, call.assigned_to) or lock if lock else "",
                when=when,
                when_value=template.when_value,
                when_result=template.when == "{ret}",
            )
        )
    return tuple(found)


def callee_effects(
    ff: FileFacts, caller: FunctionDef, context: FunctionContext, call: Call
) -> tuple[Effect, ...] | None:
    """Effects of calling a function of the tree (same file first, then the index)."""
    if call.name == caller.name:
        return None
    callee = ff.source.function(call.name)
    if callee is not None and call.name in ff.local_macros():
        # `#ifdef CONFIG_X` function `#else` empty macro: which one is built depends on
        # the configuration, so its effects are not definite (xip_disable()).
        return None
    if callee is not None:
        summary = lock_summary(ff, callee)
        return instantiate(summary, call, context, call.name) if summary is not None else None
    if not _passes_a_lock_owner(ff, caller, call):
        # What another file's function does to locks matters most when it is handed
        # a lock or its owner (it may drop it); other calls stay unknown, which spares
        # a patch check looking up every callee.
        return None
    from patchlint.analysis.external import tree_lock_summary

    summary = tree_lock_summary(ff, call.name)
    return instantiate(summary, call, context, call.name) if summary is not None else None


def _passes_a_lock_owner(ff: FileFacts, caller: FunctionDef, call: Call) -> bool:
    """Whether an argument of ``call`` is computed from a variable that names a lock
    ``caller`` takes or drops (`br` of `spin_lock_bh(&br->hash_lock)`)."""
    key = f"lock-roots:{caller.start_byte}"
    found = ff.memo.get(key)
    if not isinstance(found, frozenset):
        kb = ff.kb
        names: set[str] = set()
        for name, node in ff.calls_in_function(caller):
            for op in kb.ops.get(name, ()):
                if isinstance(op.lock, int):
                    args = call_args(node)
                    if op.lock < len(args):
                        names |= roots(canonical(args[op.lock]))
        found = frozenset(names)
        ff.memo[key] = found
    return any(roots(canonical(arg)) & found for arg in call.args)
