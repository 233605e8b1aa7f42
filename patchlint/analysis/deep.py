"""Run a recursive tree walk on code nested deeper than Python's default stack allows.

The CFG builder and the lock analysis recurse along the syntax tree. Real kernel code
stays within a few dozen levels, but generated or hostile input can nest thousands of
blocks; rather than silently dropping such a function, the walk is retried once in a
thread with a large stack and a high recursion limit. Past that, the RecursionError
reaches the caller, which reports the function as skipped.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_DEEP_STACK_BYTES = 512 * 1024 * 1024
_DEEP_RECURSION_LIMIT = 200_000
_lock = threading.Lock()


def call_deep(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return function(*args, **kwargs)
    except RecursionError:
        pass
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(function(*args, **kwargs))
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    # stack_size and the recursion limit are process-wide: one deep walk at a time.
    with _lock:
        previous_limit = sys.getrecursionlimit()
        previous_stack = threading.stack_size(_DEEP_STACK_BYTES)
        sys.setrecursionlimit(_DEEP_RECURSION_LIMIT)
        try:
            worker = threading.Thread(target=target, name="patchlint-deep-walk")
            worker.start()
            worker.join()
        finally:
            threading.stack_size(previous_stack)
            sys.setrecursionlimit(previous_limit)
    if errors:
        raise errors[0]
    return values[0]
