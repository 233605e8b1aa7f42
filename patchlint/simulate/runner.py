"""Running a scenario on one view of the tree.

A run builds the world, takes the locks the scenario says are held, checks the
world assumption, runs the action, then the per-thread actions (each thread
being ``current`` in turn), reads the counters after every step and finally
evaluates the observation per task.  Every failure to evaluate becomes a reason
("unknown"), never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from patchlint.simulate import locks
from patchlint.simulate.build import WorldBuilder
from patchlint.simulate.frames import CallRecord, Frame, Node, Return, Signal, TraceStep, text_of
from patchlint.simulate.interpreter import Interpreter
from patchlint.simulate.primitives import Primitives
from patchlint.simulate.resolve import Resolver, parse_snippet
from patchlint.simulate.scenario import Scenario
from patchlint.simulate.world import Obj, Ptr, Slot, Stop, Value, World, describe, truth
from patchlint.source import SourceFile

_WARNING_KINDS = ("warn", "violation", "unmodelled", "budget", "recursion", "symbolic")


@dataclass
class TaskOutcome:
    task: str
    holds: bool | None
    details: str
    terms: list[tuple[str, str]] = field(default_factory=list)


class CounterSummary(TypedDict):
    name: str
    steps: list[str]
    values: list[int | None]


class InvariantSummary(TypedDict):
    invariant: str
    step: str
    values: str


@dataclass
class CounterSeries:
    """A counter's value after the action and after every per-thread step."""

    name: str
    steps: list[str]
    values: list[int | None]

    def text(self) -> str:
        return " -> ".join("?" if v is None else str(v) for v in self.values)

    def summary(self) -> CounterSummary:
        return CounterSummary(name=self.name, steps=list(self.steps), values=list(self.values))


@dataclass
class InvariantFailure:
    invariant: str
    step: str
    values: str

    def text(self) -> str:
        return f"{self.invariant} fails first after {self.step} ({self.values})"

    def summary(self) -> InvariantSummary:
        return InvariantSummary(invariant=self.invariant, step=self.step, values=self.values)


@dataclass
class RunOutcome:
    """One run (before or after): how many observed tasks satisfy the observation."""

    holds: int
    total: int
    per_task: list[TaskOutcome]
    warnings: list[str]
    stopped: str | None = None
    unknown: int = 0
    record: CallRecord | None = field(default=None, repr=False)
    trace: list[TraceStep] = field(default_factory=list, repr=False)
    woken: list[str] = field(default_factory=list)
    steps: int = 0
    counters: list[CounterSeries] = field(default_factory=list)
    violated: list[InvariantFailure] = field(default_factory=list)
    # Why the world was left out of a divergence search (its assumption is false).
    excluded: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "holds": self.holds,
            "total": self.total,
            "unknown": self.unknown,
            "stopped": self.stopped,
            "per_task": [
                {"task": t.task, "holds": t.holds, "details": t.details} for t in self.per_task
            ],
            "warnings": list(self.warnings),
        }
        if self.counters:
            out["counters"] = [c.summary() for c in self.counters]
            out["violated"] = [v.summary() for v in self.violated]
        return out


def _terms(node: Node) -> list[Node]:
    """Top-level conjuncts of the observation, so the report can say which one failed."""
    if node.type == "parenthesized_expression" and len(node.named_children) == 1:
        return _terms(node.named_children[0])
    if node.type == "binary_expression" and text_of(node.child_by_field_name("operator")) == "&&":
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is not None and right is not None:
            return _terms(left) + _terms(right)
    return [node]


def _guarded(interp: Interpreter, record: CallRecord, run: Callable[[], None]) -> str | None:
    """Run ``run()``; a stop or an internal failure becomes a reason, never an exception."""
    try:
        run()
    except Stop as stop:
        record.stopped = stop.reason
        kind = stop.kind if stop.kind in ("budget", "recursion") else "unmodelled"
        interp.world.record(kind, None, stop.reason)
        return stop.reason
    except Return:
        return None
    except Signal as signal:
        reason = f"{type(signal).__name__.lower()} outside a loop or label"
        interp.world.record("unmodelled", None, reason)
        return reason
    except RecursionError:
        interp.world.record("recursion", None, "expression nesting too deep")
        return "expression nesting too deep"
    except Exception as error:  # noqa: BLE001 - a run must never take the tool down
        reason = f"internal error {type(error).__name__}: {error}"
        interp.world.record("unmodelled", None, reason)
        return reason
    return None


