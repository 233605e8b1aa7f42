"""The tree-wide may-sleep table answers the same whatever was asked before: a warm
scan (one file rescanned, its rows added last) and a cold one agree."""

from __future__ import annotations

import itertools

import pytest

from patchlint.analysis import SummaryTable
from patchlint.analysis.external import SleepExport

# a -> b -> a is a cycle; a also calls s, which sleeps.
CYCLE = [
    SleepExport("a", "a.c", None, ("b", "s")),
    SleepExport("b", "b.c", None, ("a",)),
    SleepExport("s", "s.c", ("msleep",)),
]
# x calls y (three calls from a sleep, too long from x) before z (one call).
DEPTH = [
    SleepExport("x", "x.c", None, ("y", "z")),
    SleepExport("y", "y.c", None, ("p",)),
    SleepExport("p", "p.c", None, ("q",)),
    SleepExport("q", "q.c", ("msleep",)),
    SleepExport("z", "z.c", ("msleep",)),
]


def _answers(rows: list[SleepExport], order: tuple[str, ...]) -> dict[str, object]:
    table = SummaryTable()
    table.add(rows)
    return {name: table.sleeps_guarded(name) for name in order}


@pytest.mark.parametrize("rows", [CYCLE, DEPTH], ids=["cycle", "depth"])
def test_answers_do_not_depend_on_the_order_of_questions(rows: list[SleepExport]) -> None:
    names = tuple(sorted({row.name for row in rows}))
    answers = [_answers(rows, order) for order in itertools.permutations(names)]
    assert all(answer == answers[0] for answer in answers)


def test_a_name_in_a_cycle_sleeps_through_its_other_callee() -> None:
    answers = _answers(CYCLE, ("a", "b"))
    assert answers["a"] == (("s", "msleep"), False)
    assert answers["b"] == (("a", "s", "msleep"), False)


def test_a_chain_too_long_from_one_caller_is_not_too_long_from_another() -> None:
    answers = _answers(DEPTH, ("y", "x"))
    assert answers["x"] == (("z", "msleep"), False)
    assert answers["y"] == (("p", "q", "msleep"), False)


def test_equal_chains_of_two_definitions_are_chosen_by_name_not_by_scan_order() -> None:
    first = SleepExport("f", "a.c", ("wait_b",))
    second = SleepExport("f", "b.c", ("wait_a",))
    for rows in ([first, second], [second, first]):
        table = SummaryTable()
        table.add(rows)
        assert table.sleeps("f") == ("wait_a",)


def test_a_rescanned_file_gives_the_answer_of_a_cold_table() -> None:
    rows = [
        SleepExport("f", "a.c", ("wait_a",)),
        SleepExport("f", "b.c", ("wait_b",)),
        *DEPTH,
    ]
    cold = SummaryTable()
    cold.add(rows)
    warm = SummaryTable()
    warm.add(rows)
    warm.forget({"a.c", "y.c"})  # rescanned: their rows come last
    warm.add([row for row in rows if row.path in ("a.c", "y.c")])
    for name in ("f", "x", "y", "p", "z"):
        assert warm.sleeps_guarded(name) == cold.sleeps_guarded(name)
