"""The index a patch check reads the scan's summary table through: same answers as the
pickle, rebuilt when the scan writes a new table, and only speed lost when it cannot
be written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from patchlint.analysis import SummaryTable
from patchlint.analysis.external import SleepExport
from patchlint.analysis.table_index import IndexedTable, load_indexed


def _table() -> SummaryTable:
    table = SummaryTable()
    table.add(
        [
            SleepExport("settle", "drivers/a.c", None, ("wait_here",)),
            SleepExport("wait_here", "drivers/b.c", ("msleep",)),
            SleepExport("both", "drivers/a.c", ("msleep",)),
            SleepExport("both", "include/b.h", None),
            SleepExport("alloc_with", "drivers/c.c", None, gfp_params=(1,)),
            SleepExport("macro_too", "drivers/d.c", ("schedule",)),
        ],
        ["macro_too"],
        "include/d.h",
    )
    table.stamps["drivers/a.c"] = (1, 2)
    return table


QUESTIONS = ("settle", "wait_here", "both", "alloc_with", "macro_too", "unknown")


def _answers(table: SummaryTable) -> list[object]:
    return [
        (
            table.sleeps_guarded(name),
            table.allocates_with(name, (1,)),
            table.allocates_with(name, (0,)),
            table.definition_paths(name),
            name in table.rows,
        )
        for name in QUESTIONS
    ] + [table.stamps.get("drivers/a.c"), table.stamps.get("drivers/x.c"), sorted(table.macros)]


def test_the_index_answers_as_the_pickle_does(tmp_path: Path) -> None:
    path = tmp_path / "table.pickle"
    _table().save(path)
    first = load_indexed(path)  # no index yet: the pickle, and the index is written
    assert first is not None and not isinstance(first, IndexedTable)
    assert path.with_suffix(".sqlite").is_file()
    second = load_indexed(path)
    assert isinstance(second, IndexedTable)
    assert _answers(second) == _answers(first) == _answers(_table())
    assert sorted(second.rows) == sorted(_table().rows) and len(second.rows) == 5
    with pytest.raises(TypeError):
        second.add([SleepExport("x", "x.c", None)])
    with pytest.raises(TypeError):
        second.rows["x"] = []


def test_a_new_table_makes_a_new_index(tmp_path: Path) -> None:
    path = tmp_path / "table.pickle"
    _table().save(path)
    load_indexed(path)
    changed = _table()
    changed.add([SleepExport("settle", "drivers/e.c", None)])  # one definition never sleeps
    changed.save(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    table = load_indexed(path)
    assert table is not None and table.sleeps("settle") is None
    again = load_indexed(path)
    assert isinstance(again, IndexedTable) and again.sleeps("settle") is None


def test_an_index_that_cannot_be_written_only_costs_speed(tmp_path: Path) -> None:
    path = tmp_path / "table.pickle"
    _table().save(path)
    path.with_suffix(".sqlite").mkdir()  # in the way: neither opened nor replaced
    for _ in range(2):
        table = load_indexed(path)
        assert table is not None and not isinstance(table, IndexedTable)
        assert _answers(table) == _answers(_table())
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_a_damaged_index_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "table.pickle"
    _table().save(path)
    path.with_suffix(".sqlite").write_bytes(b"not a database")
    table = load_indexed(path)
    assert table is not None and _answers(table) == _answers(_table())
    assert isinstance(load_indexed(path), IndexedTable)


def test_no_table_no_index(tmp_path: Path) -> None:
    assert load_indexed(tmp_path / "missing.pickle") is None
    (tmp_path / "bad.pickle").write_bytes(b"garbage")
    assert load_indexed(tmp_path / "bad.pickle") is None
    assert not (tmp_path / "bad.sqlite").exists()


def test_a_table_of_another_format_is_not_unpickled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import patchlint.analysis.table_index as table_index

    path = tmp_path / "table.pickle"
    _table().save(path)
    assert load_indexed(path) is not None  # writes the index, stamped with our format
    index = path.with_suffix(".sqlite")
    # As another version finds them: the pickle and its index say format N, it reads N+1.
    other = table_index.table_version() + "-other"
    monkeypatch.setattr(table_index, "table_version", lambda: other)

    def unpickled(_path: Path) -> SummaryTable | None:
        raise AssertionError("the pickle was read although its index tells its format")

    monkeypatch.setattr(table_index, "_load_whole", unpickled)
    assert load_indexed(path) is None and index.is_file()
    # A pickle the index was not built from (another size or mtime) is read as before.
    os.utime(path, ns=(1, 1))
    monkeypatch.undo()
    assert load_indexed(path) is not None


def test_a_table_another_analysis_wrote_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same table format, other analysis code or data: its rows are that version's
    answers, so a patch check must not take them for this one's."""
    import patchlint.analysis.external as external

    path = tmp_path / "table.pickle"
    _table().save(path)
    assert SummaryTable.load(path) is not None
    assert load_indexed(path) is not None
    ours = external.analysis_version()
    monkeypatch.setattr(external, "analysis_version", lambda: ours + "-changed")
    assert SummaryTable.load(path) is None
    assert load_indexed(path) is None