class _Run:
    """The state of one run: the world, the interpreter and the phases done so far."""

    def __init__(self, interp: Interpreter, scenario: Scenario) -> None:
        self.interp = interp
        self.world = interp.world
        self.scenario = scenario
        self.env: dict[str, Slot] = {task.label: Ptr(task) for task in self.world.tasks}
        self.counters = [CounterSeries(c.name, [], []) for c in scenario.counters]
        self.violated: list[InvariantFailure] = []

    def frame(self, name: str, source: SourceFile, extra: dict[str, Slot] | None = None) -> Frame:
        record = CallRecord(name, (), 0)
        self.interp.root.children.append(record)
        return Frame(name, source, {**self.env, **(extra or {})}, {}, record)

    def evaluate(
        self, name: str, text: str, path: str, extra: dict[str, Slot]
    ) -> tuple[Value, str | None]:
        """(value, None) for a C expression, or (None, the reason it has no value)."""
        source, _, node = parse_snippet(text, path)
        frame = self.frame(name, source, extra)
        self.interp.steps = 0
        out: list[Value] = []
        reason = _guarded(
            self.interp, frame.record, lambda: out.append(self.interp.eval(node, frame))
        )
        if reason is None and not out:
            reason = "no value"
        return (out[0] if reason is None else None), reason

    def statements(
        self, name: str, text: str, path: str, extra: dict[str, Slot], what: str
    ) -> str | None:
        """Run C statements in a phase of their own; the reason if they stopped."""
        source, _, body = parse_snippet(text, path, kind="body")
        frame = self.frame(name, source, extra)
        held = len(self.world.held)
        self.interp.frames.append(frame)
        try:
            stopped = _guarded(
                self.interp, frame.record, lambda: self.interp.exec_block(body, frame)
            )
        finally:
            self.interp.frames.pop()
        for entry in self.world.held[held:]:
            self.world.record("violation", None, f"{entry.label} still held when {what} returned")
        return stopped

    def take_locks(self) -> str | None:
        setup = self.frame("<setup>", parse_snippet("0", self.scenario.action_file)[0])

        def take() -> None:
            for text in self.scenario.held:
                if text.strip() == "rcu":
                    locks.acquire(self.interp, setup, "rcu", "rcu")
                    continue
                value = self.interp.eval(parse_snippet(text, self.scenario.action_file)[2], setup)
                locks.acquire(self.interp, setup, value, "spin")

        return _guarded(self.interp, setup.record, take)

    def assumption(self) -> str | None:
        """Why the world is not one the kernel can reach, or None."""
        for task in self.observed():
            value, reason = self.evaluate(
                f"<assume {task.label}>",
                self.scenario.assume,
                self.scenario.observe_file,
                {"t": Ptr(task)},
            )
            if reason is not None:
                return f"{task.label}: assumption unknown ({reason})"
            if not truth(value):
                return f"{task.label}: {self.scenario.assume} is false"
        return None

    def snapshot(self, step: str) -> None:
        """Read every counter after ``step`` and check the invariants on them."""
        values: dict[str, Slot] = {}
        for spec, series in zip(self.scenario.counters, self.counters, strict=True):
            value, _ = self.evaluate(
                f"<counter {spec.name} after {step}>", spec.value, spec.file, {}
            )
            number = value if isinstance(value, int) else None
            series.steps.append(step)
            series.values.append(number)
            if number is not None:
                values[spec.name] = number
        shown = ", ".join(f"{name} = {describe(v)}" for name, v in values.items())
        for invariant in self.scenario.invariants:
            result, reason = self.evaluate(
                f"<invariant after {step}>", invariant, self.scenario.action_file, values
            )
            failed = reason is None and not truth(result)
            if failed and all(v.invariant != invariant for v in self.violated):
                # The first step it fails at; later steps usually only repeat it.
                self.violated.append(InvariantFailure(invariant, step, shown))

    def observed(self) -> list[Obj]:
        if not self.scenario.observe_tasks:
            return list(self.world.tasks)
        return WorldBuilder.tasks_named(self.world, self.scenario.observe_tasks)

    def observe(self, stopped: str | None) -> list[TaskOutcome]:
        source, _, expr = parse_snippet(self.scenario.observe, self.scenario.observe_file)
        per_task: list[TaskOutcome] = []
        for task in self.observed():
            values: list[tuple[str, str]] = []
            verdicts: list[bool | None] = []
            for term in _terms(expr):
                text = " ".join(text_of(term).split())
                frame = self.frame(f"<observe {task.label}: {text}>", source, {"t": Ptr(task)})
                self.interp.steps = 0
                result: list[bool] = []

                def evaluate(f: Frame = frame, n: Node = term, out: list[bool] = result) -> None:
                    out.append(truth(self.interp.eval(n, f)))

                reason = _guarded(self.interp, frame.record, evaluate)
                if reason is not None or not result:
                    values.append((text, "unknown"))
                    verdicts.append(None)
                else:
                    values.append((text, "true" if result[0] else "false"))
                    verdicts.append(result[0])
            if stopped is not None or (None in verdicts and False not in verdicts):
                holds: bool | None = None
            else:
                holds = all(v is True for v in verdicts)
            details = ", ".join(f"{text} = {value}" for text, value in values)
            per_task.append(TaskOutcome(task.label, holds, details, values))
        return per_task

    def warnings(self) -> list[str]:
        found = []
        for event in self.world.events:
            if event.kind in _WARNING_KINDS:
                where = f" in {event.function}" if event.function else ""
                found.append(f"{event.kind}: {event.detail}{where}")
        return list(dict.fromkeys(found))


