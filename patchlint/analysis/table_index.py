"""The scan's summary table, read by name: an index beside the table's pickle.

A patch check asks the table about a handful of callees, but unpickling the whole
table (~170,000 names for linux 6.12) costs about half a second, more than the rest
of checking a small patch. The first check after a scan writes an SQLite index of the
pickle next to it (one row per name, its definitions pickled); later checks open it
and unpickle only the names they ask about.

The index is tied to the pickle it was built from (its size and mtime in
nanoseconds, and both formats): when the scan writes a new table, the next check
builds a new index. A cache folder that cannot be written only costs speed: the
pickle is then read whole, as before. Nothing is written when caching is off (the
table has no path then).
"""

from __future__ import annotations

import gc
import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import closing
from pathlib import Path
from typing import Generic, TypeVar

from patchlint.analysis.external import Row, SummaryTable, table_version

INDEX_FORMAT = 1
SUFFIX = ".sqlite"
Value = TypeVar("Value")


def load_indexed(path: Path) -> SummaryTable | None:
    """The table at ``path`` (a scan's pickle), read through its index when the index
    is current; otherwise loaded whole, and the index written for the next run."""
    try:
        info = path.stat()
    except OSError:
        return None
    stamp = f"{table_version()}:{INDEX_FORMAT}:{info.st_size}:{info.st_mtime_ns}"
    index = path.with_suffix(SUFFIX)
    opened = _open(index, stamp)
    if opened is not None:
        return opened
    if _of_other_format(index, stamp):
        return None  # as SummaryTable.load would say, without unpickling it first
    table = _load_whole(path)
    if table is not None:
        _write(index, table, stamp)
    return table


def _of_other_format(index: Path, stamp: str) -> bool:
    """The index was built from this very pickle (same size and mtime) by a version
    with another table format: the pickle holds that format, which this version
    cannot read (the next scan writes a new one). Unpickling it to find that out
    costs about 0.3 s per check."""
    try:
        found = Connection(index).query("SELECT data FROM meta WHERE name = ?", "stamp")
    except (sqlite3.Error, OSError):
        return False
    if found is None:
        return False
    table_format, _index, size, mtime = (found.decode(errors="replace").split(":") + ["", ""])[:4]
    ours = stamp.split(":")
    return table_format != ours[0] and _index == ours[1] and [size, mtime] == ours[2:]


def _load_whole(path: Path) -> SummaryTable | None:
    # Hundreds of thousands of tuples: the cyclic collector would walk them again and
    # again while they load, doubling the time; none of them forms a cycle.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return SummaryTable.load(path)
    finally:
        if enabled:
            gc.enable()


class IndexedTable(SummaryTable):
    """A SummaryTable whose rows and stamps are read from the index on demand; it
    answers the same questions, and cannot be changed (a scan loads the pickle)."""

    def __init__(
        self,
        rows: IndexedMapping[list[Row]],
        stamps: IndexedMapping[tuple[int, int]],
        macros: set[str],
    ) -> None:
        super().__init__(rows=rows, stamps=stamps)
        self._macro_names = macros

    @property
    def macros(self) -> set[str]:
        return self._macro_names

    def add(self, *_args: object, **_kwargs: object) -> None:
        raise TypeError("an indexed summary table is read-only")

    def forget(self, paths: set[str]) -> None:
        raise TypeError("an indexed summary table is read-only")

    def save(self, target: Path) -> None:
        raise TypeError("an indexed summary table is read-only")


class IndexedMapping(MutableMapping[str, Value], Generic[Value]):
    """One table of the index as a read-only mapping; values unpickled once each."""

    def __init__(self, connection: Connection, table: str) -> None:
        self._connection = connection
        self._table = table
        self._known: dict[str, Value | None] = {}

    def __getitem__(self, key: str) -> Value:
        if key in self._known:
            value = self._known[key]
        else:
            found = self._connection.query(f"SELECT data FROM {self._table} WHERE name = ?", key)
            value = pickle.loads(found) if found is not None else None
            self._known[key] = value
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        yield from self._connection.names(self._table)

    def __len__(self) -> int:
        return self._connection.count(self._table)

    def __setitem__(self, key: str, value: Value) -> None:
        raise TypeError("an indexed summary table is read-only")

    def __delitem__(self, key: str) -> None:
        raise TypeError("an indexed summary table is read-only")


class Connection:
    """A read-only connection to the index, opened again in a forked child (a SQLite
    connection must not cross fork())."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pid = -1
        self._db: sqlite3.Connection | None = None

    def _current(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            self._db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            self._pid = os.getpid()
        return self._db

    def query(self, sql: str, key: str) -> bytes | None:
        row = self._current().execute(sql, (key,)).fetchone()
        return bytes(row[0]) if row is not None else None

    def names(self, table: str) -> list[str]:
        return [str(row[0]) for row in self._current().execute(f"SELECT name FROM {table}")]

    def count(self, table: str) -> int:
        row = self._current().execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return int(row[0]) if row is not None else 0


def _open(index: Path, stamp: str) -> IndexedTable | None:
    connection = Connection(index)
    try:
        meta = connection.query("SELECT data FROM meta WHERE name = ?", "stamp")
        if meta is None or meta.decode() != stamp:
            return None
        macros = connection.query("SELECT data FROM meta WHERE name = ?", "macros")
        names = pickle.loads(macros) if macros is not None else None
    except (sqlite3.Error, OSError, ValueError, pickle.PickleError, EOFError):
        return None
    if not isinstance(names, list):
        return None
    return IndexedTable(
        IndexedMapping(connection, "rows"),
        IndexedMapping(connection, "stamps"),
        {str(name) for name in names},
    )


def _write(index: Path, table: SummaryTable, stamp: str) -> None:
    """Write the index beside the pickle, atomically (another check may be reading or
    writing it too); any failure leaves no index, which only costs speed."""
    try:
        index.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=index.parent, suffix=".tmp")
        os.close(handle)
    except OSError:
        return
    try:
        with closing(sqlite3.connect(temporary)) as db:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            for name in ("meta", "rows", "stamps"):
                db.execute(f"CREATE TABLE {name} (name TEXT PRIMARY KEY, data BLOB NOT NULL)")
            dump = pickle.HIGHEST_PROTOCOL
            db.executemany(
                "INSERT INTO rows VALUES (?, ?)",
                ((name, pickle.dumps(rows, dump)) for name, rows in table.rows.items()),
            )
            db.executemany(
                "INSERT INTO stamps VALUES (?, ?)",
                ((path, pickle.dumps(value, dump)) for path, value in table.stamps.items()),
            )
            macros = pickle.dumps(sorted(table.macros), dump)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("macros", macros), ("stamp", stamp.encode())]
            )
            db.commit()
        os.replace(temporary, index)
    except (sqlite3.Error, OSError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
