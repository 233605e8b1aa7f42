"""From a solver model to a concrete, small witness a reviewer can read and replay.

The model is first made small (inputs pushed to zero, then to small numbers,
while the divergence query stays satisfied), then both paths' observables are
evaluated under it, and the first observable that differs, in execution order,
is named.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import clock, smt
from .compare import Divergence, earliest
from .ctype import AnyType, IntType, PointerType
from .declarations import Unsupported
from .inputs import Inputs, InputSymbol, pretty_epoch
from .memory import Havoc, Memory
from .model import InputValue, Observable, Observation, Witness
from .smt import BitVecRef, ExprRef, ModelRef, PathSolver
from .trace import CallEvent, LocalContent, PathOutcome
from .values import (
    INT_OID,
    LOCAL_BASE,
    NULL_OID,
    PATHS,
    PTR_BITS,
    AggV,
    FloatV,
    FuncV,
    IntV,
    OpaqueV,
    PtrV,
    Value,
    encode,
)

MAX_MINIMISE_QUERIES = 48


def relevant_inputs(inputs: Inputs, terms: list[ExprRef]) -> list[InputSymbol]:
    """The inputs whose terms occur in ``terms`` (constraints, observables)."""
    by_id = {symbol.term.get_id(): symbol for symbol in inputs.symbols.values()}
    found: dict[int, InputSymbol] = {}
    seen: set[int] = set()
    stack = list(terms)
    while stack:
        term = stack.pop()
        key = term.get_id()
        if key in seen:
            continue
        seen.add(key)
        symbol = by_id.get(key)
        if symbol is not None:
            found[key] = symbol
        stack.extend(term.children())
    order = {symbol.term.get_id(): index for index, symbol in enumerate(inputs.symbols.values())}
    return sorted(found.values(), key=lambda s: order.get(s.term.get_id(), 0))


def minimise(
    div: Divergence, symbols: list[InputSymbol], deadline: float, solver_ms: int, quiet: smt.BoolRef
) -> ModelRef:
    model = div.model
    kept: list[smt.BoolRef] = []
    queries = 1
    # Prefer a witness where the uninterpreted callees leave memory alone: it is the
    # simplest story and a harness with plain stubs reproduces it.
    solver = PathSolver(min(solver_ms * clock.WALL_PER_CPU, clock.solver_ms(deadline)))
    solver.add(div.query, quiet)
    if not smt.is_true(quiet) and solver.check() == "sat":
        model = solver.model()
        kept.append(quiet)
    for symbol in symbols:
        term = symbol.term
        if (
            (64 < term.size() != PTR_BITS)
            or queries >= MAX_MINIMISE_QUERIES
            or clock.now() > deadline
        ):
            continue
        if term.size() <= 64 and smt.model_int(model, term) == 0:
            kept.append(smt.eq(term, smt.bv_val(0, term.size())))
            continue
        for candidate in _small_values(term):
            queries += 1
            solver = PathSolver(min(solver_ms * clock.WALL_PER_CPU, clock.solver_ms(deadline)))
            solver.add(div.query, *kept, candidate)
            if solver.check() == "sat":
                model = solver.model()
                kept.append(candidate)
                break
    return model


def _small_values(term: BitVecRef) -> list[smt.BoolRef]:
    bits = term.size()
    if bits == PTR_BITS:
        # A pointer: rather a valid object than NULL or an error pointer.
        return [smt.ule(smt.bv_val(2, 32), smt.extract(111, 80, term))]
    zero = smt.bv_val(0, bits)
    if bits <= 4:
        return [smt.eq(term, zero)]
    low = smt.bv_val(-16, bits)
    high = smt.bv_val(16, bits)
    return [smt.eq(term, zero), smt.conj(smt.sle(low, term), smt.sle(term, high))]


@dataclass
class Namer:
    """Names the objects a witness mentions: obj1, obj2... by first appearance."""

    inputs: Inputs
    objects: dict[int, str] = field(default_factory=dict)

    def object(self, oid: int) -> str:
        if oid in self.inputs.string_bytes:
            data = self.inputs.string_bytes[oid].decode("utf-8", "replace")
            return '"' + data.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') + '"'
        if oid in self.inputs.function_names:
            return self.inputs.function_names[oid]
        if oid >= LOCAL_BASE:
            return "(local object)"
        if oid in self.inputs.globals.values():
            for name, global_oid in self.inputs.globals.items():
                if global_oid == oid:
                    return name
        found = self.objects.get(oid)
        if found is None:
            found = self.objects[oid] = f"obj{len(self.objects) + 1}"
        return found


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) else value


def show(value: Value | None, model: ModelRef, namer: Namer) -> InputValue | None:
    if value is None:
        return None
    if isinstance(value, IntV):
        raw = smt.model_int(model, value.expr)
        return _signed(raw, value.ctype.bits) if value.ctype.signed else raw
    if isinstance(value, FloatV):
        number = smt.model_fp(model, value.expr)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, OpaqueV):
        return _signed(smt.model_int(model, value.expr), 64)
    if isinstance(value, PtrV):
        return show_pointer(smt.model_int(model, encode(value)), namer)
    if isinstance(value, FuncV):
        return value.name
    parts = [f"{name}: {show(member, model, namer)}" for name, member in value.members]
    return "{" + ", ".join(parts) + "}"


def show_pointer(raw: int, namer: Namer) -> str:
    oid = raw >> 80
    elem = _signed((raw >> 48) & 0xFFFFFFFF, 32)
    path = PATHS.name((raw >> 32) & 0xFFFF) or ""
    sub = _signed(raw & 0xFFFFFFFF, 32)
    if oid == NULL_OID:
        return "NULL" if raw == 0 else f"(void *){elem << 32 | (sub & 0xFFFFFFFF)}"
    if oid == INT_OID:
        integer = _signed(((elem & 0xFFFFFFFF) << 32) | (sub & 0xFFFFFFFF), 64)
        return f"ERR_PTR({integer})" if -4095 <= integer < 0 else f"(void *){integer:#x}"
    known = namer.inputs.by_oid.get(oid)
    if known is not None and "(*)(" in known.target:
        return known.name
    base = namer.object(oid)
    if base.startswith('"') or oid in namer.inputs.function_names:
        return base if elem == 0 else f"{base} + {elem}"
    text = f"&{base}" if elem == 0 else f"&{base}[{elem}]"
    if path:
        member = path.split(".", 1)[1] if "." in path else path
        member = member.replace("[]", f"[{sub}]")
        text = f"&{base}{'' if elem == 0 else f'[{elem}]'}.{member}" if member else text
    return text


def input_value(symbol: InputSymbol, model: ModelRef, namer: Namer) -> InputValue:
    from .ctype import FloatType, IntType, PointerType

    raw = smt.model_int(model, symbol.term)
    ctype = symbol.ctype
    if isinstance(ctype, PointerType):
        return show_pointer(raw, namer)
    if isinstance(ctype, IntType):
        return _signed(raw, ctype.bits) if ctype.signed else raw
    if isinstance(ctype, FloatType):
        number = smt.model_fp(model, smt.fp_from_bits(symbol.term, ctype.bits))
        return number if math.isfinite(number) else str(number)
    return _signed(raw, symbol.term.size())


_PLACEHOLDER = re.compile(r"\{\{t(\d+)\}\}")


def fill_placeholders(name: str, inputs: Inputs, model: ModelRef) -> str:
    def value(match: re.Match[str]) -> str:
        term = inputs.kept.get(int(match.group(1)))
        if not isinstance(term, BitVecRef):
            return "?"
        return str(_signed(smt.model_int(model, term), term.size()))

    return _PLACEHOLDER.sub(value, name)


def input_name(symbol: InputSymbol) -> str:
    name = symbol.name
    if name.startswith("result of "):
        return f"{pretty_epoch(name[len('result of ') :])} returns"
    if " after " in name:
        head, _, epoch = name.rpartition(" after ")
        return f"{head} after {pretty_epoch(epoch)}"
    return name


def _call_text(
    event: CallEvent, model: ModelRef, namer: Namer, renames: Mapping[str, str] | None = None
) -> str:
    callee = (renames or {}).get(event.callee, event.callee)
    if not callee and event.target is not None:
        callee = f"(*{show_pointer(smt.model_int(model, event.target), namer)})"
    args = ", ".join(str(show(arg, model, namer)) for arg in event.args)
    return f"{callee}({args})"


def _writes(
    memory: Memory, mark: int | None, model: ModelRef, namer: Namer
) -> list[tuple[str, InputValue]]:
    out: list[tuple[str, InputValue]] = []
    typed = {(loc.get_id(), bits): ctype for loc, bits, _, ctype in memory.written_types()}
    for location, bits, name in memory.nonlocal_writes(mark):
        value = smt.model_int(model, memory.read(location, bits, mark))
        shown = fill_placeholders(name, namer.inputs, model) if name else ""
        cell = _cell_value(value, bits, typed.get((location.get_id(), bits)), namer)
        out.append((shown or show_pointer(smt.model_int(model, location), namer), cell))
    return out


def observe(outcome: PathOutcome, model: ModelRef, namer: Namer) -> Observation:
    memory = outcome.memory
    assert memory is not None
    locks = tuple(
        f"{held.lock}: {held.text}"
        + (f" ({show(held.resource, model, namer)})" if held.resource is not None else "")
        for held in outcome.locks
    )
    return Observation(
        returns=show(outcome.ret, model, namer) if outcome.fault is None else None,
        calls=tuple(_call_text(e, model, namer) for e in outcome.events),
        writes=tuple(_writes(memory, None, model, namer)) if outcome.fault is None else (),
        locks=locks if outcome.fault is None else (),
        fault=outcome.fault,
        logs=tuple(_call_text(e, model, namer) for e in outcome.logs),
    )


def first_difference(
    b: PathOutcome, a: PathOutcome, model: ModelRef, namer: Namer, renames: Mapping[str, str]
) -> tuple[str, Observable]:
    mb, ma = b.memory, a.memory
    assert mb is not None and ma is not None
    for index in range(max(len(b.events), len(a.events))):
        eb = b.events[index] if index < len(b.events) else None
        ea = a.events[index] if index < len(a.events) else None
        if eb is not None and ea is not None:
            found = _memory_difference(mb, eb.memory_mark, ma, ea.memory_mark, model, namer)
            if found is not None:
                name, vb, va = found
                return (
                    f"memory {name} when calling {_call_text(eb, model, namer)}: "
                    f"before {vb}, after {va}",
                    "write",
                )
        text_b = _call_text(eb, model, namer, renames) if eb is not None else None
        text_a = _call_text(ea, model, namer) if ea is not None else None
        if text_b != text_a or eb is None or ea is None:
            kind: Observable = (
                "lock"
                if any(e is not None and e.kind in ("lock", "unlock") for e in (eb, ea))
                else "call"
            )
            return (
                f"call #{index + 1}: before {text_b or _end(b, model, namer)}, "
                f"after {text_a or _end(a, model, namer)}",
                kind,
            )
        for position, (cb, ca) in enumerate(zip(eb.locals_passed, ea.locals_passed, strict=False)):
            shown_b = _local_cells(cb, model)
            shown_a = _local_cells(ca, model)
            if shown_b != shown_a:
                return (
                    f"call #{index + 1} {text_b}: argument {position + 1} points to a local object "
                    f"holding {shown_b} before, {shown_a} after",
                    "call",
                )
    if (b.fault is None) != (a.fault is None) or (b.fault is not None):
        if b.fault != a.fault:
            return (f"before {_end(b, model, namer)}, after {_end(a, model, namer)}", "fault")
    ret_b = show(b.ret, model, namer)
    ret_a = show(a.ret, model, namer)
    if repr(ret_b) != repr(ret_a):
        return (f"return value: before {ret_b}, after {ret_a}", "return")
    found = _memory_difference(mb, None, ma, None, model, namer)
    if found is not None:
        name, vb, va = found
        return (f"memory {name} at return: before {vb}, after {va}", "write")
    locks_b = observe(b, model, namer).locks
    locks_a = observe(a, model, namer).locks
    if [x.split(":")[0] for x in locks_b] != [
        x.split(":")[0] for x in locks_a
    ] or locks_b != locks_a:
        return (
            f"locks held at return: before {list(locks_b) or 'none'}, "
            f"after {list(locks_a) or 'none'}",
            "lock",
        )
    for index in range(max(len(b.logs), len(a.logs))):
        lb = _call_text(b.logs[index], model, namer) if index < len(b.logs) else "no message"
        la = _call_text(a.logs[index], model, namer) if index < len(a.logs) else "no message"
        if lb != la:
            return (f"log output #{index + 1}: before {lb}, after {la}", "log")
    return ("a difference the solver found but the concrete values do not show", "call")


def _memory_difference(
    mb: Memory, mark_b: int | None, ma: Memory, mark_a: int | None, model: ModelRef, namer: Namer
) -> tuple[str, InputValue, InputValue] | None:
    """The first non-local location (written by either version) whose contents differ."""
    seen: set[tuple[int, int]] = set()
    typed = {(loc.get_id(), bits): ctype for loc, bits, _, ctype in mb.written_types()}
    typed.update({(loc.get_id(), bits): ctype for loc, bits, _, ctype in ma.written_types()})
    for location, bits, name in [*mb.nonlocal_writes(mark_b), *ma.nonlocal_writes(mark_a)]:
        key = (location.get_id(), bits)
        if key in seen:
            continue
        seen.add(key)
        vb = _cell_value(
            smt.model_int(model, mb.read(location, bits, mark_b)), bits, typed.get(key), namer
        )
        va = _cell_value(
            smt.model_int(model, ma.read(location, bits, mark_a)), bits, typed.get(key), namer
        )
        if vb != va:
            shown = fill_placeholders(name, namer.inputs, model) if name else ""
            return shown or show_pointer(smt.model_int(model, location), namer), vb, va
    return None


def _cell_value(raw: int, bits: int, ctype: AnyType | None, namer: Namer) -> InputValue:
    """A memory cell's bits as the type it was written with (pointers by their object)."""
    if isinstance(ctype, PointerType) or bits == PTR_BITS:
        return show_pointer(raw, namer)
    if isinstance(ctype, IntType) and not ctype.signed:
        return raw
    return _signed(raw, bits)