def make_interpreter(
    resolver: Resolver,
    scenario: Scenario,
    primitives: Primitives,
    trace: bool = False,
    max_depth: int = 40,
) -> Interpreter:
    """The world and interpreter of one run (``Stop`` if the world cannot be built)."""
    constants, macros = resolver.tables(primitives.headers() + scenario.context_files)
    world: World = WorldBuilder(primitives, constants, resolver.defined).build(scenario)
    return Interpreter(
        world,
        resolver,
        primitives,
        constants,
        lambda text: parse_snippet(text)[2],
        budget=scenario.budget,
        max_depth=max_depth,
        trace=trace,
        macros=macros,
    )


def run_scenario(
    resolver: Resolver,
    scenario: Scenario,
    trace: bool = False,
    primitives: Primitives | None = None,
    max_depth: int = 40,
    check_assumption: bool = False,
) -> RunOutcome:
    """Build the scenario's world, run its actions, evaluate the observation per task."""
    prims = primitives or Primitives()
    try:
        interp = make_interpreter(resolver, scenario, prims, trace, max_depth)
    except Stop as stop:
        return RunOutcome(0, 0, [], [f"world: {stop.reason}"], stopped=stop.reason)
    run = _Run(interp, scenario)
    world = run.world
    stopped = run.take_locks()
    if stopped is None and check_assumption and scenario.assume:
        excluded = run.assumption()
        if excluded is not None:
            return RunOutcome(0, 0, [], run.warnings(), excluded=excluded)
    action_steps = 0
    if stopped is None:
        stopped = run.statements(
            "<action>", scenario.action, scenario.action_file, {}, "the action"
        )
        action_steps = interp.steps
    if scenario.counters:
        run.snapshot("the action")
    scenario_current = world.current
    for index, each in enumerate(scenario.each_thread):
        for task in WorldBuilder.tasks_named(world, each.tasks):
            if stopped is not None:
                break
            step = task.label if index == 0 else f"{task.label}#{index + 1}"
            world.current = task
            interp.steps = 0
            stopped = run.statements(
                f"<each {step}>",
                each.action,
                each.action_file,
                {"t": Ptr(task)},
                f"{step}'s per-thread action",
            )
            if scenario.counters:
                run.snapshot(step)
    world.current = scenario_current
    per_task = run.observe(stopped)
    return RunOutcome(
        holds=sum(1 for t in per_task if t.holds),
        total=len(per_task),
        per_task=per_task,
        warnings=run.warnings(),
        stopped=stopped,
        unknown=sum(1 for t in per_task if t.holds is None),
        record=interp.root,
        trace=interp.trace,
        woken=sorted(world.woken),
        steps=action_steps,
        counters=run.counters,
        violated=run.violated,
    )
