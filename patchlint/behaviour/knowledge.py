"""Data the engine reads from rules/: call kinds (rules/behaviour/calls.toml) and the
lock knowledge of rules/kernel/locks.toml, through one small adapter each."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import patchlint.knowledge as _knowledge
from patchlint.knowledge import load_toml


@dataclass(frozen=True)
class LockOp:
    lock: str  # the lock class ("siglock", "rcu", ...)
    acquire: bool


@dataclass(frozen=True)
class _LockClass:
    name: str
    acquire: frozenset[str]
    release: frozenset[str]
    arg_pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class CallKinds:
    log_names: frozenset[str]
    log_patterns: tuple[re.Pattern[str], ...]
    noreturn: frozenset[str]
    pure: frozenset[str]
    returns_argument: Mapping[str, int]
    lock_classes: tuple[_LockClass, ...]
    log_words: tuple[str, ...] = ()
    not_log_prefixes: tuple[str, ...] = ()

    def is_log(self, name: str) -> bool:
        return name in self.log_names or any(p.search(name) for p in self.log_patterns)

    def may_log(self, name: str) -> bool:
        """A name that can be a logging helper (for the newline-terminated format test)."""
        lowered = name.lower()
        if lowered.startswith(self.not_log_prefixes):
            return False
        return any(word in lowered for word in self.log_words)

    def lock_ops(self, name: str, first_arg: str | None) -> list[LockOp]:
        """What calling ``name`` does to the locks rules/kernel/locks.toml describes."""
        ops = []
        for lock in self.lock_classes:
            if name not in lock.acquire and name not in lock.release:
                continue
            if lock.arg_pattern is not None:
                if first_arg is None or not lock.arg_pattern.search(first_arg):
                    continue
            ops.append(LockOp(lock.name, name in lock.acquire))
        return ops


def _strings(value: object) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _lock_tables(data: Mapping[str, object]) -> Iterator[tuple[str, Mapping[str, object]]]:
    """Every table with acquire/release lists, wherever the lock data nests them."""
    for key, value in data.items():
        if isinstance(value, Mapping):
            if "acquire" in value and "release" in value:
                yield key, value
            else:
                yield from _lock_tables(value)


@functools.cache
def call_kinds() -> CallKinds:
    calls = load_toml("behaviour/calls.toml")
    log = calls.get("log", {})
    locks = load_toml("kernel/locks.toml")
    classes = []
    for name, table in _lock_tables(locks):
        pattern = table.get("arg_pattern")
        classes.append(
            _LockClass(
                name,
                frozenset(_strings(table.get("acquire"))),
                frozenset(_strings(table.get("release"))),
                re.compile(pattern) if isinstance(pattern, str) else None,
            )
        )
    returns = log.get("returns_argument", {})
    return CallKinds(
        log_names=frozenset(_strings(log.get("names"))),
        log_patterns=tuple(re.compile(p) for p in _strings(log.get("patterns"))),
        noreturn=frozenset(_strings(calls.get("noreturn", {}).get("names"))),
        pure=frozenset(_strings(calls.get("pure", {}).get("names"))),
        returns_argument={k: int(v) for k, v in returns.items() if isinstance(v, int)},
        lock_classes=tuple(classes),
        log_words=tuple(_strings(log.get("log_words"))),
        not_log_prefixes=tuple(_strings(log.get("not_log_prefixes"))),
    )


_knowledge.on_change(call_kinds.cache_clear)