def _local_cells(content: LocalContent | None, model: ModelRef) -> list[int] | None:
    if content is None:
        return None
    cells = sorted(
        (smt.model_int(model, key), smt.model_int(model, value)) for key, _, value in content.cells
    )
    return [value for _, value in cells]


def _shown(value: InputValue | None) -> str:
    return "unchanged" if value is None else str(value)


def _end(outcome: PathOutcome, model: ModelRef | None = None, namer: Namer | None = None) -> str:
    if outcome.fault is not None:
        return f"crashes: {outcome.fault}"
    if model is not None and namer is not None and outcome.ret is not None:
        return f"returns {show(outcome.ret, model, namer)}"
    return "returns"


def build_witness(
    div: Divergence, inputs: Inputs, deadline: float, solver_ms: int
) -> tuple[Witness, ModelRef, list[str]]:
    """The witness, its model, and the constants of unknown value it involves."""
    terms: list[ExprRef] = [div.query]
    for outcome in (div.before, div.after):
        assert outcome.memory is not None
        for location, bits, name, ctype in outcome.memory.written_types():
            # What a location held before the function wrote it is an input too.
            initial = smt.select(inputs.memory("", bits), location)
            inputs.record(name, initial, ctype if ctype is not None else _int_type(bits), "memory")
            terms.append(initial)
    for outcome in (div.before, div.after):
        if outcome.ret is not None:
            terms.extend(_value_terms(outcome.ret))
        for event in [*outcome.events, *outcome.logs]:
            for arg in event.args:
                terms.extend(_value_terms(arg))
    query, model, first_call = earliest(div, deadline, solver_ms)
    div = Divergence(div.round, div.before, div.after, model, query, div.renames)
    symbols = relevant_inputs(inputs, terms)
    quiet = _quiet_callees(div, symbols, first_call)
    model = minimise(div, symbols, deadline, solver_ms, quiet)
    namer = Namer(inputs)
    shown: dict[str, InputValue] = {}
    for symbol in symbols:
        name = fill_placeholders(input_name(symbol), inputs, model)
        shown.setdefault(name, input_value(symbol, model, namer))
    shown_inputs = tuple(shown.items())
    description, observable = first_difference(
        div.before, div.after, model, namer, div.renames or {}
    )
    if div.round == "fault":
        # The difference needs one version to crash (a NULL or error pointer, a zero
        # divisor): say so whatever the first differing observable is.
        observable = "fault"
    witness = Witness(
        inputs=shown_inputs,
        before=observe(div.before, model, namer),
        after=observe(div.after, model, namer),
        first_difference=description,
        observable=observable,
    )
    unknown_constants = [s.name for s in symbols if s.kind == "constant"]
    return witness, model, unknown_constants


