"""The direct calls and the inline asm of one file image, found by one tree-sitter query.

Most questions are about one function (which calls it makes, whether it holds inline
asm), and a patch check asks them of the few functions a patch touches: those are
answered by running the query over the function's bytes alone. The whole file is
queried once, on the first question about the file as a whole (every call of a name,
the lock kinds the file uses), and then answers everything. Both give the same calls,
in source order.
"""

from __future__ import annotations

import bisect

from tree_sitter import Node, Query, QueryCursor

from patchlint.analysis.calls import text
from patchlint.source import SourceFile

_CALL_QUERY_SOURCE = "(call_expression function: (identifier) @name) (gnu_asm_expression) @asm"
_queries: dict[int, Query] = {}

Calls = list[tuple[str, Node]]
# Past this many spellings of a name, one query of the whole file is cheaper.
_MAX_SPELLINGS = 40


def _query(source: SourceFile) -> Query:
    language = source.tree.language
    key = id(language)
    query = _queries.get(key)
    if query is None:
        query = _queries[key] = Query(language, _CALL_QUERY_SOURCE)
    return query


class CallIndex:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self._by_name: dict[str, list[Node]] | None = None
        self._sorted: tuple[list[int], Calls] | None = None
        self._asm: list[int] | None = None
        self._ranges: dict[tuple[int, int], tuple[Calls, list[int]]] = {}
        self._of_name: dict[str, list[Node]] = {}

    def _captures(
        self, start: int | None = None, end: int | None = None
    ) -> tuple[Calls, list[int]]:
        """The calls (by start byte; tree-sitter 0.25+ gives captures in no stable
        order, and evidence would vary) and the asm starts in [start, end)."""
        cursor = QueryCursor(_query(self.source))
        if start is not None and end is not None:
            cursor.set_byte_range(start, end)
        captures = cursor.captures(self.source.tree.root_node)
        calls: Calls = []
        for node in sorted(captures.get("name", []), key=lambda node: node.start_byte):
            call = node.parent
            if call is not None and _within(call, start, end):
                calls.append((text(node), call))
        calls.sort(key=lambda item: item[1].start_byte)
        asm = sorted(n.start_byte for n in captures.get("asm", []) if _within(n, start, end))
        return calls, asm

    def by_name(self) -> dict[str, list[Node]]:
        """Every direct call in the file, by callee name."""
        if self._by_name is None:
            calls, self._asm = self._captures()
            by_name: dict[str, list[Node]] = {}
            for name, call in calls:
                by_name.setdefault(name, []).append(call)
            self._by_name = by_name
            self._sorted = ([call.start_byte for _name, call in calls], calls)
            self._ranges.clear()
        return self._by_name

    def calls_of(self, name: str) -> list[Node]:
        """The direct calls of ``name`` in the file, in source order: each spelling
        of the name is queried alone (a name is spelled a few times in a file), and
        the whole file only when it is spelled often."""
        if self._by_name is not None:
            return self._by_name.get(name, [])
        found = self._of_name.get(name)
        if found is None:
            found = self._spelled(name)
            if found is None:
                return self.by_name().get(name, [])
            self._of_name[name] = found
        return found

    def _spelled(self, name: str) -> list[Node] | None:
        root = self.source.tree.root_node
        data, base, needle = root.text or b"", root.start_byte, name.encode()
        found: list[Node] = []
        at, seen = data.find(needle), 0
        while at >= 0:
            seen += 1
            if seen > _MAX_SPELLINGS:
                return None
            start = base + at
            calls, _asm = self._captures(start, start + len(needle))
            found.extend(c for spelled, c in calls if spelled == name and c.start_byte == start)
            at = data.find(needle, at + 1)
        return found

    def _in_range(self, start: int, end: int) -> tuple[Calls, list[int]]:
        if self._sorted is not None and self._asm is not None:
            starts, calls = self._sorted
            first, last = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            asm = self._asm[
                bisect.bisect_left(self._asm, start) : bisect.bisect_left(self._asm, end)
            ]
            return calls[first:last], asm
        found = self._ranges.get((start, end))
        if found is None:
            found = self._ranges[(start, end)] = self._captures(start, end)
        return found

    def calls_in(self, start: int, end: int) -> Calls:
        """Direct calls starting in [start, end), in source order."""
        return self._in_range(start, end)[0]

    def first_asm(self, start: int, end: int) -> int | None:
        """The start byte of the first inline asm in [start, end), if any."""
        asm = self._in_range(start, end)[1]
        return asm[0] if asm else None


def _within(node: Node, start: int | None, end: int | None) -> bool:
    # A byte range selects the matches that overlap it: keep those starting inside.
    return start is None or end is None or start <= node.start_byte < end
