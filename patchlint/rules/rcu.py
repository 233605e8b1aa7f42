"""RCU rules: sleeping inside a read-side section, unbalanced lock/unlock, escaping tasks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from patchlint.analysis.callers import caller_protection
from patchlint.analysis.calls import squash, text
from patchlint.analysis.facts import FileFacts, FunctionFacts, file_facts
from patchlint.analysis.lockstate import MAYBE, LockState
from patchlint.analysis.paths import held_evidence, witness_path
from patchlint.findings import Evidence, Finding

_RCU_TOKEN = re.compile(
    rb"\brcu_read_(?:un)?lock|\bguard\s*\(\s*rcu\s*\)|\bscoped_guard\s*\(\s*rcu\b"
)


def _rcu_functions(unit, ff: FileFacts) -> list[tuple[object, FunctionFacts]]:
    """Functions with an RCU section, analysed; computed once for the three rules."""
    key = ("rcu-functions", frozenset(unit.functions) if unit.functions else None)
    cached = unit.cache.get(key)
    if cached is not None:
        return cached
    found = []
    if _RCU_TOKEN.search(unit.source.data):
        for fn in unit.source.functions:
            if not unit.wants(fn.name) or fn.body is None:
                continue
            if not ff.mentions(fn, "rcu", _RCU_TOKEN):
                continue
            facts = ff.facts(fn)
            if facts is not None and facts.precise:
                found.append((fn, facts))
    unit.cache[key] = found
    return found


# ---------------------------------------------------------------- rcu-sleep


def check_rcu_sleep(unit) -> Iterable[Finding]:
    ff = file_facts(unit)
    for fn, facts in _rcu_functions(unit, ff):
        occurrences: Counter[str] = Counter()
        for call, states, node_id in sorted(
            facts.events.calls.values(), key=lambda item: item[0].start
        ):
            if not states or not all(state.holds("rcu") for state in states):
                continue
            chain: tuple[str, ...] | None = None
            if ff.kb.may_sleep(call.name, call.args):
                chain = (call.name,)
            elif call.name != fn.name and ff.source.function(call.name) is not None:
                inner = ff.sleeping_chain(call.name)
                chain = (call.name, *inner) if inner else None
            if chain is None:
                continue
            key = f"{call.name}()#{occurrences[call.name]}"
            occurrences[call.name] += 1
            state = next(iter(states))
            evidence = held_evidence(state, ff.path)
            evidence += witness_path(facts, node_id, ff.path, lambda s: bool(s.rcu))
            if len(chain) > 1:
                evidence.append(
                    Evidence(
                        "call",
                        "call chain: "
                        + " -> ".join(f"{name}()" for name in chain)
                        + " (may sleep)",
                        ff.path,
                        call.line,
                    )
                )
            else:
                evidence.append(Evidence("call", f"{call.name}() may sleep", ff.path, call.line))
            what = chain[-1]
            via = f" (via {' -> '.join(chain[:-1])})" if len(chain) > 1 else ""
            yield Finding(
                rule="rcu-sleep",
                severity="error",
                message=f"{call.name}() may sleep{via}: {what}() inside an RCU read-side "
                "critical section",
                file=ff.path,
                line=call.line,
                column=call.column,
                function=fn.name,
                confidence="high" if len(chain) == 1 else "medium",
                key=key,
                evidence=evidence,
            )


# ---------------------------------------------------------------- rcu-unbalanced


def _contract(ff: FileFacts, fn, side: str) -> str | None:
    """Why a function may legitimately return holding RCU (side "acquire") or drop
    one it did not take (side "release"), if it may."""
    kb = ff.kb
    annotations = kb.acquire_annotations if side == "acquire" else kb.release_annotations
    for note in fn.annotations:
        if note.name in annotations:
            return f"annotated {note.name}({', '.join(note.args)})"
    names = kb.lock_helper_names if side == "acquire" else kb.unlock_helper_names
    # A release helper by name never takes the lock itself (else it is just misnamed).
    pure = side == "acquire" or not re.search(r"\brcu_read_lock\w*\s*\(", ff.function_text(fn))
    for pattern in names:
        if pure and pattern.search(fn.name):
            return f"named like a lock helper ({fn.name})"
    comment, _line = ff.leading_comment(fn)
    flat = " ".join(comment.replace("*", " ").split())
    for pattern in kb.contract_comments:
        if pattern.search(flat):
            return "documented: " + pattern.pattern
    return None


_IDENT = re.compile(r"[A-Za-z_]\w*")
_NOT_VARIABLES = {"NULL", "likely", "unlikely", "true", "false", "IS_ERR", "READ_ONCE"}


def _conditional_locking(facts: FunctionFacts, kb) -> bool:
    """Lock and unlock both under branches that test the same variable.

    `if (need) rcu_read_lock(); ... if (need) rcu_read_unlock();` is balanced on
    every real path, but a dataflow that does not track `need` sees two paths
    that are not; such functions are left alone.
    """
    rcu = kb.locks["rcu"]
    # Branches around each lock and unlock call, by the branch statement's position.
    enclosing: dict[str, list[dict[int, set[str]]]] = {"acquire": [], "release": []}
    for call, _states, node_id in facts.events.calls.values():
        side = (
            "acquire"
            if call.name in rcu.acquire
            else ("release" if call.name in rcu.release else None)
        )
        if side is None:
            continue
        branches: dict[int, set[str]] = {}
        ast = facts.node(node_id).ast
        while ast is not None and ast.type != "function_definition":
            parent = ast.parent
            if parent is not None and parent.type in ("if_statement", "switch_statement"):
                condition = text(parent.child_by_field_name("condition"))
                branches[parent.start_byte] = set(_IDENT.findall(condition)) - _NOT_VARIABLES
            ast = parent
        enclosing[side].append(branches)

    # A lock and an unlock in the same innermost branch form an ordinary section
    # (`if (x) { lock; ...; unlock; }`); only calls standing alone under a branch can
    # make the `if (need) lock; ... if (need) unlock;` shape.
    def innermost(branches: dict[int, set[str]]) -> int | None:
        return max(branches) if branches else None

    def alone(side: str, other: str) -> list[dict[int, set[str]]]:
        return [
            b
            for b in enclosing[side]
            if innermost(b) is not None and not any(innermost(b) in o for o in enclosing[other])
        ]

    guards = {
        side: {
            name for branches in alone(side, other) for names in branches.values() for name in names
        }
        for side, other in (("acquire", "release"), ("release", "acquire"))
    }
    return bool(guards["acquire"] & guards["release"])


_ERROR_RETURN = re.compile(
    r"^(?:return\s*;|return\s+(?:-\s*E[A-Z0-9_]+|-\s*\d+|NULL|false|ERR_PTR\s*\(.*\)|"
    r"ret|err|error|rc|retval|status)\s*;)$"
)


# `return res;` / `return 1;` / `return true;`: a trylock-style success report.
_HANDOFF_RETURN = re.compile(r"^return\s+(?:[A-Za-z_]\w*|1|true)\s*;$")


def _returns_pointer(fn) -> bool:
    declarator = fn.node.child_by_field_name("declarator")
    return declarator is not None and declarator.type == "pointer_declarator"


def check_rcu_unbalanced(unit) -> Iterable[Finding]:
    ff = file_facts(unit)
    for fn, facts in _rcu_functions(unit, ff):
        if _conditional_locking(facts, ff.kb):
            continue
        summary = ff.summary(fn.name)
        callers = ff.calls_by_name().get(fn.name)
        if (
            summary is not None
            and callers
            and (summary.get("rcu") != MAYBE or _callers_release(ff, callers, fn.name))
        ):
            # A lock helper whose same-file callers rely on its effect: every path
            # nets the same change, or it may return holding RCU and its callers
            # release it themselves (a documented hand-off).
            continue
        unreleased = (
            list(_unreleased(ff, fn, facts)) if _contract(ff, fn, "acquire") is None else []
        )
        underflows = (
            list(_underflows(ff, fn, facts)) if _contract(ff, fn, "release") is None else []
        )
        if unreleased and underflows and _correlated(facts):
            # One path leaks what another path over-releases: the paths are
            # correlated through data we do not track, not really unbalanced.
            continue
        yield from unreleased
        yield from underflows


def _callers_release(ff: FileFacts, calls: list, helper: str) -> bool:
    """Whether a caller releases RCU after calling the helper, directly or through
    same-file functions it calls afterwards (`path_init()` returns holding RCU; its
    callers leave it later through `terminate_walk()`)."""
    release = ff.kb.locks["rcu"].release
    acquire = ff.kb.locks["rcu"].acquire
    seen: set[str] = {helper}

    def releases(code: str, depth: int) -> bool:
        if any(name in code for name in release):
            return True
        if depth == 0:
            return False
        for callee in set(_CALLEE.findall(code)):
            function = ff.source.function(callee)
            if function is None or callee in seen:
                continue
            seen.add(callee)
            body = ff.source.node_text(function.node)
            # Only an unlocking helper counts: a callee with RCU sections of its own
            # balances them and releases nothing of the caller's.
            if any(name in body for name in acquire):
                continue
            if releases(body, depth - 1):
                return True
        return False

    for call in calls:
        node = call
        while node is not None and node.type != "function_definition":
            node = node.parent
        if node is None:
            continue
        # Only what the caller does after the call can release what the helper kept.
        after = ff.source.data[call.end_byte : node.end_byte].decode("utf-8", "replace")
        if releases(after, 2):
            return True
    return False


_CALLEE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _correlated(facts: FunctionFacts) -> bool:
    for states in facts.events.returns.values():
        for state in states:
            if state.rcu_under and not state.acquired_rcu():
                return True
    return False


def _net(state: LockState) -> int:
    return len(state.acquired_rcu()) - state.rcu_under


def _enclosing_conditions(facts: FunctionFacts, node_id: int) -> set[str]:
    """Identifiers tested by the if/switch statements around a CFG node."""
    names: set[str] = set()
    ast = facts.node(node_id).ast
    while ast is not None and ast.type != "function_definition":
        parent = ast.parent
        if parent is not None and parent.type in ("if_statement", "switch_statement"):
            names |= set(_IDENT.findall(text(parent.child_by_field_name("condition"))))
        ast = parent
    return names - _NOT_VARIABLES


def _in_case(facts: FunctionFacts, node_id: int) -> bool:
    ast = facts.node(node_id).ast
    while ast is not None and ast.type != "function_definition":
        if ast.type == "case_statement":
            return True
        ast = ast.parent
    return False


def _trylock_shape(facts: FunctionFacts, kb, label: str) -> bool:
    """`if (ret) rcu_read_lock(); return ret;`: RCU is held exactly when it says so."""
    match = re.match(r"^return\s+([A-Za-z_]\w*)\s*;$", label)
    if not match:
        return False
    acquire = kb.locks["rcu"].acquire
    return any(
        call.name in acquire and match.group(1) in _enclosing_conditions(facts, node_id)
        for call, _s, node_id in facts.events.calls.values()
    )


def _releases(ff: FileFacts, facts: FunctionFacts) -> bool:
    release = ff.kb.locks["rcu"].release
    return any(call.name in release for call, _s, _n in facts.events.calls.values())


def _unreleased(ff: FileFacts, fn, facts: FunctionFacts) -> Iterator[Finding]:
    returns = facts.events.returns
    # A path that called something which may drop the lock for us (free(),
    # ops->release()) is not known to leak.
    leaking = {
        node_id: [s for s in states if _net(s) > 0 and not s.handoff]
        for node_id, states in returns.items()
    }
    leaking = {node_id: states for node_id, states in leaking.items() if states}
    if not leaking:
        return
    balanced = any(_net(s) == 0 for states in returns.values() for s in states)
    if not _releases(ff, facts) and (ff.kb.lock_word is None or ff.kb.lock_word.search(fn.name)):
        # Takes RCU (on every path, or conditionally) and never drops it, and is named
        # for it: a lock helper such as __local_bh_disable_ip(); its pair releases.
        return
    occurrences: Counter[str] = Counter()
    for node_id in sorted(leaking, key=lambda n: facts.node(n).line):
        node = facts.node(node_id)
        label = squash(text(node.ast)) if node.ast is not None else "end of function"
        if (
            balanced
            and node.ast is not None
            and (
                (
                    not _ERROR_RETURN.match(label)
                    and (_returns_pointer(fn) or _HANDOFF_RETURN.match(label))
                )
                or _trylock_shape(facts, ff.kb, label)
            )
        ):
            # Some paths return balanced and this one hands back a result with
            # RCU held: the shape of a conditional lock helper, not a leak.
            continue
        key = f"{label}#{occurrences[label]}"
        occurrences[label] += 1
        held = leaking[node_id]
        state = held[0]
        evidence = held_evidence(state._replace(tasklist=(), siglock=()), ff.path)
        evidence += witness_path(facts, node_id, ff.path, lambda s: _net(s) > 0)
        evidence.append(
            Evidence(
                "unlock", "no rcu_read_unlock() on this path before it returns", ff.path, node.line
            )
        )
        where = "returns" if node.ast is not None else "falls off its end"
        yield Finding(
            rule="rcu-unbalanced",
            severity="error",
            message=f"{fn.name}() {where} with the RCU read lock taken at line "
            f"{state.acquired_rcu()[-1][0]} still held",
            file=ff.path,
            line=node.line,
            function=fn.name,
            key=key,
            evidence=evidence,
            confidence="high" if len(held) == len(returns[node_id]) else "medium",
        )


def _underflows(ff: FileFacts, fn, facts: FunctionFacts) -> Iterator[Finding]:
    if not facts.events.underflows:
        return
    acquire = ff.kb.locks["rcu"].acquire
    if not any(call.name in acquire for call, _s, _n in facts.events.calls.values()):
        # Only releases: its callers hold RCU by a contract we cannot see.
        return
    dropped = [s for states in facts.events.returns.values() for s in states if s.rcu_under]
    if dropped and all(_net(s) >= 0 for s in dropped):
        # rcu_read_unlock(); ...; rcu_read_lock(): drops its caller's section
        # and takes it back before returning.
        return
    declared = [a for a in ff.declared_assumptions(fn) if a.lock == "rcu"]
    if declared or caller_protection(ff, fn, {"rcu"}).protected is not None:
        return
    occurrences: Counter[str] = Counter()
    for call, states, node_id in sorted(
        facts.events.underflows.values(), key=lambda item: item[0].start
    ):
        if _enclosing_conditions(facts, node_id) or _in_case(facts, node_id):
            # A conditional release (`if (!(seq & 1)) rcu_read_unlock();`) is
            # usually correlated with how the lock was taken; only releases
            # every path makes are judged.
            continue
        key = f"{call.name}()#{occurrences[call.name]}"
        occurrences[call.name] += 1
        evidence = witness_path(facts, node_id, ff.path, lambda s: not s.rcu)
        earlier = [s for s in facts.states(node_id) if s.rcu_under]
        if earlier or any(s.rcu_under for s in states):
            evidence.append(
                Evidence(
                    "unlock",
                    "the RCU read lock was already released on this path",
                    ff.path,
                    call.line,
                )
            )
        else:
            evidence.append(
                Evidence("unlock", "no rcu_read_lock() on any path to here", ff.path, call.line)
            )
        yield Finding(
            rule="rcu-unbalanced",
            severity="error",
            message=f"{call.name}() without the RCU read lock held on this path",
            file=ff.path,
            line=call.line,
            column=call.column,
            function=fn.name,
            key=key,
            evidence=evidence,
            confidence="high",
        )


# ---------------------------------------------------------------- rcu-task-escape


def check_rcu_task_escape(unit) -> Iterable[Finding]:
    ff = file_facts(unit)
    for fn, facts in _rcu_functions(unit, ff):
        seen: set[tuple[str, int]] = set()
        occurrences: Counter[str] = Counter()
        for _node_id, var, found, unlocked, line, how in sorted(
            facts.events.escapes, key=lambda item: (item[4], item[1])
        ):
            if (var, line) in seen:
                continue
            seen.add((var, line))
            key = f"{var}:{how}#{occurrences[var]}"
            occurrences[var] += 1
            evidence = [
                Evidence(
                    "lock", f"{var} obtained inside the RCU section at line {found}", ff.path, found
                ),
                Evidence(
                    "unlock",
                    f"RCU read lock released at line {unlocked} without get_task_struct({var})",
                    ff.path,
                    unlocked,
                ),
                Evidence("call", f"{var} used after the section ({how})", ff.path, line),
            ]
            yield Finding(
                rule="rcu-task-escape",
                severity="warning",
                message=f"task pointer {var} found under RCU is used after rcu_read_unlock() "
                "without a reference",
                file=ff.path,
                line=line,
                function=fn.name,
                key=key,
                evidence=evidence,
                confidence="medium",
            )
