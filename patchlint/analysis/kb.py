"""The kernel knowledge the lock analysis uses, loaded once from ``rules/kernel``.

Lock kinds, the functions that take, drop, try or prove them, guard classes,
assertion predicates, annotations, named protections (kernel/locks.toml); calls
that may sleep (kernel/sleeping.toml); task-list iterators (kernel/iterators.toml).
Nothing here names a kernel lock: it only gives the data a typed shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import patchlint.knowledge as _knowledge
from patchlint.knowledge import load_toml

Op = Literal["acquire", "release", "try", "assert"]
Success = Literal["nonzero", "zero", "nonnull"]
# A lock argument: the index of the argument pointing at the lock, a template over
# the arguments ("{0}->sighand->siglock"), or None for unkeyed kinds.
LockRef = int | str | None

# Kind name meaning "whatever kind the lock turns out to be" (lockdep_assert_held).
ANY_KIND = "any"
_OPS = ("acquire", "release", "try", "assert")
_SUCCESS = ("nonzero", "zero", "nonnull")


class KnowledgeError(ValueError):
    """The lock knowledge data is inconsistent (names the file and entry)."""


@dataclass(frozen=True)
class LockKind:
    id: str
    title: str
    keyed: bool
    atomic: bool = False
    rcu: bool = False
    recursive: bool = False
    recursive_modes: frozenset[str] = frozenset()
    acquire_sleeps: bool = False
    counting: bool = True  # False: taking it twice needs one release (interrupts)
    balance_rule: str = "lock-unbalanced"
    sleep_rule: str = "sleep-in-atomic"
    # While held, a user access that faults fails with -EFAULT instead of sleeping
    # (pagefault_disable()): the calls of sleeping.toml's `faulting` do not sleep.
    faults_disabled: bool = False

    def may_nest(self, mode: str) -> bool:
        return self.recursive or mode in self.recursive_modes


@dataclass(frozen=True)
class LockOp:
    """One function's effect on one kind of lock."""

    name: str
    kind: str
    op: Op
    lock: LockRef = None
    mode: str = ""
    irq: str = ""
    flags: int | None = None
    success: Success = "nonzero"
    sleeps: bool = False
    # An owner hand-off (`down_read_non_owner()`): the lock is taken for, or released
    # on behalf of, another context, so one function's paths need not balance it.
    handoff: bool = False


@dataclass(frozen=True)
class GuardClass:
    name: str
    acquire: str
    release: str


@dataclass(frozen=True)
class AssertPredicate:
    name: str
    kind: str
    lock: LockRef = None


@dataclass(frozen=True)
class Annotations:
    acquire: frozenset[str] = frozenset()
    release: frozenset[str] = frozenset()
    hold: frozenset[str] = frozenset()
    conditional_acquire: frozenset[str] = frozenset()
    conditional_release: frozenset[str] = frozenset()
    kind_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Protection:
    """A named protection: a held lock of a kind, of a name, or any atomic context."""

    id: str
    title: str
    kind: str | None = None
    lock: re.Pattern[str] | None = None
    atomic: bool = False
    exclude_lock: re.Pattern[str] | None = None
    comments: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class HostObjects:
    """How a kernel Makefile marks objects built as host programs (UML's USER_OBJS)."""

    variable: str  # the Makefile variable listing them
    rules_file: str  # a directory's Makefile must include these build rules
    object_suffix: str  # objects named so are host objects too


@dataclass(frozen=True)
class SleepDrop:
    """A sleeping call that drops a lock of its caller's while it sleeps."""

    name: str
    kind: str
    lock: LockRef = None
    # The argument holding a statement the call runs before it sleeps
    # (`wait_event_cmd(wq, cond, cmd1, cmd2)`): what that statement releases is dropped.
    before: int | None = None


@dataclass(frozen=True)
class IteratorSpec:
    name: str
    protected_by: tuple[str, ...]
    task_arg: int
    group_arg: int | None
    double: bool


