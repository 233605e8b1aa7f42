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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchlint.mail import Message
    from patchlint.pipeline.check import CheckOptions, SeriesChecker
    from patchlint.result import PatchResult

_checker: SeriesChecker | None = None


def _start(options: CheckOptions) -> None:
    global _checker
    from patchlint.pipeline.check import SeriesChecker

    _checker = SeriesChecker(options)


def _check(members: list[Message]) -> list[PatchResult]:
    assert _checker is not None, "worker started without its initializer"
    return _checker.check_series(members)


def check_in_parallel(
    work: list[list[Message]], options: CheckOptions
) -> Iterator[list[PatchResult]]:
    context = multiprocessing.get_context("fork")
    # Small chunks keep the load balanced; series are already ordered by input.
    chunksize = max(1, min(8, len(work) // (options.jobs * 4) or 1))
    with ProcessPoolExecutor(
        max_workers=options.jobs, mp_context=context, initializer=_start, initargs=(options,)
    ) as pool:
        yield from pool.map(_check, work, chunksize=chunksize)
