"""Check series in worker processes (`check --jobs N`).

Series are independent, so they are the unit of work; a long series is cut into
pieces (``SeriesPiece``), each worker applying the patches before its piece again.
Workers are forked: they inherit the loaded knowledge, including configuration
extensions, and each opens its own tree, parse cache and function index. Results come
back in input order.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patchlint.pipeline.check import CheckOptions, SeriesChecker, SeriesPiece
    from patchlint.result import PatchResult

_checker: SeriesChecker | None = None


def _start(options: CheckOptions) -> None:
    global _checker
    from patchlint.pipeline.check import SeriesChecker

    _checker = SeriesChecker(options)


def _check(piece: SeriesPiece) -> list[PatchResult]:
    assert _checker is not None, "worker started without its initializer"
    return _checker.check_series(piece.members, piece.start, piece.stop)


def check_in_parallel(
    work: list[SeriesPiece], options: CheckOptions
) -> Iterator[list[PatchResult]]:
    _import_c_rules(work, options)
    context = multiprocessing.get_context("fork")
    # Small chunks keep the load balanced; series are already ordered by input.
    chunksize = max(1, min(8, len(work) // (options.jobs * 4) or 1))
    with ProcessPoolExecutor(
        max_workers=options.jobs, mp_context=context, initializer=_start, initargs=(options,)
    ) as pool:
        yield from pool.map(_check, work, chunksize=chunksize)


_C_FILE = re.compile(r"^\+\+\+ \S+\.[ch]\s*$", re.M)


def _import_c_rules(work: list[SeriesPiece], options: CheckOptions) -> None:
    """Import the C rules (the analysis, tree-sitter) here, once, when some patch
    touches C, and run them on a one-line function in the tree's context: what they
    load once per process (the tree's task-state knowledge, the scan's summary
    table, the lock data) is then loaded before the workers fork, not in each."""
    if not any(_C_FILE.search(m.diff_text or "") for piece in work for m in piece.members):
        return
    from patchlint.pipeline.check import LazyIndex, open_check_tree
    from patchlint.rules import AnalysisUnit, run_rules, select_rules
    from patchlint.source import parse_c

    rules = select_rules(options.enable, options.ignore, "function", options.severity_overrides)
    for rule in rules:
        rule.load()
    tree = open_check_tree(options)
    if tree is None:
        return
    try:
        source = parse_c(_WARM_UP, _WARM_UP_PATH)
        index = LazyIndex(tree).get()
        run_rules(AnalysisUnit(source, _WARM_UP_PATH, {"patchlint_warm_up"}, index), rules)
    finally:
        tree.close()


_WARM_UP_PATH = "patchlint-warm-up.c"
_WARM_UP = "static void patchlint_warm_up(void)\n{\n}\n"