@dataclass(frozen=True)
class Knowledge:
    kinds: Mapping[str, LockKind]
    ops: Mapping[str, tuple[LockOp, ...]]
    guards: Mapping[str, GuardClass]
    predicates: Mapping[str, AssertPredicate]
    positive_asserts: frozenset[str]
    negated_asserts: frozenset[str]
    fatal_asserts: frozenset[str]  # do not return when their condition holds (BUG_ON)
    annotations: Annotations
    protections: Mapping[str, Protection]
    noreturn: frozenset[str]
    transparent: frozenset[str]
    member_owners: frozenset[str]  # container_of(&p->m, T, m) is p
    null_at_end: frozenset[str]
    pure_calls: frozenset[str]
    error_tests: frozenset[str]
    error_values: frozenset[str]
    bit_tests: frozenset[str]
    bit_sets: frozenset[str]
    bit_clears: frozenset[str]
    noreturn_attributes: frozenset[str]
    lock_neutral: frozenset[str]
    lock_neutral_pattern: re.Pattern[str]
    last_reference_tests: frozenset[str]
    guard_macros: frozenset[str]
    class_macros: frozenset[str]
    scoped_macros: frozenset[str]
    cleanup_attributes: frozenset[str]
    iterators: Mapping[str, IteratorSpec]
    sleeping: frozenset[str]
    sleeping_pattern: re.Pattern[str]
    allocators: frozenset[str]
    blocking_gfp: re.Pattern[str]
    gfp_types: frozenset[str]
    sleeping_conditional: frozenset[str]
    not_sleeping: frozenset[str]
    faulting: frozenset[str]  # sleep only to fault a user page in (user accessors)
    drops: Mapping[str, SleepDrop]
    sleep_prefilter: tuple[str, ...]
    userspace_paths: tuple[str, ...]
    host_objects: HostObjects
    blocking_masks: re.Pattern[str]
    task_lookup: frozenset[str]
    task_get_ref: frozenset[str]
    task_pinned_by: tuple[str, ...]
    exclusive_paths: tuple[re.Pattern[str], ...]
    exclusive_comments: tuple[re.Pattern[str], ...]
    prefilter: Mapping[str, tuple[str, ...]]
    # Allocators whose object starts zeroed: a field of it is set only where assigned.
    zeroing_allocators: frozenset[str] = frozenset()

    def kind(self, kind_id: str) -> LockKind | None:
        return self.kinds.get(kind_id)

    def handoff(self, name: str) -> bool:
        """Whether a lock function hands the lock to another owner (locks.toml `handoff`)."""
        return any(op.handoff for op in self.ops.get(name, ()))

    def sleeping_op(self, name: str) -> bool:
        """Whether a lock function of the data may sleep (mutex_lock, down_read...)."""
        return any(op.sleeps for op in self.ops.get(name, ()))

    def may_sleep(self, name: str, args: tuple[str, ...]) -> bool:
        """Whether a call sleeps by the data alone (no summary of a tree function)."""
        if name in self.not_sleeping:
            return False
        if name in self.sleeping or self.sleeping_op(name) or name in self.drops:
            return True
        if self.sleeping_pattern.search(name):
            return True
        if name in self.allocators:
            return any(self.blocking(arg) for arg in args)
        return False

    def blocking(self, gfp: str) -> bool:
        """Whether a GFP argument allows the allocation to sleep."""
        if "?" in gfp:
            # `atomic ? GFP_ATOMIC : GFP_KERNEL`: blocking only if both choices are.
            _condition, _mark, choices = gfp.partition("?")
            first, _colon, second = choices.rpartition(":")
            return self.blocking(first) and self.blocking(second)
        return bool(self.blocking_gfp.search(gfp)) and not self.blocking_masks.search(gfp)

    def neutral(self, name: str) -> bool:
        """A call known to leave every lock alone."""
        return (
            name in self.lock_neutral
            or bool(self.lock_neutral_pattern.search(name))
            or name in self.sleeping
            or name in self.allocators
            or name in self.transparent
            or name in self.predicates
            or name in self.bit_sets
            or name in self.bit_clears
            or name in self.bit_tests
        )

    def lock_names(self) -> frozenset[str]:
        """Every callee the lock state reacts to (for prefilters)."""
        names = set(self.ops) | set(self.predicates) | set(self.positive_asserts)
        return frozenset(names)

    def sleep_names(self) -> frozenset[str]:
        return self.sleeping | self.allocators | frozenset(self.drops) | self.sleeping_conditional


def _host_objects(sleeping: Mapping[str, object]) -> HostObjects:
    table = _table(sleeping.get("host_objects", {}), "sleeping.toml [host_objects]")
    values = {key: table.get(key, "") for key in ("variable", "rules_file", "object_suffix")}
    for key, value in values.items():
        if not isinstance(value, str):
            raise KnowledgeError(f"sleeping.toml [host_objects]: {key} must be a string")
    return HostObjects(
        str(values["variable"]), str(values["rules_file"]), str(values["object_suffix"])
    )


