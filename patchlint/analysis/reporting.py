"""Findings of the lock rules, built once per file image and shared by the rule pairs
(sleep-in-atomic / rcu-sleep, lock-unbalanced / rcu-unbalanced), and the functions
the analysis could not judge ("not analysed", with the reason)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from patchlint.analysis.balance import imbalances
from patchlint.analysis.external import SummaryTable, answering_table
from patchlint.analysis.facts import FileFacts, FunctionFacts, Verdict, file_facts
from patchlint.analysis.faults import fault_only
from patchlint.analysis.hostcode import not_kernel_code
from patchlint.analysis.inherited import inherited_sleep
from patchlint.analysis.kb import knowledge
from patchlint.analysis.paths import describe, held_evidence, witness_path
from patchlint.analysis.sleep import Deferred, SleepSite, forbidding, sleep_sites
from patchlint.analysis.summaries import relevant
from patchlint.findings import Evidence, Finding
from patchlint.source import FunctionDef, SourceFile

DEFERRED_KEY = "deferred-findings"


class Unit(Protocol):
    source: SourceFile
    path: str
    functions: set[str] | None

    @property
    def cache(self) -> dict[str, object]: ...

    @property
    def index(self) -> object: ...

    def wants(self, function_name: str | None) -> bool: ...


@dataclass
class DeferredFinding:
    """A finding that holds only if one of ``deferred.names`` (defined in other files)
    may sleep; ``where`` is the rest of its message ("atomic context (... held)")."""

    deferred: Deferred
    finding: Finding
    call: str
    where: str


@dataclass(frozen=True)
class NotAnalysed:
    function: str
    line: int
    reason: str


def analysed_functions(unit: Unit) -> list[tuple[FunctionDef, FunctionFacts]]:
    """Functions of the unit that touch locks and could be analysed (cached per unit)."""
    ff = file_facts(unit)
    key = f"lock-functions:{sorted(unit.functions) if unit.functions is not None else '*'}"
    cached = ff.memo.get(key)
    if isinstance(cached, list):
        return cached
    found: list[tuple[FunctionDef, FunctionFacts]] = []
    if not_kernel_code(ff):
        ff.memo[key] = found  # userspace code: mutex_lock() is pthread's there
        return found
    for fn in unit.source.functions:
        if not unit.wants(fn.name) or fn.body is None or not relevant(ff, fn):
            continue
        if not ff.verdict(fn).analysed:
            continue
        facts = ff.facts(fn)
        if facts is not None and facts.precise:
            found.append((fn, facts))
    ff.memo[key] = found
    return found


def not_analysed(unit: Unit) -> list[NotAnalysed]:
    """Functions of the unit that touch locks but that the analysis cannot judge."""
    ff = file_facts(unit)
    found: list[NotAnalysed] = []
    for fn in unit.source.functions:
        if not unit.wants(fn.name) or fn.body is None or not ff.mentions_locks(fn):
            continue
        verdict: Verdict = ff.verdict(fn)
        if not verdict.analysed:
            found.append(NotAnalysed(fn.name, verdict.line or fn.start_line, verdict.reason))
    return found


# ---------------------------------------------------------------- sleeping


def _sleep_sites(unit: Unit) -> list[SleepSite]:
    ff = file_facts(unit)
    key = f"sleep-sites:{sorted(unit.functions) if unit.functions is not None else '*'}"
    cached = ff.memo.get(key)
    if isinstance(cached, list):
        return cached
    found: list[SleepSite] = []
    for fn, facts in analysed_functions(unit):
        found.extend(sleep_sites(ff, fn, facts))
    ff.memo[key] = found
    return found


def sleep_findings(unit: Unit, rule: str) -> Iterable[Finding]:
    """Findings of one sleep rule; deferred ones are kept aside for the scan."""
    ff = file_facts(unit)
    occurrences: Counter[tuple[str, str]] = Counter()
    for site in _sleep_sites(unit):
        call = site.site.call
        label = f"{call.name}()"
        number = occurrences[(site.fn.name, label)]
        occurrences[(site.fn.name, label)] += 1
        if site.rule != rule:
            continue
        finding, where = _sleep_finding(ff, site, f"{label}#{number}")
        if site.deferred is not None:
            item = DeferredFinding(site.deferred, finding, call.name, where)
            table = answering_table(ff)
            if table is not None:
                yield from resolve_deferred([item], table)  # a patch check: ask now
                continue
            deferred = ff.memo.setdefault(DEFERRED_KEY, [])
            if isinstance(deferred, list):
                deferred.append(item)
            continue
        yield finding
    yield from _inherited_findings(unit, ff, rule)


def _inherited_findings(unit: Unit, ff: FileFacts, rule: str) -> Iterable[Finding]:
    """Sleeps of functions whose every caller holds an atomic lock (analysis.inherited)."""
    # The callers report the sleep at their call (same-file callees are followed):
    # a function is reported itself only when the patch changed it and not them.
    if unit.functions is None or not_kernel_code(ff):
        return
    own = {site.site.call.start for site in _sleep_sites(unit)}
    for fn in unit.source.functions:
        if not unit.wants(fn.name) or fn.body is None:
            continue
        found = inherited_sleep(ff, fn)
        if found is None or found.rule != rule or found.call.start in own:
            continue
        if any(unit.wants(name) for _path, name, _line in found.callers.chain):
            continue
        call = found.call
        chain = found.chain
        evidence = [
            Evidence(
                "caller",
                f"called from {name}() holding {describe(found.held, ff.kb)}"
                if index == 0
                else f"called from {name}()",
                path,
                line,
            )
            for index, (path, name, line) in enumerate(found.callers.chain)
        ]
        evidence.append(Evidence("note", found.callers.message, ff.path, fn.start_line))
        evidence.append(
            Evidence(
                "call",
                " -> ".join(f"{name}()" for name in chain) + " (may sleep)",
                ff.path,
                call.line,
            )
        )
        context = "an RCU read-side critical section" if rule == "rcu-sleep" else "atomic context"
        where = f"{context} (its callers hold {describe(found.held, ff.kb)})"
        yield Finding(
            rule=rule,
            severity="error",
            message=_message(call.name, chain, where),
            file=ff.path,
            line=call.line,
            column=call.column,
            function=fn.name,
            confidence="medium",
            key=f"{call.name}()@callers",
            evidence=evidence,
        )


def _sleep_finding(ff: FileFacts, site: SleepSite, key: str) -> tuple[Finding, str]:
    call = site.site.call
    kb = ff.kb
    evidence = held_evidence(site.held, ff.path, kb)
    wanted = {(h.kind, h.lock) for h in site.held}
    evidence += witness_path(
        site.facts,
        site.site.node,
        ff.path,
        lambda s: wanted <= {(h.kind, h.lock) for h in forbidding(s, kb)},
    )
    chain = site.chain or (call.name,)
    if len(chain) > 1:
        evidence.append(
            Evidence(
                "call",
                "call chain: " + " -> ".join(f"{name}()" for name in chain) + " (may sleep)",
                ff.path,
                call.line,
            )
        )
    elif site.deferred is None:
        evidence.append(Evidence("call", f"{call.name}() may sleep", ff.path, call.line))
    context = "an RCU read-side critical section" if site.rule == "rcu-sleep" else "atomic context"
    held = ", ".join(describe(h, kb) for h in site.held[:3])
    where = f"{context} ({held} held)"
    finding = Finding(
        rule=site.rule,
        severity="error",
        message=_message(call.name, chain, where),
        file=ff.path,
        line=call.line,
        column=call.column,
        function=site.fn.name,
        confidence="high" if len(chain) == 1 else "medium",
        key=key,
        evidence=evidence,
    )
    return finding, where


def _message(call: str, chain: tuple[str, ...], where: str) -> str:
    via = f" (via {' -> '.join(chain[:-1])})" if len(chain) > 1 else ""
    return f"{call}() may sleep{via}: {chain[-1]}() called in {where}"


def deferred_findings(unit: Unit) -> list[DeferredFinding]:
    """Findings waiting for a tree-wide answer (whole-tree scan only)."""
    ff = file_facts(unit)
    found = ff.memo.get(DEFERRED_KEY)
    return (
        [item for item in found if isinstance(item, DeferredFinding)]
        if isinstance(found, list)
        else []
    )


def complete_deferred(item: DeferredFinding, callee: str, chain: tuple[str, ...]) -> Finding:
    """The finding of a deferred sleeping call, now that ``callee`` (one of the
    deferred names) is known to sleep by ``chain``."""
    finding = item.finding
    full = (*item.deferred.via, callee, *chain) if item.deferred.via else (callee, *chain)
    finding.message = _message(item.call, full, item.where)
    finding.evidence.append(
        Evidence(
            "call",
            "call chain: " + " -> ".join(f"{name}()" for name in full) + " (may sleep)",
            finding.file,
            finding.line,
        )
    )
    finding.confidence = "medium"
    return finding


# ---------------------------------------------------------------- imbalance


def balance_findings(unit: Unit, rule: str) -> Iterable[Finding]:
    ff = file_facts(unit)
    for fn, facts in analysed_functions(unit):
        occurrences: Counter[str] = Counter()
        for item in imbalances(ff, fn, facts):
            number = occurrences[item.label]
            occurrences[item.label] += 1
            if item.rule != rule:
                continue
            yield Finding(
                rule=rule,
                severity="error",
                message=item.message,
                file=ff.path,
                line=item.line,
                column=item.column,
                function=fn.name,
                confidence=item.confidence,
                key=f"{item.what}:{item.label}#{number}",
                evidence=item.evidence,
            )


Check = Callable[[Unit], Iterable[Finding]]


def resolve_deferred(items: list[DeferredFinding], table: SummaryTable) -> list[Finding]:
    """The deferred sleeping calls that the tree-wide table says may sleep."""
    found: list[Finding] = []
    for item in items:
        flagged = dict(item.deferred.flagged)
        for name in item.deferred.names:
            if name in flagged and table.allocates_with(name, flagged[name]):
                found.append(complete_deferred(item, name, ()))
                break
            sleeps = table.sleeps_guarded(name)
            if sleeps is None or (sleeps[1] and name in item.deferred.constant):
                continue  # a constant argument may keep the callee off its sleep
            if item.deferred.faults_off and fault_only(sleeps[0], None, knowledge()):
                continue  # a user access, with page faults disabled
            found.append(complete_deferred(item, name, sleeps[0]))
            break
    return found
