"""The kernel knowledge the lock analysis uses, loaded once from ``rules/kernel``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import patchlint.knowledge as _knowledge
from patchlint.knowledge import load_toml


@dataclass(frozen=True)
class LockSpec:
    id: str
    depth: bool
    acquire: frozenset[str]
    release: frozenset[str]
    arg: re.Pattern[str] | None
    guards: frozenset[str]
    asserts: frozenset[str]
    assert_arg: re.Pattern[str] | None
    annotation: re.Pattern[str] | None
    comments: tuple[re.Pattern[str], ...]
    conditional_acquire: frozenset[str] = frozenset()
    conditional_release: frozenset[str] = frozenset()
    assert_predicates: frozenset[str] = frozenset()
    warn_macros: frozenset[str] = frozenset()


@dataclass(frozen=True)
class IteratorSpec:
    name: str
    protected_by: tuple[str, ...]
    task_arg: int
    group_arg: int | None
    double: bool


@dataclass(frozen=True)
class Knowledge:
    locks: dict[str, LockSpec]
    iterators: dict[str, IteratorSpec]
    sleeping: frozenset[str]
    sleeping_prefixes: tuple[str, ...]
    allocators: frozenset[str]
    blocking_gfp: re.Pattern[str]
    not_sleeping: frozenset[str]
    task_lookup: frozenset[str]
    task_get_ref: frozenset[str]
    acquire_annotations: frozenset[str]
    release_annotations: frozenset[str]
    lock_helper_names: tuple[re.Pattern[str], ...]
    unlock_helper_names: tuple[re.Pattern[str], ...]
    contract_comments: tuple[re.Pattern[str], ...]
    release_like_calls: re.Pattern[str] | None = None
    sleeping_conditional: frozenset[str] = frozenset()
    lock_word: re.Pattern[str] | None = None
    exclusive_paths: tuple[re.Pattern[str], ...] = ()
    exclusive_comments: tuple[re.Pattern[str], ...] = ()
    prefilter: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Every call name any lock rule reacts to: functions without one are skipped.
    interesting: frozenset[str] = frozenset()

    def may_sleep(self, name: str, args: tuple[str, ...]) -> bool:
        if name in self.not_sleeping:
            return False
        if name in self.sleeping or name.startswith(self.sleeping_prefixes):
            return True
        if name in self.allocators:
            return any(self.blocking_gfp.search(arg) for arg in args)
        return False


def _pattern(text: str | None) -> re.Pattern[str] | None:
    return re.compile(text) if text else None


def _patterns(items: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(item, re.I) for item in items)


def _lock(lock_id: str, data: dict[str, Any]) -> LockSpec:
    return LockSpec(
        id=lock_id,
        depth=data.get("kind") == "depth",
        acquire=frozenset(data.get("acquire", [])),
        release=frozenset(data.get("release", [])),
        arg=_pattern(data.get("arg_pattern")),
        guards=frozenset(data.get("guards", [])),
        asserts=frozenset(data.get("asserts", [])),
        assert_arg=_pattern(data.get("assert_arg_pattern")),
        annotation=_pattern(data.get("annotation_pattern")),
        comments=_patterns(data.get("comment_patterns", [])),
        conditional_acquire=frozenset(data.get("conditional_acquire", [])),
        conditional_release=frozenset(data.get("conditional_release", [])),
        assert_predicates=frozenset(data.get("assert_predicates", [])),
        warn_macros=frozenset(data.get("warn_macros", [])),
    )


def _prefilter(*tables: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    result: dict[str, tuple[str, ...]] = {}
    for table in tables:
        for rule_id, rule in table.get("rules", {}).items():
            result[rule_id] = tuple(rule.get("prefilter_tokens", []))
    return result


@functools.cache
def knowledge() -> Knowledge:
    locks_data = load_toml("kernel/locks.toml")
    iter_data = load_toml("kernel/iterators.toml")
    sleep_data = load_toml("kernel/sleeping.toml")
    locks = {key: _lock(key, value) for key, value in locks_data["lock"].items()}
    iterators = {
        item["name"]: IteratorSpec(
            name=item["name"],
            protected_by=tuple(item["protected_by"]),
            task_arg=int(item.get("task_arg", 0)),
            group_arg=item.get("group_arg"),
            double=bool(item.get("double", False)),
        )
        for item in iter_data["iterator"]
    }
    sleeping = sleep_data["sleeping"]
    contract = locks_data.get("contract", {})
    lookup = iter_data.get("task_lookup", {})
    # Tokens that make a function worth analysing: the RCU calls themselves, and
    # the lock objects rather than the generic spin_lock/read_lock/WARN_ON names.
    rcu = locks["rcu"]
    interesting: set[str] = set(rcu.acquire | rcu.release | rcu.asserts)
    interesting |= {"rcu_read_lock_held", "rcu_read_lock_any_held", "tasklist_lock", "siglock"}
    interesting |= locks["siglock"].conditional_acquire | locks["siglock"].conditional_release
    interesting |= set(lookup.get("unreferenced", []))
    gfp = "|".join(re.escape(flag) for flag in sleeping.get("blocking_gfp", []))
    return Knowledge(
        locks=locks,
        iterators=iterators,
        sleeping=frozenset(sleeping.get("names", [])),
        sleeping_prefixes=tuple(sleeping.get("prefixes", [])),
        allocators=frozenset(sleeping.get("allocators", [])),
        blocking_gfp=re.compile(rf"\b(?:{gfp})\b"),
        not_sleeping=frozenset(sleeping.get("not_sleeping", [])),
        task_lookup=frozenset(lookup.get("unreferenced", [])),
        task_get_ref=frozenset(lookup.get("get_ref", [])),
        acquire_annotations=frozenset(contract.get("acquire_annotations", [])),
        release_annotations=frozenset(contract.get("release_annotations", [])),
        lock_helper_names=tuple(
            re.compile(p) for p in contract.get("lock_helper_name_patterns", [])
        ),
        unlock_helper_names=tuple(
            re.compile(p) for p in contract.get("unlock_helper_name_patterns", [])
        ),
        contract_comments=_patterns(contract.get("comment_patterns", [])),
        release_like_calls=re.compile(
            "|".join(contract.get("release_like_call_patterns", [])) or r"(?!)"
        ),
        exclusive_paths=tuple(
            re.compile(p) for p in iter_data.get("exclusive_context", {}).get("path_patterns", [])
        ),
        exclusive_comments=_patterns(
            iter_data.get("exclusive_context", {}).get("comment_patterns", [])
        ),
        sleeping_conditional=frozenset(sleeping.get("conditional", [])),
        lock_word=_pattern(contract.get("lock_word_pattern")),
        prefilter=_prefilter(locks_data, iter_data, sleep_data),
        interesting=frozenset(interesting),
    )


# User configuration may extend the knowledge data; drop what was derived from it.
_knowledge.on_change(knowledge.cache_clear)
