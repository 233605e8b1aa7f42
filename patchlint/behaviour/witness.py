"""From a solver model to a concrete, small witness a reviewer can read and replay.

The model is first made small (inputs pushed to zero, then to small numbers,
while the divergence query stays satisfied), then both paths' observables are
evaluated under it, and the first observable that differs, in execution order,
is named.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from . import smt
from .compare import Divergence
from .inputs import InputSymbol, Inputs
from .memory import Memory
from .model import InputValue, Observable, Observation, Witness
from .smt import BitVecRef, ExprRef, ModelRef, PathSolver
from .trace import CallEvent, LocalContent, PathOutcome
from .values import (
    INT_OID,
    LOCAL_BASE,
    NULL_OID,
    PATHS,
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


def pretty_epoch(epoch: str) -> str:
    """"call3:foo" -> "foo() #4" (the fourth uninterpreted call)."""
    head, _, callee = epoch.partition(":")
    for prefix in ("call", "log"):
        if head.startswith(prefix) and head[len(prefix) :].isdigit():
            return f"{callee or '(pointer)'}() #{int(head[len(prefix):]) + 1}"
    return epoch


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


def minimise(div: Divergence, symbols: list[InputSymbol], deadline: float, solver_ms: int) -> ModelRef:
    model = div.model
    kept: list[smt.BoolRef] = []
    queries = 0
    for symbol in symbols:
        term = symbol.term
        if term.size() > 64 or queries >= MAX_MINIMISE_QUERIES or time.monotonic() > deadline:
            continue
        if smt.model_int(model, term) == 0:
            kept.append(smt.eq(term, smt.bv_val(0, term.size())))
            continue
        for candidate in _small_values(term):
            queries += 1
            solver = PathSolver(min(solver_ms, max(1, int((deadline - time.monotonic()) * 1000))))
            solver.add(div.query, *kept, candidate)
            if solver.check() == "sat":
                model = solver.model()
                kept.append(candidate)
                break
    return model


def _small_values(term: BitVecRef) -> list[smt.BoolRef]:
    bits = term.size()
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
    if isinstance(value, AggV):
        parts = [f"{name}: {show(member, model, namer)}" for name, member in value.members]
        return "{" + ", ".join(parts) + "}"
    return str(value)


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


def input_name(symbol: InputSymbol) -> str:
    name = symbol.name
    if name.startswith("result of "):
        return f"{pretty_epoch(name[len('result of '):])} returns"
    if " after " in name:
        head, _, epoch = name.rpartition(" after ")
        return f"{head} after {pretty_epoch(epoch)}"
    return name


def _call_text(event: CallEvent, model: ModelRef, namer: Namer) -> str:
    callee = event.callee
    if not callee and event.target is not None:
        callee = f"(*{show_pointer(smt.model_int(model, event.target), namer)})"
    args = ", ".join(str(show(arg, model, namer)) for arg in event.args)
    return f"{callee}({args})"


def _writes(memory: Memory, mark: int | None, model: ModelRef, namer: Namer) -> list[tuple[str, InputValue]]:
    out: list[tuple[str, InputValue]] = []
    for location, bits, name in memory.nonlocal_writes(mark):
        value = smt.model_int(model, memory.read(location, bits, mark))
        out.append((name or show_pointer(smt.model_int(model, location), namer), _signed(value, bits)))
    return out


def observe(outcome: PathOutcome, model: ModelRef, namer: Namer) -> Observation:
    memory = outcome.memory
    assert memory is not None
    locks = tuple(
        f"{held.lock}: {held.text}" + (f" ({show(held.resource, model, namer)})" if held.resource is not None else "")
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


def first_difference(b: PathOutcome, a: PathOutcome, model: ModelRef, namer: Namer) -> tuple[str, Observable]:
    mb, ma = b.memory, a.memory
    assert mb is not None and ma is not None
    for index in range(max(len(b.events), len(a.events))):
        eb = b.events[index] if index < len(b.events) else None
        ea = a.events[index] if index < len(a.events) else None
        if eb is not None and ea is not None:
            wb = dict(_writes(mb, eb.memory_mark, model, namer))
            wa = dict(_writes(ma, ea.memory_mark, model, namer))
            for name in [*wb, *[n for n in wa if n not in wb]]:
                if wb.get(name) != wa.get(name):
                    return (
                        f"memory {name} when calling {_call_text(eb, model, namer)}: "
                        f"before {_shown(wb.get(name))}, after {_shown(wa.get(name))}",
                        "write",
                    )
        text_b = _call_text(eb, model, namer) if eb is not None else None
        text_a = _call_text(ea, model, namer) if ea is not None else None
        if text_b != text_a or eb is None or ea is None:
            kind: Observable = "lock" if any(e is not None and e.kind in ("lock", "unlock") for e in (eb, ea)) else "call"
            return (
                f"call #{index + 1}: before {text_b or _end(b, model, namer)}, after {text_a or _end(a, model, namer)}",
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
    wb = dict(_writes(mb, None, model, namer))
    wa = dict(_writes(ma, None, model, namer))
    for name in [*wb, *[n for n in wa if n not in wb]]:
        if wb.get(name) != wa.get(name):
            return (f"memory {name} at return: before {_shown(wb.get(name))}, after {_shown(wa.get(name))}", "write")
    locks_b = observe(b, model, namer).locks
    locks_a = observe(a, model, namer).locks
    if [x.split(":")[0] for x in locks_b] != [x.split(":")[0] for x in locks_a] or locks_b != locks_a:
        return (f"locks held at return: before {list(locks_b) or 'none'}, after {list(locks_a) or 'none'}", "lock")
    for index in range(max(len(b.logs), len(a.logs))):
        lb = _call_text(b.logs[index], model, namer) if index < len(b.logs) else "no message"
        la = _call_text(a.logs[index], model, namer) if index < len(a.logs) else "no message"
        if lb != la:
            return (f"log output #{index + 1}: before {lb}, after {la}", "log")
    return ("a difference the solver found but the concrete values do not show", "call")


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


def build_witness(div: Divergence, inputs: Inputs, deadline: float, solver_ms: int) -> tuple[Witness, ModelRef]:
    terms: list[ExprRef] = [div.query]
    for outcome in (div.before, div.after):
        if outcome.ret is not None:
            terms.extend(_value_terms(outcome.ret))
        for event in [*outcome.events, *outcome.logs]:
            for arg in event.args:
                terms.extend(_value_terms(arg))
    symbols = relevant_inputs(inputs, terms)
    model = minimise(div, symbols, deadline, solver_ms)
    namer = Namer(inputs)
    shown_inputs = tuple((input_name(s), input_value(s, model, namer)) for s in symbols)
    description, observable = first_difference(div.before, div.after, model, namer)
    witness = Witness(
        inputs=shown_inputs,
        before=observe(div.before, model, namer),
        after=observe(div.after, model, namer),
        first_difference=description,
        observable=observable,
    )
    return witness, model


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
