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
        if template.shape:
            found.append(
                Effect(template.op, template.kind, "", via=via, helper=True, shape=template.shape)
            )
            continue
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
        alias = ""
        if template.returned and call.assigned_to:
            named = fill(template.returned, call.args, call.assigned_to)
            alias = context.resolver.resolve(named) if named is not None else ""
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
                alias=alias if alias != lock else "",
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
    if callee is None:
        handed = callback_effects(ff, caller, context, call)
        if handed:
            return handed
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


def callback_releases(ff: FileFacts, caller: FunctionDef, name: str) -> LockSummary | None:
    """The summary of a function of this file passed by name as an argument, when it
    drops a lock (on some paths or all), else None."""
    if name == caller.name or not name.isidentifier():
        return None
    function = ff.source.function(name)
    if function is None:
        return None
    summary = lock_summary(ff, function)
    if summary is None or not any(t.op in _DROPPING for t in summary.effects):
        return None
    return summary


_DROPPING = frozenset({"release", "unsure", "try_release"})


def callback_effects(
    ff: FileFacts, caller: FunctionDef, context: FunctionContext, call: Call
) -> tuple[Effect, ...]:
    """A call to another file's function handed a function of this file that drops a
    lock (`kref_put(&zhdr->refcount, release_locked)`, whose release callback unlocks
    the object it gets): the call may run it, with one of the call's other arguments,
    so the lock it reaches is maybe released (op "unsure"); nothing else is claimed."""
    found: list[Effect] = []
    for position, argument in enumerate(call.args):
        summary = callback_releases(ff, caller, argument.strip())
        if summary is None:
            continue
        for other, value in enumerate(call.args):
            if other == position:
                continue
            handed = Call(argument.strip(), (value,), call.line, call.column, call.start)
            for effect in instantiate(summary, handed, context, argument.strip()):
                if effect.op in _DROPPING and effect.lock:
                    found.append(effect._replace(op="unsure", via=call.name))
    return tuple(found)


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
