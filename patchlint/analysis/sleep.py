"""May-sleep: a bottom-up summary per function, and the sleeping calls made in
atomic context (what sleep-in-atomic and rcu-sleep report).

A call may sleep when the data says so (kernel/sleeping.toml, and acquiring a
mutex-like lock), or when it calls a function of the tree that may sleep: one
that makes such a call outside atomic sections of its own, not only when a
parameter asks for it, and not after dropping a lock of its caller's. A helper
passing its ``gfp_t`` parameter to an allocator sleeps when its caller passes a
blocking flag. Functions of the same file are summarised here; functions of
other files through ``patchlint.analysis.external``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

from tree_sitter import Node

from patchlint.analysis.calls import Call, call_args
from patchlint.analysis.facts import FileFacts, FunctionFacts
from patchlint.analysis.faults import (
    fault_only,
    faults_disabled_on_every_path,
    user_access_cannot_sleep,
)
from patchlint.analysis.gfp import blocking_flags, gfp_argument, gfp_params
from patchlint.analysis.guards import (
    ALWAYS,
    NEVER,
    OPEN,
    UNDECIDED,
    CallFacts,
    Condition,
    Conjunction,
    after_flag_exit,
    argument_condition,
    bool_params,
    call_facts,
    constant_argument,
    decide,
    flag_values,
    input_guarded,
    inputs_of,
    short_circuit_guarded,
)
from patchlint.analysis.identity import Resolver, fill, function_resolver
from patchlint.analysis.kb import Knowledge
from patchlint.analysis.lockstate import CallSite
from patchlint.analysis.pathfacts import nonnull_arguments
from patchlint.analysis.state import CALLERS, OWN, Held, LockState, in_order
from patchlint.analysis.summaries import relevant, under_parameter_test
from patchlint.source import FunctionDef

# Longer chains are not followed: each link is a branch the sleep may depend on.
MAX_CHAIN = 4


@dataclass(frozen=True)
class SleepSummary:
    """How a function may sleep: the chain of calls down to the sleeping one."""

    chain: tuple[str, ...]
    # Sleeps only when this argument (a gfp_t) allows blocking.
    gfp_param: int | None = None
    # Locks it drops while it sleeps (wait_event_lock_irq(), cond_resched_lock()):
    # (kind, lock) named like the caller names them (or over argument slots, "{0}->lock",
    # in a function's own summary).
    drops: tuple[tuple[str, str], ...] = ()
    # The sleep is on some paths only, chosen by an argument or by the state of an
    # argument's object (patchlint.analysis.guards): a call passing a constant does
    # not count as sleeping.
    guarded: bool = False
    # When guarded: the tests of its parameters on the way to each sleeping call
    # (patchlint.analysis.guards.Condition), so that a call passing constants is
    # judged by them; None when they are not simple tests of parameters.
    when: Condition = None


Flagged = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Deferred:
    """Whether the call sleeps depends on functions defined elsewhere in the tree:
    it does if one of ``names`` may sleep (the scan decides once every file has
    exported its summaries). ``via`` are the same-file callees in between."""

    names: tuple[str, ...]
    via: tuple[str, ...] = ()
    # Names reached only through calls passing a constant argument: a guarded sleep of
    # theirs may be kept off by it.
    constant: frozenset[str] = frozenset()
    # Names passed blocking GFP flags at these argument positions: they sleep also when
    # the tree has no definition of them, or when their definitions allocate with one.
    flagged: Flagged = ()
    # The names called here directly, with what the call passes: a guarded sleep of
    # theirs is judged by it once their conditions are known (SummaryTable.kept_off).
    calls: tuple[tuple[str, CallFacts], ...] = ()
    # Page faults are disabled on every path to the call: a sleep that is only a user
    # access faulting does not count (patchlint.analysis.faults).
    faults_off: bool = False


class Scanned(NamedTuple):
    """What ``scan_calls`` found in one function."""

    summary: SleepSummary | None
    externals: list[str]  # other files' functions it calls where a sleep would count
    constant: frozenset[str]  # those of them called with a constant argument
    # The call that sleeps unconditionally (the summary's first link), if any.
    site: Node | None = None
    flagged: Flagged = ()  # externals passed blocking GFP flags (see Deferred.flagged)


@dataclass
class SleepSite:
    """A call that may sleep, made where sleeping is forbidden on every path."""

    fn: FunctionDef
    facts: FunctionFacts
    site: CallSite
    rule: str  # "sleep-in-atomic" or "rcu-sleep"
    held: tuple[Held, ...]  # what forbids sleeping, on one path
    chain: tuple[str, ...] = ()
    deferred: Deferred | None = None  # decided tree-wide before reporting
    states: list[LockState] = field(default_factory=list)


def call_sleeps(
    ff: FileFacts,
    caller: FunctionDef,
    name: str,
    args: tuple[str, ...],
    site: Node | None = None,
    record_calls: bool = False,
) -> SleepSummary | Deferred | None:
    """Whether this call may sleep: a chain, "decided tree-wide", or None. ``site``,
    the call's node, lets facts of the caller's path (an argument known not NULL)
    judge a callee's guarded sleep; with ``record_calls`` (a call made where sleeping
    is forbidden) a deferred answer keeps them for the callee of another file."""
    kb = ff.kb
    if name in kb.not_sleeping or name == caller.name or name in ff.local_macros():
        return None
    if _names_a_variable(ff, caller, name):
        # `read()` where `read` is a function-pointer parameter or local: whatever it
        # points to, it is not the tree's function of that name.
        return None
    drop = kb.drops.get(name)
    if drop is not None:
        lock = _drop_lock(ff, caller, drop.kind, drop.lock, args)
        return SleepSummary((name,), drops=((drop.kind, lock),) if lock is not None else ())
    if kb.may_sleep(name, args):
        return SleepSummary((name,))
    params = gfp_params(caller, kb)
    if name in kb.allocators:
        index = gfp_argument(kb, args, params)
        return SleepSummary((name,), index) if index is not None else None
    callee = ff.source.function(name)
    flagged = tuple(i for i, arg in enumerate(args) if blocking_flags(kb, arg))
    if callee is None and name not in kb.ops and flagged:
        # Passing GFP_KERNEL says "you may block": the callee may allocate with it
        # (call_kern.cocci's rule), unless its definition is seen and says it does not.
        from patchlint.analysis.external import tree_flagged_sleep

        answer = tree_flagged_sleep(ff, name, flagged)
        if answer is not None:
            return answer
    summary: SleepSummary | Deferred | None
    if callee is not None:
        summary = sleep_summary(ff, callee)
    elif kb.neutral(name) or name in kb.ops or name in kb.noreturn:
        return None
    else:
        from patchlint.analysis.external import tree_sleep_summary

        summary = tree_sleep_summary(ff, name)
    if summary is None:
        return None
    constant = constant_argument(args)
    if isinstance(summary, Deferred):
        names = summary.constant | frozenset(summary.names) if constant else summary.constant
        via = summary.via if callee is None else (name, *summary.via)[:MAX_CHAIN]
        calls: tuple[tuple[str, CallFacts], ...] = ()
        if record_calls and callee is None and site is not None:
            calls = ((name, call_facts(args, nonnull_arguments(site, args, kb.transparent))),)
        return Deferred(summary.names, via, names, summary.flagged, calls)
    if len(summary.chain) >= MAX_CHAIN:
        return None
    guarded, when = summary.guarded, summary.when
    if guarded:
        # The callee's tests of its parameters, with these arguments.
        nonnull: frozenset[int] = frozenset()
        if site is not None and summary.when is not None:
            nonnull = nonnull_arguments(site, args, kb.transparent)
        outcome = decide(summary.when, args, caller, file_flag_values(ff), nonnull)
        if outcome == NEVER:
            return None
        if outcome == ALWAYS:
            guarded, when = False, None
        elif outcome == OPEN:
            when = None
        elif outcome is None or isinstance(outcome, str):
            if constant:
                return None  # a constant may keep the callee off its sleep
            when = None
        else:
            when = outcome
    chain = (name, *summary.chain)
    drops = _instantiate_drops(ff, caller, summary.drops, args)
    if summary.gfp_param is None:
        return SleepSummary(chain, drops=drops, guarded=guarded, when=when)
    if summary.gfp_param >= len(args):
        return None
    arg = args[summary.gfp_param]
    if kb.blocking(arg):
        return SleepSummary(chain, drops=drops, guarded=guarded, when=when)
    index = gfp_argument(kb, (arg,), params)
    return SleepSummary(chain, index, drops, guarded, when) if index is not None else None


def file_flag_values(ff: FileFacts) -> dict[str, int]:
    """The numeric macros of the file (cached): what its flag arguments stand for."""
    key = "flag-values"
    cached = ff.memo.get(key)
    if isinstance(cached, dict):
        return cached
    found = flag_values(ff.source.text)
    ff.memo[key] = found
    return found


def _names_a_variable(ff: FileFacts, caller: FunctionDef, name: str) -> bool:
    return name in caller.params or name in ff.local_names(caller)


def _resolver(ff: FileFacts, fn: FunctionDef) -> Resolver:
    facts = ff.facts(fn) if ff.mentions_locks(fn) else None
    if facts is not None:
        return facts.context.resolver
    key = f"resolver:{fn.start_byte}"
    cached = ff.memo.get(key)
    if isinstance(cached, Resolver):
        return cached
    resolver = function_resolver(fn.params, fn.body)
    ff.memo[key] = resolver
    return resolver


def _drop_lock(
    ff: FileFacts, caller: FunctionDef, kind: str, ref: int | str | None, args: tuple[str, ...]
) -> str | None:
    lock_kind = ff.kb.kind(kind)
    if lock_kind is not None and not lock_kind.keyed:
        return ""
    resolver = _resolver(ff, caller)
    if isinstance(ref, int):
        return resolver.lock_at(args[ref]) if ref < len(args) else None
    if isinstance(ref, str):
        filled = fill(ref, args)
        return resolver.resolve(filled) if filled is not None else None
    return ""


def _instantiate_drops(
    ff: FileFacts, caller: FunctionDef, drops: tuple[tuple[str, str], ...], args: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """A callee's dropped locks (over its argument slots) named like the caller names them."""
    found: list[tuple[str, str]] = []
    for kind, template in drops:
        lock = _drop_lock(ff, caller, kind, template, args) if template else ""
        if lock is not None:
            found.append((kind, lock))
    return tuple(found)