def _str_list(data: Mapping[str, object], key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise KnowledgeError(f"{where}: {key} must be a list of strings")
    return list(value)


def _lock_ref(value: object, where: str) -> LockRef:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise KnowledgeError(f"{where}: lock must be an argument index or a template")


def _table(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where} must be a table")
    return value


def _kinds(data: Mapping[str, object]) -> dict[str, LockKind]:
    kinds: dict[str, LockKind] = {}
    for kind_id, raw in _table(data.get("kind", {}), "locks.toml [kind]").items():
        table = _table(raw, f"locks.toml [kind.{kind_id}]")
        kinds[kind_id] = LockKind(
            id=kind_id,
            title=str(table.get("title", kind_id)),
            keyed=bool(table.get("keyed", True)),
            atomic=bool(table.get("atomic", False)),
            rcu=bool(table.get("rcu", False)),
            recursive=bool(table.get("recursive", False)),
            recursive_modes=frozenset(
                _str_list(table, "recursive_modes", f"locks.toml [kind.{kind_id}]")
            ),
            acquire_sleeps=bool(table.get("acquire_sleeps", False)),
            counting=bool(table.get("counting", True)),
            balance_rule=str(table.get("balance_rule", "lock-unbalanced")),
            sleep_rule=str(table.get("sleep_rule", "sleep-in-atomic")),
            faults_disabled=bool(table.get("faults_disabled", False)),
        )
    return kinds


def _ops(
    data: Mapping[str, object], kinds: Mapping[str, LockKind]
) -> dict[str, tuple[LockOp, ...]]:
    ops: dict[str, list[LockOp]] = {}
    entries = data.get("function", [])
    if not isinstance(entries, list):
        raise KnowledgeError("locks.toml: [[function]] must be an array of tables")
    for position, raw in enumerate(entries):
        table = _table(raw, f"locks.toml [[function]] #{position + 1}")
        names = _str_list(table, "names", f"locks.toml [[function]] #{position + 1}")
        where = f"locks.toml [[function]] {names[0] if names else position + 1}"
        kind_id = str(table.get("kind", ""))
        op = str(table.get("op", ""))
        if kind_id != ANY_KIND and kind_id not in kinds:
            raise KnowledgeError(f"{where}: unknown kind {kind_id!r}")
        if op not in _OPS:
            raise KnowledgeError(f"{where}: op must be one of {', '.join(_OPS)}")
        success = str(table.get("success", "nonzero"))
        if success not in _SUCCESS:
            raise KnowledgeError(f"{where}: success must be one of {', '.join(_SUCCESS)}")
        kind = kinds.get(kind_id)
        default_sleeps = (
            kind is not None
            and kind.acquire_sleeps
            and (op == "acquire" or (op == "try" and success == "zero"))
        )
        flags = table.get("flags")
        if flags is not None and not isinstance(flags, int):
            raise KnowledgeError(f"{where}: flags must be an argument index")
        for name in names:
            ops.setdefault(name, []).append(
                LockOp(
                    name=name,
                    kind=kind_id,
                    op=op,  # type: ignore[arg-type]  # checked against _OPS above
                    lock=_lock_ref(table.get("lock"), where),
                    mode=str(table.get("mode", "")),
                    irq=str(table.get("irq", "")),
                    flags=flags,
                    success=success,  # type: ignore[arg-type]  # checked against _SUCCESS
                    sleeps=bool(table.get("sleeps", default_sleeps)),
                    handoff=bool(table.get("handoff", False)),
                )
            )
    return {name: tuple(found) for name, found in ops.items()}


def _guards(data: Mapping[str, object], ops: Mapping[str, object]) -> dict[str, GuardClass]:
    guards: dict[str, GuardClass] = {}
    for name, raw in _table(data.get("guard", {}), "locks.toml [guard]").items():
        table = _table(raw, f"locks.toml [guard.{name}]")
        acquire, release = str(table.get("acquire", "")), str(table.get("release", ""))
        for function in (acquire, release):
            if function not in ops:
                raise KnowledgeError(f"locks.toml [guard.{name}]: {function!r} is no [[function]]")
        guards[name] = GuardClass(name, acquire, release)
    return guards


def _predicates(data: Mapping[str, object]) -> dict[str, AssertPredicate]:
    found: dict[str, AssertPredicate] = {}
    entries = data.get("assert_predicate", [])
    if not isinstance(entries, list):
        raise KnowledgeError("locks.toml: [[assert_predicate]] must be an array of tables")
    for position, raw in enumerate(entries):
        where = f"locks.toml [[assert_predicate]] #{position + 1}"
        table = _table(raw, where)
        for name in _str_list(table, "names", where):
            found[name] = AssertPredicate(
                name, str(table.get("kind", ANY_KIND)), _lock_ref(table.get("lock"), where)
            )
    return found


def _protections(data: Mapping[str, object]) -> dict[str, Protection]:
    found: dict[str, Protection] = {}
    for name, raw in _table(data.get("protection", {}), "locks.toml [protection]").items():
        where = f"locks.toml [protection.{name}]"
        table = _table(raw, where)
        lock = table.get("lock")
        exclude = table.get("exclude_lock")
        found[name] = Protection(
            id=name,
            title=str(table.get("title", name)),
            kind=str(table["kind"]) if "kind" in table else None,
            lock=re.compile(str(lock)) if lock else None,
            atomic=table.get("context") == "atomic",
            exclude_lock=re.compile(str(exclude)) if exclude else None,
            comments=tuple(
                re.compile(p, re.I) for p in _str_list(table, "comment_patterns", where)
            ),
        )
    return found


def _faulting(sleeping: Mapping[str, object], patterns: list[str]) -> frozenset[str]:
    """sleeping.toml's `faulting`: sleeping calls whose only sleep is a page fault."""
    names = _str_list(sleeping, "names", "sleeping.toml")
    pattern = re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)")
    faulting = _str_list(sleeping, "faulting", "sleeping.toml")
    for name in faulting:
        if name not in names and not pattern.search(name):
            raise KnowledgeError(
                f"sleeping.toml [sleeping] faulting: {name!r} is not a sleeping call (names)"
            )
    return frozenset(faulting)


