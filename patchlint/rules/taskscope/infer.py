"""Infer, from a kernel tree, which task state is per thread, per group or per mm, which
per-thread facts have a group counterpart, the group predicates, and which calls make
one thread (or a whole group) run.

The steps, each from the code only:

1. the scope structs' declarations (``[roots]`` names them) give every member's scope;
2. every function of the tree's common directories that reaches group state (through
   the task's links to it) is read, with its callees' summaries;
3. a per-thread fact and a group fact written together, in sequence on one path, or
   tested as alternatives about the same task are counterparts; the writers of a
   per-thread fact are its owners; one set on a chosen task together with its group
   counterpart is a *marker* of a group event;
4. functions whose value depends only on group (or only on thread) state of their
   argument are predicates;
5. functions that reach the wake-up primitive on a parameter are actions on one task,
   those doing so for each thread of a walk over a parameter's group are its group form.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from patchlint.rules.taskscope.evidence import (
    Observed,
    bit_setters,
    flag_words_of,
    is_accessor,
    normalised,
    observe,
    pairings,
)
from patchlint.rules.taskscope.model import (
    Action,
    Counterpart,
    Evidence,
    Fact,
    GroupForm,
    Predicate,
    Scope,
    StructInfo,
    Summary,
    ThreadFact,
    Where,
)
from patchlint.rules.taskscope.scopes import ScopeModel, read_structs, roots, struct_pattern
from patchlint.rules.taskscope.summaries import (
    SummaryStore,
    returned_struct,
    returns_value,
    summary_of,
)
from patchlint.rules.taskscope.syntax import text
from patchlint.rules.taskscope.treefiles import TreeFiles

STRONG = "written-together"


@dataclass
class Knowledge:
    """What the inference found in one tree."""

    structs: dict[str, StructInfo] = field(default_factory=dict)
    # A plain dict when inferred; read from the cache, a mapping that builds each
    # summary on first use (cache.StoredSummaries).
    summaries: MutableMapping[str, Summary] = field(default_factory=dict)
    thread_facts: dict[str, ThreadFact] = field(default_factory=dict)
    predicates: dict[str, Predicate] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    group_forms: dict[str, list[GroupForm]] = field(default_factory=dict)
    walked: dict[str, Where] = field(default_factory=dict)
    group_constants: dict[str, str] = field(default_factory=dict)
    # The enumeration the thread-directed constant belongs to, in declaration order
    # (PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, ...): the levels a signal may address.
    pid_levels: list[str] = field(default_factory=list)
    group_state: list[str] = field(default_factory=list)
    shape: list[str] = field(default_factory=list)
    flag_words: set[tuple[str, str]] = field(default_factory=set)
    bits: dict[str, Fact] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)


def declare(files: TreeFiles) -> ScopeModel:
    base = roots()
    found: dict[str, StructInfo] = {}
    if base.structs:
        for path in sorted(files.grep(struct_pattern(list(base.structs))), key=files.tier):
            read_structs(files.text(path) or "", path, base.structs, found)
    return ScopeModel(base, found)


def universe(files: TreeFiles, model: ScopeModel) -> list[str]:
    """Files of the common directories that reach group state."""
    links = model.links("group")
    group_structs = [n for n, s in model.roots.structs.items() if s == "group"]
    parts = []
    if links:
        parts.append(r"->(" + "|".join(links) + r")\b")
    if group_structs:
        parts.append(r"\b(" + "|".join(group_structs) + r")\b")
    if not parts:
        return []
    return sorted(set(files.grep("|".join(parts))), key=lambda p: (files.tier(p), p))


@dataclass
class _Collected:
    pairs: dict[tuple[Fact, Fact], list[Evidence]] = field(
        default_factory=lambda: defaultdict(list)
    )
    writers: dict[Fact, list[tuple[Where, str, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    functions: int = 0


def infer(files: TreeFiles) -> Knowledge:
    started = time.perf_counter()
    cpu = time.process_time()
    model = declare(files)
    store = SummaryStore(files, model)
    accessor_names: set[str] = set()
    setters: set[tuple[str, str]] = set()
    counted = 0

    def accessors() -> set[str]:
        nonlocal counted
        items = list(store.summaries.items())
        for (_path, name), summary in items[counted:]:
            if summary is not None and is_accessor(summary):
                accessor_names.add(name)
            if summary is not None:
                setters.update(bit_setters(summary))
        counted = len(items)
        return accessor_names

    collected = _Collected()
    paths = universe(files, model)
    store.wide_files = set(paths)
    store.thread_list()  # the iterators' summaries, whole, before any deep reading
    observed: list[Observed] = []
    constants: Counter[tuple[str, str]] = Counter()
    for path in paths:
        source = files.parsed(path)
        if source is None:
            continue
        for fn in source.functions:
            if fn.body is None:
                continue
            reading = store.read_function(source, fn)
            key = (path, fn.name)
            if key not in store.summaries:
                store.summaries[key] = summary_of(
                    reading,
                    path,
                    fn.start_line,
                    False,
                    returned_struct(fn),
                    returns_value(fn),
                    fn.is_static and path.endswith(".c"),
                    model,
                )
            collected.functions += 1
            observed.append(observe(reading, model, accessors(), path, setters))
            for constant, passed, scope in reading.resolved:
                if scope == "group":
                    constants[(constant, passed)] += 1
    flag_words: set[tuple[str, str]] = set()
    for item in observed:
        flag_words |= flag_words_of(item)
    for item in observed:
        for pairing in pairings(item, flag_words):
            collected.pairs[(pairing.thread, pairing.group)].append(pairing.evidence)
        _writers(item, flag_words, collected)
    knowledge = Knowledge(structs=model.structs, flag_words=flag_words)
    # Group facts the tree relates to per-thread state (written with it, asked as its
    # alternative): the group *state*, as opposed to attributes like limits or ids.
    for (constant, passed), _count in constants.most_common():
        knowledge.group_constants.setdefault(constant, passed)
    knowledge.pid_levels = enum_levels(files, next(iter(knowledge.group_constants), ""))
    for item in observed:
        for seen in item.seen:
            fact = normalised(seen.fact, seen.access.plain, flag_words)
            if fact.bit:
                knowledge.bits.setdefault(fact.bit, fact)
    for (_path, name), summary in store.summaries.items():
        if summary is not None and (not summary.static or name not in knowledge.summaries):
            knowledge.summaries.setdefault(name, summary)
    knowledge.predicates = predicates(knowledge.summaries, model, len(paths) == 1)
    knowledge.thread_facts = thread_facts(collected, knowledge, model)
    knowledge.group_state = group_state(knowledge, observed, flag_words)
    knowledge.shape = shape(store, model)
    _declared(files, knowledge)
    knowledge.actions, knowledge.group_forms, knowledge.walked = actions(knowledge.summaries)
    knowledge.summaries = compact(knowledge, model)
    knowledge.stats = {
        "seconds_cpu": round(time.process_time() - cpu, 2),
        "files": float(len(paths)),
        "functions": float(collected.functions),
        "summaries": float(len(knowledge.summaries)),
        "files_read": float(len(files.manifest)),
        "greps": float(files.greps),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return knowledge


def _writers(observed: Observed, flag_words: set[tuple[str, str]], collected: _Collected) -> None:
    for item in observed.seen:
        if item.fact.scope == "thread" and item.op in ("set", "clear") and item.depth == 0:
            fact = normalised(item.fact, item.access.plain, flag_words)
            where = Where(observed.path, item.access.line, observed.name)
            entry = (where, item.op, item.anchor == ("current", ()))
            if all(
                w[0].function != observed.name or w[1:] != entry[1:]
                for w in collected.writers[fact]
            ):
                collected.writers[fact].append(entry)


# ------------------------------------------------------------------ counterparts


CONFIRMING = frozenset({STRONG, "tested-together", "set-after-test"})


def _confirmed(evidence: list[Evidence]) -> bool:
    """Set alone together, or related by a test: writes next to each other in a busy
    function, or on one path, only count once a test confirms them (every sleeping
    function writes the run state next to whatever it does)."""
    return any(e.kind in CONFIRMING for e in evidence)


def _accepted(evidence: list[Evidence]) -> bool:
    """One function setting exactly these two facts (the thread fact marks the group
    event), or the thread fact asked as an alternative to the group fact somewhere
    (it stands for the group question there) and one more kind of evidence."""
    kinds = {e.kind for e in evidence}
    return STRONG in kinds or "tested-together" in kinds and len(kinds) >= 2


def thread_facts(
    collected: _Collected, knowledge: Knowledge, model: ScopeModel
) -> dict[str, ThreadFact]:
    best: dict[Fact, Counterpart] = {}
    for (thread, group), evidence in collected.pairs.items():
        if not _accepted(evidence):
            continue
        unique = _unique(evidence)
        candidate = Counterpart(
            thread, group, unique, *replacement(group, knowledge.predicates, model)
        )
        current = best.get(thread)
        if current is None or _rank(candidate) > _rank(current):
            best[thread] = candidate
    result: dict[str, ThreadFact] = {}
    for thread, counterpart in best.items():
        strong = [e for e in counterpart.evidence if e.kind == STRONG]
        writers = collected.writers.get(thread, [])
        marker_where = next(
            (
                e
                for e in strong
                if not any(w[2] and w[0].function == e.where.function for w in writers)
            ),
            None,
        )
        result[thread.name] = ThreadFact(
            fact=thread,
            declared=None,
            counterpart=counterpart,
            marker=marker_where is not None,
            marker_evidence=marker_where,
            writers=[w[0] for w in writers],
            clearers_on_current=sorted(
                {w[0].function for w in writers if w[1] == "clear" and w[2]}
            ),
        )
    return result


def group_state(
    knowledge: Knowledge, observed: list[Observed], flag_words: set[tuple[str, str]]
) -> list[str]:
    """The group state threads act upon: the counterparts, and what the tree changes
    together with them (a group exit sets the exit code and ends a group stop)."""
    events = {t.counterpart.group for t in knowledge.thread_facts.values()}
    state = {fact.name for fact in events}
    for item in observed:
        written = {
            normalised(s.fact, s.access.plain, flag_words)
            for s in item.seen
            if s.fact.scope == "group" and s.depth == 0 and s.op != "read"
        }
        if written & events:
            state |= {fact.name for fact in written}
    return sorted(state)


def shape(store: SummaryStore, model: ScopeModel) -> list[str]:
    """The group members the thread walks follow (the list of a group's threads): a
    question about them is a question about the group's shape, not its state."""
    return sorted(f"{holder}->{member}" for holder, member in store.thread_list())


def _rank(counterpart: Counterpart) -> tuple[int, int, int]:
    strong = int(any(e.kind == STRONG for e in counterpart.evidence))
    kinds, count = counterpart.score
    return (strong, kinds, count)


def _unique(evidence: list[Evidence]) -> list[Evidence]:
    seen: set[tuple[str, str]] = set()
    result = []
    for item in evidence:
        key = (item.kind, item.where.function)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def replacement(
    group: Fact, predicates: dict[str, Predicate], model: ScopeModel
) -> tuple[str, str]:
    """The group-wide spelling of a group fact about ``{task}``: a group predicate that
    reads it, else the member test through the task's link to its group."""
    link = next(
        (f for f in model.links("group") if model.target(model.roots.task, f) == group.holder), ""
    )
    candidates = [p for p in predicates.values() if p.scope == "group" and group.name in p.reads]
    candidates.sort(key=lambda p: (len(p.reads), not p.direct, p.where.file.endswith(".c"), p.name))
    for predicate in candidates:
        if len(predicate.reads) == 1:
            argument = (
                "{task}" if predicate.param_struct == model.roots.task else f"{{task}}->{link}"
            )
            return f"{predicate.name}({argument})", predicate.name
    spelled = f"{{task}}->{link}->{group.member}" if link else f"{{task}}->{group.member}"
    if group.bit:
        return f"({spelled} & {group.bit})", ""
    return spelled, ""


def compact(knowledge: Knowledge, model: ScopeModel) -> dict[str, Summary]:
    """Keep of each summary what the rules read: tests and writes of group state, of
    per-thread facts that have a counterpart, bits given by a parameter, wake-ups."""
    wanted = {(t.fact.holder, t.fact.member, t.fact.bit) for t in knowledge.thread_facts.values()}
    kept: dict[str, Summary] = {}
    for name, summary in knowledge.summaries.items():
        accesses = []
        for access in summary.accesses:
            holder, member = access.loc.holder, access.loc.member
            scope = model.scope_of(holder)
            if holder is None and member is not None and len(access.loc.path) == 1:
                accesses.append(access)  # an untyped macro argument: typed when applied
                continue
            if scope is None or holder is None or member is None:
                continue
            target = model.scope_of(model.target(holder, member))
            bit = access.bit
            if (
                scope == "group"
                or (scope == "thread" and target == "group")
                or (bit is not None and bit.startswith("$"))
                or (holder, member, bit) in wanted
                or (holder, member, None) in wanted
            ):
                accesses.append(access)
        if (
            accesses
            or summary.wakes
            or summary.walk_wakes
            or summary.selects
            or summary.returns
            or summary.thread_params
            or summary.as_process
        ):
            summary.accesses = tuple(accesses)
            kept[name] = summary
    return kept


# --------------------------------------------------------------------- predicates


def _scope_of_read(
    summary: Summary, model: ScopeModel, param: int
) -> tuple[set[Scope], set[str], bool]:
    scopes: set[Scope] = set()
    reads: set[str] = set()
    direct = True
    for access in summary.accesses:
        if access.op != "read" or access.loc.base != f"${param}":
            continue
        holder, member = access.loc.holder, access.loc.member
        scope = model.scope_of(holder)
        if scope is None or member is None or holder is None:
            continue
        target = model.scope_of(model.target(holder, member))
        if access.bit is None and scope == "thread" and target == "group":
            scopes.add(target)  # p->signal compared: which group, a group question
            continue
        if access.bit is not None and access.bit.startswith("$"):
            continue
        scopes.add(scope)
        reads.add(access.bit or f"{holder}->{member}")
        direct = direct and not access.via
    return scopes, reads, direct


def predicates(
    summaries: Mapping[str, Summary], model: ScopeModel, single_file: bool = False
) -> dict[str, Predicate]:
    """Static functions of a .c file are predicates only for that file: kept when the
    knowledge is that one file's."""
    found: dict[str, Predicate] = {}
    for name, summary in summaries.items():
        if not summary.value or summary.wakes or summary.static and not single_file:
            continue
        for param in range(len(summary.params)):
            scopes, reads, direct = _scope_of_read(summary, model, param)
            if len(scopes) == 1 and reads and not any(a.op != "read" for a in summary.accesses):
                (scope,) = scopes
                found[name] = Predicate(
                    name,
                    param,
                    scope,
                    tuple(sorted(reads)),
                    summary.where(),
                    summary.macro,
                    summary.param_structs[param] if param < len(summary.param_structs) else None,
                    direct,
                )
                break
    return found


# ------------------------------------------------------------------------ actions


def actions(
    summaries: Mapping[str, Summary],
) -> tuple[dict[str, Action], dict[str, list[GroupForm]], dict[str, Where]]:
    found: dict[str, Action] = {}
    forms: dict[str, list[GroupForm]] = defaultdict(list)
    walked: dict[str, Where] = {}
    # Smallest first: a function that does little but the walk is the group form
    # to name (zap_other_threads(p) rather than complete_signal(sig, p, type)).
    ranked = sorted(summaries.items(), key=lambda i: (len(i[1].params), i[1].breadth, i[0]))
    for name, summary in ranked:
        for wake in summary.wakes:
            if wake.loc.base.startswith("$") and not wake.loc.path and wake.scope == "thread":
                found.setdefault(
                    name,
                    Action(name, int(wake.loc.base[1:]), wake.via, wake.select, summary.where()),
                )
        for walk in summary.walk_wakes:
            walked.setdefault(walk.action, Where(summary.file, walk.line, name))
            base = walk.group.base
            if base.startswith("$") and len(walk.group.path) <= 1:
                forms[walk.action].append(
                    GroupForm(name, walk.action, int(base[1:]), walk.walk, summary.where())
                )
    return found, dict(forms), walked


# ----------------------------------------------------------------- declarations


def enum_levels(files: TreeFiles, constant: str) -> list[str]:
    """The enumerators of the enum that declares ``constant``, in order."""
    if not constant:
        return []
    for path in sorted(files.grep(rf"^\s*{re.escape(constant)}\s*[,=]"), key=files.tier):
        source = files.parsed(path)
        stack = [source.tree.root_node] if source is not None else []
        while stack:
            node = stack.pop()
            if node.type == "enumerator_list":
                names = [
                    text(e.child_by_field_name("name"))
                    for e in node.named_children
                    if e.type == "enumerator"
                ]
                if constant in names:
                    return names
            stack.extend(node.named_children)
    return []


def _declared(files: TreeFiles, knowledge: Knowledge) -> None:
    bits = sorted(
        {t.fact.bit for t in knowledge.thread_facts.values() if t.fact.bit}
        | {
            t.counterpart.group.bit
            for t in knowledge.thread_facts.values()
            if t.counterpart.group.bit
        }
    )
    where: dict[str, Where] = {}
    if bits:
        pattern = r"^[ \t]*#[ \t]*define[ \t]+(" + "|".join(re.escape(b) for b in bits) + r")\b"
        for hit in files.grep(pattern, lines=True):
            path, _, rest = hit.partition(":")
            number, _, line = rest.partition(":")
            match = re.match(r"\s*#\s*define\s+(\w+)", line)
            if match and match.group(1) not in where and number.isdigit():
                where[match.group(1)] = Where(path, int(number))
    for thread in knowledge.thread_facts.values():
        fact = thread.fact
        if fact.bit:
            thread.declared = where.get(fact.bit)
        else:
            info = knowledge.structs.get(fact.holder)
            member = info.fields.get(fact.member) if info else None
            if info is not None and member is not None:
                thread.declared = Where(info.file, member.line)
