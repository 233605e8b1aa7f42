"""Where two versions differ: one solver query per path of the old version.

For an old path b, the query asks for inputs that satisfy b's path condition and,
for some new path a, a's path condition and a difference between their
observables: the calls in order (callee, arguments, the memory the callee can
see), a crash, the return value, the final contents of non-local memory, the
locks held at the end; log output separately.  Differences are looked for in
three rounds, so a witness shows the most telling one: functional on paths that
do not crash, then functional involving a crash, then log output only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import clock, smt
from .declarations import Unsupported
from .explore import Exploration
from .memory import Memory
from .smt import BoolRef, ModelRef, PathSolver
from .trace import CallEvent, LocalContent, PathOutcome
from .values import Value, value_equal

ROUNDS = ("functional", "fault", "output")


@dataclass
class Divergence:
    round: str  # one of ROUNDS
    before: PathOutcome
    after: PathOutcome
    model: ModelRef
    query: BoolRef  # what any witness model must satisfy
    renames: Mapping[str, str] | None = None


def earliest(div: Divergence, deadline: float, solver_ms: int) -> tuple[BoolRef, ModelRef, int]:
    """The divergence narrowed to its earliest observable difference: (query, model,
    index of the call it concerns), so the witness shows the first thing that differs."""
    if div.round == "output":
        return div.query, div.model, 0
    path = smt.conj(*div.before.constraints, *div.after.constraints)
    for index, term in functional_components(div.before, div.after, div.renames):
        if smt.is_false(term):
            continue
        query = smt.conj(path, term)
        solver = PathSolver(min(solver_ms * clock.WALL_PER_CPU, clock.solver_ms(deadline)))
        solver.add(query)
        if solver.check() == "sat":
            return query, solver.model(), index
    return div.query, div.model, len(div.before.events)


@dataclass
class Search:
    divergence: Divergence | None
    undecided: list[str]  # why some query could not be answered
    solver: PathSolver


def _memory_differs(mb: Memory, mark_b: int | None, ma: Memory, mark_a: int | None) -> BoolRef:
    seen: set[tuple[int, int]] = set()
    parts: list[BoolRef] = []
    for location, bits, _ in [*mb.nonlocal_writes(mark_b), *ma.nonlocal_writes(mark_a)]:
        key = (location.get_id(), bits)
        if key in seen:
            continue
        seen.add(key)
        parts.append(smt.differ(mb.read(location, bits, mark_b), ma.read(location, bits, mark_a)))
    return smt.disj(*parts)


def _content_differs(cb: LocalContent, mb: Memory, ca: LocalContent, ma: Memory) -> BoolRef:
    if cb.type_key != ca.type_key or cb.offset[2] != ca.offset[2]:
        return smt.TRUE
    parts = [smt.differ(cb.offset[0], ca.offset[0]), smt.differ(cb.offset[1], ca.offset[1])]
    cells_b = {key.get_id(): (bits, value) for key, bits, value in cb.cells}
    cells_a = {key.get_id(): (bits, value) for key, bits, value in ca.cells}
    if set(cells_b) != set(cells_a):
        return smt.TRUE
    for key, (bits, value) in cells_b.items():
        other_bits, other = cells_a[key]
        if bits != other_bits:
            return smt.TRUE
        parts.append(smt.differ(value, other))
    return smt.disj(*parts)


def event_differs(
    eb: CallEvent, mb: Memory, ea: CallEvent, ma: Memory, renames: Mapping[str, str] | None = None
) -> BoolRef:
    """A call of the old version against the new one's (a function the patch renames
    counts as the same callee under either name)."""
    callee = (renames or {}).get(eb.callee, eb.callee)
    if callee != ea.callee or len(eb.args) != len(ea.args):
        return smt.TRUE
    parts: list[BoolRef] = []
    if eb.callee == "":
        if eb.target is None or ea.target is None:
            return smt.TRUE
        parts.append(smt.differ(eb.target, ea.target))
    for index, (x, y) in enumerate(zip(eb.args, ea.args, strict=True)):
        local_b = eb.locals_passed[index]
        local_a = ea.locals_passed[index]
        if local_b is not None or local_a is not None:
            if local_b is None or local_a is None:
                return smt.TRUE
            parts.append(_content_differs(local_b, mb, local_a, ma))
        else:
            parts.append(smt.neg(value_equal(x, y)))
    return smt.disj(*parts)


def _optional_differs(x: Value | None, y: Value | None) -> BoolRef:
    if x is None and y is None:
        return smt.FALSE
    if x is None or y is None:
        return smt.TRUE
    return smt.neg(value_equal(x, y))


def functional_components(
    b: PathOutcome, a: PathOutcome, renames: Mapping[str, str] | None = None
) -> list[tuple[int, BoolRef]]:
    """The functional differences in execution order, each tagged with the index of the
    call it precedes or is (len(events) for what happens at the end)."""
    mb, ma = b.memory, a.memory
    assert mb is not None and ma is not None
    parts: list[tuple[int, BoolRef]] = []
    for index, (eb, ea) in enumerate(zip(b.events, a.events, strict=False)):
        parts.append((index, _memory_differs(mb, eb.memory_mark, ma, ea.memory_mark)))
        parts.append((index, event_differs(eb, mb, ea, ma, renames)))
    end = min(len(b.events), len(a.events))
    if len(b.events) != len(a.events) or (b.fault is None) != (a.fault is None):
        parts.append((end, smt.TRUE))
        return parts
    if b.fault is None:
        parts.append((end, _optional_differs(b.ret, a.ret)))
        parts.append((end, _memory_differs(mb, None, ma, None)))
        if len(b.locks) != len(a.locks) or any(
            lb.lock != la.lock for lb, la in zip(b.locks, a.locks, strict=False)
        ):
            parts.append((end, smt.TRUE))
        else:
            for lb, la in zip(b.locks, a.locks, strict=True):
                parts.append((end, _optional_differs(lb.resource, la.resource)))
    return parts


def functional_differs(
    b: PathOutcome, a: PathOutcome, renames: Mapping[str, str] | None = None
) -> BoolRef:
    return smt.simplify_bool(smt.disj(*(term for _, term in functional_components(b, a, renames))))


def output_differs(
    b: PathOutcome, a: PathOutcome, renames: Mapping[str, str] | None = None
) -> BoolRef:
    if len(b.logs) != len(a.logs):
        return smt.TRUE
    parts: list[BoolRef] = []
    mb, ma = b.memory, a.memory
    assert mb is not None and ma is not None
    for eb, ea in zip(b.logs, a.logs, strict=True):
        parts.append(event_differs(eb, mb, ea, ma, renames))
    return smt.simplify_bool(smt.disj(*parts))


class PairCache:
    def __init__(self, renames: Mapping[str, str] | None = None) -> None:
        self.renames = renames
        self._functional: dict[tuple[int, int], BoolRef] = {}
        self._output: dict[tuple[int, int], BoolRef] = {}

    def functional(self, b: PathOutcome, a: PathOutcome) -> BoolRef:
        key = (id(b), id(a))
        found = self._functional.get(key)
        if found is None:
            found = self._functional[key] = functional_differs(b, a, self.renames)
        return found

    def output(self, b: PathOutcome, a: PathOutcome) -> BoolRef:
        key = (id(b), id(a))
        found = self._output.get(key)
        if found is None:
            found = self._output[key] = output_differs(b, a, self.renames)
        return found


def _round_term(
    round_name: str, cache: PairCache, b: PathOutcome, a: PathOutcome
) -> BoolRef | None:
    crashes = b.fault is not None or a.fault is not None
    if round_name == "functional":
        return None if crashes else cache.functional(b, a)
    if round_name == "fault":
        return cache.functional(b, a) if crashes else None
    return smt.conj(smt.neg(cache.functional(b, a)), cache.output(b, a))


# The least wall-clock time a query of the search gets, however late it starts.
QUERY_FLOOR_MS = 20


def find_divergence(
    before: Exploration,
    after: Exploration,
    deadline: float,
    solver_ms: int,
    renames: Mapping[str, str] | None = None,
) -> Search:
    solver = PathSolver(solver_ms)
    cache = PairCache(renames)
    undecided: list[str] = []
    for round_name in ROUNDS:
        for b in before.outcomes:
            if clock.now() > deadline:
                undecided.append("time budget")
                return Search(None, undecided, solver)
            alternatives: list[tuple[PathOutcome, BoolRef]] = []
            for a in after.outcomes:
                if clock.now() > deadline:
                    undecided.append("time budget")
                    return Search(None, undecided, solver)
                try:
                    term = _round_term(round_name, cache, b, a)
                except Unsupported as error:
                    undecided.append(str(error))
                    continue
                if term is None or smt.is_false(term):
                    continue
                alternatives.append((a, smt.conj(*a.constraints, term)))
            if not alternatives:
                continue
            query = smt.conj(*b.constraints, smt.disj(*(alt for _, alt in alternatives)))
            # A fresh solver per query: z3 is much faster on floating point and on
            # arrays outside incremental mode; a query may take the rest of the budget,
            # and no more (a query started at the deadline still gets a few ms).
            solver = PathSolver(clock.solver_ms(deadline, QUERY_FLOOR_MS))
            solver.add(query)
            result = solver.check()
            if result == "sat":
                model = solver.model()
                for a, alt in alternatives:
                    if smt.model_bool(model, alt):
                        chosen = smt.conj(*b.constraints, alt)
                        divergence = Divergence(round_name, b, a, model, chosen, renames)
                        return Search(divergence, undecided, solver)
                undecided.append("a model that matched no path pair")
                continue
            if result == "unknown":
                undecided.append("solver timeout on a path pair")
    return Search(None, undecided, solver)
