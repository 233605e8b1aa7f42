"""Check series in worker processes (`check --jobs N`).

Series are independent (a series is applied in order inside one worker), so they are
the unit of work. Workers are forked: they inherit the loaded knowledge, including
configuration extensions, and each opens its own tree, parse cache and function index.
Results come back in input order.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_checker: Any = None


def _start(options: Any) -> None:
    global _checker
    from patchlint.pipeline import SeriesChecker

    _checker = SeriesChecker(options)


def _check(members: list[Any]) -> list[Any]:
    return _checker.check_series(members)


def check_in_parallel(work: list[list[Any]], options: Any) -> Iterator[list[Any]]:
    context = multiprocessing.get_context("fork")
    # Small chunks keep the load balanced; series are already ordered by input.
    chunksize = max(1, min(8, len(work) // (options.jobs * 4) or 1))
    with ProcessPoolExecutor(
        max_workers=options.jobs, mp_context=context, initializer=_start, initargs=(options,)
    ) as pool:
        yield from pool.map(_check, work, chunksize=chunksize)
