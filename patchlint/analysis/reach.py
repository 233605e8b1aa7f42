"""Which of a function's locks a call the analysis knows nothing about could reach.

An unknown callee may take or drop a lock, but only one it can get at: the lock or
an object on the way to it handed over as an argument (`helper(dev)` for
`dev->lock`), or a lock every function can name (a global: `rtnl_mutex`,
`zone_lock_table[i]`). A lock named from this function's own parameters and
locals is out of reach of a callee that is given none of them: after
`ndo_neigh_construct(dev, n)` the table lock `tbl->lock` is still exactly as free
as before. Interrupt, preemption and RCU state (no lock object) is in every
callee's reach.

A local's lock is reached through what the local was computed from (`pas =
page_slot(page)`: `helper(page)` reaches `pas->lock`); a local set in a way the
code does not spell out (`get_obj(&obj)`, `i++`) is treated like a global.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from patchlint.analysis.calls import Store
from patchlint.analysis.identity import canonical, owners, roots

_UNKNOWN = "?"
_CALLED = re.compile(r"(?<![\w>.])([A-Za-z_]\w*)\s*\(")


def _variables(expression: str) -> frozenset[str]:
    """Variables an expression reads (called function names are not values)."""
    return roots(expression) - frozenset(_CALLED.findall(expression))


def _outside_calls(expression: str) -> frozenset[str]:
    """Variables of ``expression`` that are not only arguments of a call in it."""
    kept: list[str] = []
    depth = 0  # parentheses opened since the outermost call's
    called = False
    for match in _TOKEN.finditer(expression):
        token = match.group(0)
        if token == "(":
            depth += 1 if depth or called else 0
        elif token == ")":
            depth = max(0, depth - 1)
        elif not depth and not match.group("call"):
            kept.append(token)
        called = bool(match.group("call"))
    return _variables(" ".join(kept))


_TOKEN = re.compile(r"(?P<call>(?<![\w>.])[A-Za-z_]\w*\s*(?=\())|\(|\)|[^()]+")


class LockReach:
    """The variables an unknown callee must be handed to reach one of ``locks``."""

    def __init__(
        self,
        params: Iterable[str],
        local_names: Iterable[str],
        stores: Iterable[Store],
        locks: Iterable[str],
        resolve: Callable[[str], str],
    ) -> None:
        frame = set(params) | set(local_names)
        # A local never assigned where we can see it (an iterator's cursor) may
        # stand for anything.
        origins: dict[str, set[str]] = {name: {_UNKNOWN} for name in set(local_names)}
        assigned: set[str] = set()
        for store in stores:
            if not store.simple:
                continue
            value = store.value if store.value != _UNKNOWN else ""
            if store.target not in assigned:
                assigned.add(store.target)
                origins[store.target] = set()
            found = origins.setdefault(store.target, set())
            found |= _variables(resolve(canonical(value))) if value else {_UNKNOWN}
        self.everywhere = False  # some lock is reachable by any callee
        self.needed: set[str] = set()
        self.owners: set[str] = set()
        for lock in locks:
            self.owners |= owners(lock)
            if not lock:
                self.everywhere = True
                continue
            seen: set[str] = set()
            todo = list(_variables(lock))
            while todo:
                name = todo.pop()
                if name in seen:
                    continue
                seen.add(name)
                if name == _UNKNOWN or name not in frame:
                    self.everywhere = True
                    break
                todo.extend(origins.get(name, ()))
            self.needed |= seen
            if self.everywhere:
                break

    def reached_by(self, args: Iterable[str], resolve: Callable[[str], str]) -> bool:
        """Whether a callee given ``args`` could take or drop one of the locks: it is
        handed an object on the way to one (`dev`, `&dev->lock`), or a variable one is
        computed from (`page` for `page_slot(page)->lock`). What a call computed from
        such a variable is another object (`n = neigh_alloc(tbl, ...)` is not `tbl`)."""
        if self.everywhere:
            return True
        for arg in args:
            value = resolve(canonical(arg))
            if value in self.owners or _outside_calls(value) & self.needed:
                return True
        return False


__all__ = ["LockReach"]