def _as_templates(
    ff: FileFacts, fn: FunctionDef, drops: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Dropped locks named over ``fn``'s argument slots, for its own summary."""
    resolver = _resolver(ff, fn)
    found: list[tuple[str, str]] = []
    for kind, lock in drops:
        template = resolver.template(lock)
        if template is not None:
            found.append((kind, template))
    return tuple(found)


def sleep_summary(ff: FileFacts, fn: FunctionDef) -> SleepSummary | Deferred | None:
    """How a function of this file may sleep, whoever calls it (cached)."""
    key = f"sleep:{fn.name}@{fn.start_byte}"
    if key in ff.memo:
        cached = ff.memo[key]
        return cached if isinstance(cached, (SleepSummary, Deferred)) else None
    ff.memo[key] = None  # recursion: a cycle does not sleep by itself
    result = _summarise(ff, fn)
    ff.memo[key] = result
    return result


def _summarise(ff: FileFacts, fn: FunctionDef) -> SleepSummary | Deferred | None:
    found, externals, constant, _site, flagged = scan_calls(ff, fn)
    if found is not None:
        return found
    # Those called with constants only: a guarded sleep of theirs does not count.
    return Deferred(tuple(externals), (), constant, flagged) if externals else None


MAX_EXTERNALS = 32


def scan_calls(ff: FileFacts, fn: FunctionDef) -> Scanned:
    """How ``fn`` may sleep by itself (an unconditional chain first, then one on paths
    its inputs choose, else one that depends on a gfp_t parameter), and the other
    files' functions it calls where a sleep would count (outside its own sections),
    for the tree-wide answer."""
    if fn.body is None or not ff.verdict(fn).analysed:
        return Scanned(None, [], frozenset())
    kb = ff.kb
    facts = ff.facts(fn) if relevant(ff, fn) else None
    params = set(fn.params)
    flags = bool_params(fn)
    inputs: set[str] | None = None  # built at the first sleeping call: most have none
    conditional: SleepSummary | None = None
    guarded: SleepSummary | None = None
    guarded_site: Node | None = None
    # An unconditional sleep that is only a user access faulting: another one, later,
    # says more (a caller disabling page faults does not stop it).
    faulting: tuple[SleepSummary, Node] | None = None
    # Each guarded site's tests of the parameters; None once one is unknown.
    conditions: list[Conjunction] | None = []
    externals: list[str] = []
    flagged: dict[str, tuple[int, ...]] = {}
    constant: set[str] = set()
    varying: set[str] = set()
    calls = ff.calls_in_function(fn)
    # What runs after "the last reference is gone" runs on the last put only.
    last_put = min(
        (node.start_byte for callee, node in calls if callee in kb.last_reference_tests),
        default=fn.end_byte,
    )
    for callee, node in calls:
        if node.start_byte > last_put:
            break
        if callee in kb.sleeping_conditional:
            continue
        # `if (sync) synchronize_net();` sleeps for the callers that ask it to: a
        # call passing a constant there is not claimed to (see SleepSummary.guarded).
        tested = under_parameter_test(node, params)
        if after_flag_exit(node, flags):
            continue
        if facts is not None and _inside_own_section(facts, node, kb):
            continue
        verdict = call_sleeps(ff, fn, callee, call_args(node), node)
        if isinstance(verdict, Deferred):
            if not verdict.via and not tested:
                for name in verdict.names:
                    if name not in externals and len(externals) < MAX_EXTERNALS:
                        externals.append(name)
                    (constant if name in verdict.constant else varying).add(name)
                for name, positions in verdict.flagged:
                    if name in externals:
                        flagged[name] = tuple(sorted({*flagged.get(name, ()), *positions}))
        elif verdict is not None:
            if fault_only(verdict.chain, verdict.gfp_param, kb) and _faults_off(facts, node, kb):
                continue
            drops = _as_templates(ff, fn, verdict.drops) if verdict.drops else ()
            if inputs is None:
                inputs = inputs_of(fn, _resolver(ff, fn))
            own = argument_condition(node, fn, inputs, kb.zeroing_allocators)
            # An exit or branch testing an input another way (`if (dev->x) goto out;`)
            # does not by itself make the sleep one its callers choose.
            own_chosen = (
                tested
                or input_guarded(node, inputs)
                or short_circuit_guarded(node, fn, inputs)
                or any(position >= 0 for position, _mask, _outcome in own)
            )
            chosen = verdict.guarded or own_chosen
            # A test another way (a field, a computed local) leaves the site undecided.
            site = _site_condition(own if own else ((UNDECIDED,) if own_chosen else ()), verdict)
            verdict = SleepSummary(verdict.chain, verdict.gfp_param, drops, chosen)
            if verdict.gfp_param is None and not chosen and fault_only(verdict.chain, None, kb):
                faulting = faulting or (verdict, node)
                continue
            if verdict.gfp_param is None and not chosen:
                return Scanned(
                    verdict, externals, frozenset(constant - varying), node, _pairs(flagged)
                )
            if verdict.gfp_param is None:
                if guarded is None:
                    guarded, guarded_site = verdict, node
                conditions = None if conditions is None or site is None else conditions + site
            else:
                conditional = conditional or verdict
    if faulting is not None:
        return Scanned(
            faulting[0], externals, frozenset(constant - varying), faulting[1], _pairs(flagged)
        )
    if guarded is not None:
        when = tuple(dict.fromkeys(conditions)) if conditions else None
        guarded = SleepSummary(guarded.chain, None, guarded.drops, True, when)
        return Scanned(
            guarded, externals, frozenset(constant - varying), guarded_site, _pairs(flagged)
        )
    return Scanned(conditional, externals, frozenset(constant - varying), None, _pairs(flagged))


def _site_condition(own: Conjunction, verdict: SleepSummary) -> list[Conjunction] | None:
    """The tests of the parameters on the way to one sleeping call: its own branches'
    and, through a guarded callee, the callee's over the arguments passed on."""
    if not verdict.guarded:
        return [own]
    if verdict.when is None:
        return None
    return [own + inner for inner in verdict.when]


def _pairs(flagged: dict[str, tuple[int, ...]]) -> Flagged:
    return tuple(sorted(flagged.items()))


def _faults_off(facts: FunctionFacts | None, node: Node, kb: Knowledge) -> bool:
    """Page faults disabled on every path of the function to this call."""
    site = facts.events.calls.get(node.start_byte) if facts is not None else None
    return site is not None and faults_disabled_on_every_path(site.states, kb)


def _inside_own_section(facts: FunctionFacts, node: Node, kb: Knowledge) -> bool:
    """Inside an atomic section of its own, or after dropping its caller's lock
    (`rcu_read_unlock(); schedule(); rcu_read_lock();`): not its callers' sleep."""
    site = facts.events.calls.get(node.start_byte)
    if site is None or not site.states:
        return False
    return all(
        _dropped_forbidding(state, kb) or any(h.how not in CALLERS for h in forbidding(state, kb))
        for state in site.states
    )


def _dropped_forbidding(state: LockState, kb: Knowledge) -> bool:
    """It dropped a caller's lock under which sleeping is forbidden. Dropping a mutex
    or a semaphore (`super_unlock_excl(s)` before freeing `s`) leaves whatever atomic
    context the caller is in as it was."""
    for dropped in state.dropped:
        kind = kb.kind(dropped.kind)
        if kind is None or kind.atomic or kind.rcu or dropped.irq:
            return True
    return False


def forbidding(
    state: LockState, kb: Knowledge, dropped: tuple[tuple[str, str], ...] = ()
) -> tuple[Held, ...]:
    """Held entries under which sleeping is a bug (atomic kinds, RCU), but for the locks
    the sleeping call drops while it sleeps."""
    found: list[Held] = []
    for held in state.held:
        if not held.definite:
            continue
        lock_kind = kb.kind(held.kind)
        if lock_kind is None or not (lock_kind.atomic or lock_kind.rcu):
            continue
        if any(held.same_lock(kind, lock) for kind, lock in dropped):
            continue
        found.append(held)
    return tuple(found)


def _inside_unlocked_argument(ff: FileFacts, fn: FunctionDef, call: Call) -> bool:
    """A call in the arguments of a lock-dropping wait (its `cmd` runs unlocked) or of a
    macro of this file (whose expansion we do not see)."""
    if call.start < 0:
        return False
    node = fn.node.descendant_for_byte_range(call.start, call.start)
    while node is not None and node.type not in ("expression_statement", "compound_statement"):
        if node.type == "argument_list" and node.parent is not None:
            outer = node.parent.child_by_field_name("function")
            name = outer.text.decode() if outer is not None and outer.text is not None else ""
            if name in ff.kb.drops or name in ff.local_macros():
                return True
        node = node.parent
    return False


def _call_node(fn: FunctionDef, call: Call) -> Node | None:
    if call.start < 0:
        return None
    node = fn.node.descendant_for_byte_range(call.start, call.start)
    while node is not None and node.type not in ("call_expression", "function_definition"):
        node = node.parent
    return node if node is not None and node.type == "call_expression" else None


def _released_before(
    ff: FileFacts, fn: FunctionDef, facts: FunctionFacts, call: Call
) -> tuple[tuple[str, str], ...]:
    """What the statement a wait runs before sleeping releases (`wait_event_cmd()`'s
    cmd1: `unlock_all_device_hash_locks_irq(conf)`)."""
    drop = ff.kb.drops.get(call.name)
    if drop is None or drop.before is None or call.start < 0:
        return ()
    node = fn.node.descendant_for_byte_range(call.start, call.start)
    while node is not None and node.type != "call_expression":
        node = node.parent
    arguments = node.child_by_field_name("arguments") if node is not None else None
    if arguments is None or drop.before >= len(arguments.named_children):
        return ()
    statement = arguments.named_children[drop.before]
    released: list[tuple[str, str]] = []
    for site in facts.events.calls.values():
        if not statement.start_byte <= site.call.start < statement.end_byte:
            continue
        for effect in facts.analysis.effects(site.call):
            if effect.op == "release":
                released.append((effect.kind, effect.lock))
    return tuple(released)


def _decided_by_tests(states: list[LockState], kb: Knowledge) -> list[LockState]:
    """The paths reaching a call holding a lock this function took, when a condition the
    code tests (and the analysis tracks) tells them from the paths without it: `if (p)
    read_lock(&p->lock); ... copy_to_user(...); if (p) read_unlock(&p->lock);` sleeps
    under the lock whenever ``p`` is set. Paths told apart by nothing are not judged."""
    free = [state for state in states if not forbidding(state, kb)]
    chosen: list[LockState] = []
    for state in states:
        held = forbidding(state, kb)
        if not held or not any(h.how in OWN for h in held):
            continue
        if all(
            any((name, not value) in other.facts for name, value in state.facts) for other in free
        ):
            chosen.append(state)
    return chosen


def sleep_sites(ff: FileFacts, fn: FunctionDef, facts: FunctionFacts) -> list[SleepSite]:
    """Calls that may sleep while every path holds something forbidding it."""
    kb = ff.kb
    found: list[SleepSite] = []
    sites = [*facts.events.calls.values(), *facts.events.guards.values()]
    for site in sorted(sites, key=lambda s: (s.call.line, s.call.start)):
        if not site.states or _inside_unlocked_argument(ff, fn, site.call):
            continue
        states = in_order(site.states)  # the first one's locks are the evidence
        if not all(forbidding(state, kb) for state in states):
            states = _decided_by_tests(states, kb)
            if not states:
                continue
        node = _call_node(fn, site.call)
        verdict = call_sleeps(ff, fn, site.call.name, site.call.args, node, record_calls=True)
        if verdict is None:
            continue
        dropped = verdict.drops if isinstance(verdict, SleepSummary) else ()
        dropped += _released_before(ff, fn, facts, site.call)
        held_per_state = [forbidding(state, kb, dropped) for state in states]
        if not all(held_per_state):
            continue
        if isinstance(verdict, SleepSummary) and verdict.gfp_param is not None:
            continue  # sleeps only if our caller passed a blocking flag
        if isinstance(verdict, SleepSummary) and user_access_cannot_sleep(
            ff, fn, verdict.chain, verdict.gfp_param, states
        ):
            continue
        if isinstance(verdict, Deferred) and faults_disabled_on_every_path(states, kb):
            verdict = replace(verdict, faults_off=True)
        atomic = [
            [h for h in held if (k := kb.kind(h.kind)) is not None and k.atomic]
            for held in held_per_state
        ]
        if all(atomic):
            rule = "sleep-in-atomic"
            witness = tuple(atomic[0])
        else:
            kinds = {kb.kind(h.kind) for held in held_per_state for h in held}
            rules = {k.sleep_rule for k in kinds if k is not None and not k.atomic}
            rule = rules.pop() if len(rules) == 1 else "sleep-in-atomic"
            witness = held_per_state[0]
        found.append(
            SleepSite(
                fn,
                facts,
                site,
                rule,
                witness,
                verdict.chain if isinstance(verdict, SleepSummary) else (),
                verdict if isinstance(verdict, Deferred) else None,
                states,
            )
        )
    return found