def _annotations(data: Mapping[str, object]) -> Annotations:
    table = _table(data.get("annotations", {}), "locks.toml [annotations]")
    where = "locks.toml [annotations]"
    names = _table(table.get("kind_names", {}), f"{where} kind_names")
    return Annotations(
        acquire=frozenset(_str_list(table, "acquire", where)),
        release=frozenset(_str_list(table, "release", where)),
        hold=frozenset(_str_list(table, "hold", where)),
        conditional_acquire=frozenset(_str_list(table, "conditional_acquire", where)),
        conditional_release=frozenset(_str_list(table, "conditional_release", where)),
        kind_names={str(k): str(v) for k, v in names.items()},
    )


def _prefilter(*tables: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    result: dict[str, tuple[str, ...]] = {}
    for table in tables:
        for rule_id, rule in _table(table.get("rules", {}), "[rules]").items():
            result[rule_id] = tuple(_str_list(_table(rule, rule_id), "prefilter_tokens", rule_id))
    return result


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(word) for word in words) or "(?!)"


@functools.cache
def knowledge() -> Knowledge:
    locks = load_toml("kernel/locks.toml")
    iter_data = load_toml("kernel/iterators.toml")
    sleep_data = load_toml("kernel/sleeping.toml")
    kinds = _kinds(locks)
    ops = _ops(locks, kinds)
    assertions = _table(locks.get("assertions", {}), "locks.toml [assertions]")
    flow = _table(locks.get("flow", {}), "locks.toml [flow]")
    scope = _table(locks.get("scope", {}), "locks.toml [scope]")
    sleeping = _table(sleep_data.get("sleeping", {}), "sleeping.toml [sleeping]")
    protections = _protections(locks)
    iterators: dict[str, IteratorSpec] = {}
    for raw in iter_data.get("iterator", []):
        table = _table(raw, "iterators.toml [[iterator]]")
        name = str(table["name"])
        protected = tuple(_str_list(table, "protected_by", f"iterators.toml {name}"))
        for protection in protected:
            if protection not in protections:
                raise KnowledgeError(
                    f"iterators.toml {name}: protected_by names no [protection.{protection}]"
                )
        group = table.get("group_arg")
        iterators[name] = IteratorSpec(
            name=name,
            protected_by=protected,
            task_arg=int(str(table.get("task_arg", 0))),
            group_arg=group if isinstance(group, int) else None,
            double=bool(table.get("double", False)),
        )
    drops: dict[str, SleepDrop] = {}
    for raw in sleep_data.get("drops", []):
        table = _table(raw, "sleeping.toml [[drops]]")
        for name in _str_list(table, "names", "sleeping.toml [[drops]]"):
            before = table.get("before")
            drops[name] = SleepDrop(
                name,
                str(table.get("kind", "")),
                _lock_ref(table.get("lock"), name),
                before if isinstance(before, int) and not isinstance(before, bool) else None,
            )
    lookup = _table(iter_data.get("task_lookup", {}), "iterators.toml [task_lookup]")
    exclusive = _table(iter_data.get("exclusive_context", {}), "iterators.toml [exclusive_context]")
    patterns = _str_list(sleeping, "patterns", "sleeping.toml")
    pinned = tuple(_str_list(lookup, "pinned_by", "iterators.toml [task_lookup]"))
    masks = _str_list(sleeping, "blocking_masks", "sleeping.toml")
    for protection in pinned:
        if protection not in protections:
            raise KnowledgeError(f"iterators.toml [task_lookup] pinned_by: no {protection!r}")
    return Knowledge(
        kinds=kinds,
        ops=ops,
        guards=_guards(locks, ops),
        predicates=_predicates(locks),
        positive_asserts=frozenset(_str_list(assertions, "positive", "locks.toml")),
        negated_asserts=frozenset(_str_list(assertions, "negated", "locks.toml")),
        fatal_asserts=frozenset(_str_list(assertions, "fatal", "locks.toml")),
        annotations=_annotations(locks),
        protections=protections,
        noreturn=frozenset(_str_list(flow, "noreturn", "locks.toml [flow]")),
        transparent=frozenset(_str_list(flow, "transparent", "locks.toml [flow]")),
        member_owners=frozenset(_str_list(flow, "member_owners", "locks.toml [flow]")),
        null_at_end=frozenset(_str_list(flow, "null_at_end", "locks.toml [flow]")),
        pure_calls=frozenset(_str_list(flow, "pure", "locks.toml [flow]")),
        error_tests=frozenset(_str_list(flow, "error_tests", "locks.toml [flow]")),
        error_values=frozenset(_str_list(flow, "error_values", "locks.toml [flow]")),
        bit_tests=frozenset(_str_list(flow, "bit_tests", "locks.toml [flow]")),
        bit_sets=frozenset(_str_list(flow, "bit_sets", "locks.toml [flow]")),
        bit_clears=frozenset(_str_list(flow, "bit_clears", "locks.toml [flow]")),
        noreturn_attributes=frozenset(_str_list(flow, "noreturn_attributes", "locks.toml [flow]")),
        lock_neutral=frozenset(_str_list(flow, "lock_neutral", "locks.toml [flow]")),
        lock_neutral_pattern=re.compile(
            "|".join(
                f"(?:{p})" for p in _str_list(flow, "lock_neutral_patterns", "locks.toml [flow]")
            )
            or "(?!)"
        ),
        last_reference_tests=frozenset(
            _str_list(sleeping, "last_reference_tests", "sleeping.toml")
        ),
        guard_macros=frozenset(_str_list(scope, "guard_macros", "locks.toml [scope]")),
        class_macros=frozenset(_str_list(scope, "class_macros", "locks.toml [scope]")),
        scoped_macros=frozenset(_str_list(scope, "scoped_macros", "locks.toml [scope]")),
        cleanup_attributes=frozenset(_str_list(scope, "cleanup_attributes", "locks.toml [scope]")),
        iterators=iterators,
        sleeping=frozenset(_str_list(sleeping, "names", "sleeping.toml")),
        sleeping_pattern=re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)"),
        allocators=frozenset(_str_list(sleeping, "allocators", "sleeping.toml")),
        blocking_gfp=re.compile(
            rf"\b(?:{_alternation(_str_list(sleeping, 'blocking_gfp', 'sleeping.toml'))})\b"
        ),
        gfp_types=frozenset(_str_list(sleeping, "gfp_parameter_types", "sleeping.toml")),
        sleeping_conditional=frozenset(_str_list(sleeping, "conditional", "sleeping.toml")),
        not_sleeping=frozenset(_str_list(sleeping, "not_sleeping", "sleeping.toml")),
        faulting=_faulting(sleeping, patterns),
        drops=drops,
        sleep_prefilter=tuple(_str_list(sleeping, "prefilter_tokens", "sleeping.toml")),
        userspace_paths=tuple(_str_list(sleeping, "userspace_paths", "sleeping.toml")),
        host_objects=_host_objects(sleeping),
        blocking_masks=re.compile(rf"~\s*\(?\s*(?:{_alternation(masks)})\b"),
        task_lookup=frozenset(_str_list(lookup, "unreferenced", "iterators.toml")),
        task_get_ref=frozenset(_str_list(lookup, "get_ref", "iterators.toml")),
        task_pinned_by=pinned,
        exclusive_paths=tuple(
            re.compile(p) for p in _str_list(exclusive, "path_patterns", "iterators.toml")
        ),
        exclusive_comments=tuple(
            re.compile(p, re.I) for p in _str_list(exclusive, "comment_patterns", "iterators.toml")
        ),
        prefilter=_prefilter(locks, iter_data, sleep_data),
        zeroing_allocators=frozenset(_str_list(sleeping, "zeroing_allocators", "sleeping.toml")),
    )


# User configuration may extend the knowledge data; drop what was derived from it.
_knowledge.on_change(knowledge.cache_clear)