def _quiet_callees(div: Divergence, symbols: list[InputSymbol], first_call: int) -> smt.BoolRef:
    """Every cell the witness involves keeps its value across the uninterpreted calls
    made before the first difference (where both versions see the same memory)."""
    parts: list[smt.BoolRef] = []
    for outcome in (div.before, div.after):
        memory = outcome.memory
        assert memory is not None
        cells = {(loc.get_id(), bits): (loc, bits) for loc, bits, _ in memory.nonlocal_writes()}
        for other in (div.before, div.after):
            assert other.memory is not None
            for loc, bits, _ in other.memory.nonlocal_writes():
                cells.setdefault((loc.get_id(), bits), (loc, bits))
        for symbol in symbols:
            term = symbol.term
            if " after " in symbol.name and term.decl().name() == "select":
                location = term.arg(1)
                if isinstance(location, BitVecRef):
                    cells.setdefault((location.get_id(), term.size()), (location, term.size()))
        for event in outcome.events[:first_call]:
            mark = event.memory_mark
            if mark >= len(memory.log) or not isinstance(memory.log[mark], Havoc):
                continue
            for location, bits in cells.values():
                try:
                    before_call = memory.read(location, bits, mark)
                    after_call = memory.read(location, bits, mark + 1)
                except Unsupported:
                    continue
                parts.append(smt.eq(after_call, before_call))
    return smt.conj(*parts)


def _int_type(bits: int) -> IntType:
    return IntType(bits, True, 4)


def _value_terms(value: Value) -> list[ExprRef]:
    if isinstance(value, IntV | OpaqueV):
        return [value.expr]
    if isinstance(value, FloatV):
        return [value.expr]
    if isinstance(value, PtrV):
        return [encode(value)]
    if isinstance(value, AggV):
        return [term for _, member in value.members for term in _value_terms(member)]
    return []
