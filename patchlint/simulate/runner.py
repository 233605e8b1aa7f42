"""Running a scenario on one view of the tree, and comparing the before and after runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from patchlint.simulate.constants import ConstantResolver
from patchlint.simulate.interpreter import (
    CallRecord,
    Frame,
    Interpreter,
    Return,
    Signal,
    TraceStep,
    text_of,
)
from patchlint.simulate.macros import MacroTable
from patchlint.simulate.primitives import Primitives
from patchlint.simulate.resolve import Resolver, parse_snippet
from patchlint.simulate.scenario import Scenario, WorldBuilder
from patchlint.simulate.world import Ptr, Stop, World, describe, truth


@dataclass
class TaskOutcome:
    task: str
    holds: bool | None
    details: str
    terms: list[tuple[str, str]] = field(default_factory=list)


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "total": self.total,
            "unknown": self.unknown,
            "stopped": self.stopped,
            "per_task": [
                {"task": t.task, "holds": t.holds, "details": t.details} for t in self.per_task
            ],
            "warnings": list(self.warnings),
        }


@dataclass
class SimulationResult:
    scenario: str
    before: RunOutcome
    after: RunOutcome
    warnings: list[str]
    verdict: str
    difference: str
    explanation: list[str] = field(default_factory=list)
    question: str = ""
    trace_before: list[TraceStep] | None = None
    trace_after: list[TraceStep] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "question": self.question,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "warnings": list(self.warnings),
            "verdict": self.verdict,
            "difference": self.difference,
            "explanation": list(self.explanation),
        }
        for key, steps in (("trace_before", self.trace_before), ("trace_after", self.trace_after)):
            if steps is not None:
                out[key] = [asdict(s) for s in steps]
        return out


def _terms(node: Any) -> list[Any]:
    """Top-level conjuncts of the observation, so the report can say which one failed."""
    if node.type == "parenthesized_expression" and len(node.named_children) == 1:
        return _terms(node.named_children[0])
    if node.type == "binary_expression" and text_of(node.child_by_field_name("operator")) == "&&":
        return _terms(node.child_by_field_name("left")) + _terms(node.child_by_field_name("right"))
    return [node]


def _observed(world: World, scenario: Scenario) -> list[Any]:
    if not scenario.observe_tasks:
        return list(world.tasks)
    chosen = []
    for task in world.tasks:
        signal = task.get("signal")
        process = signal.obj.label.split(".")[0] if isinstance(signal, Ptr) else ""
        if task.label in scenario.observe_tasks or process in scenario.observe_tasks:
            chosen.append(task)
    return chosen


def _guarded(interp: Interpreter, record: CallRecord, run: Any) -> str | None:
    """Run ``run()``; a stop or an internal failure becomes a reason, never an exception."""
    try:
        run()
    except Stop as stop:
        record.stopped = stop.reason
        interp.world.record(
            stop.kind if stop.kind in ("budget", "recursion") else "unmodelled", None, stop.reason
        )
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


def run_scenario(
    resolver: Resolver,
    scenario: Scenario,
    trace: bool = False,
    primitives: Primitives | None = None,
    max_depth: int = 40,
) -> RunOutcome:
    """Build the scenario's world, run its action, evaluate the observation per task."""
    prims = primitives or Primitives()
    defined = resolver.defined
    headers = list(prims.data.get("constants", {}).get("headers", [])) + scenario.context_files
    constants = ConstantResolver(resolver.read, headers, defined)
    try:
        world = WorldBuilder(prims.data, constants, defined).build(scenario)
    except Stop as stop:
        return RunOutcome(0, 0, [], [f"world: {stop.reason}"], stopped=stop.reason)
    macros = MacroTable(resolver.read, resolver.includes, headers, defined)
    interp = Interpreter(
        world,
        resolver,
        prims,
        constants,
        lambda text: parse_snippet(text)[2],
        budget=scenario.budget,
        max_depth=max_depth,
        trace=trace,
        macros=macros,
    )
    env: dict[str, Any] = {task.label: Ptr(task) for task in world.tasks}

    def frame_for(name: str, source: Any, extra: dict[str, Any]) -> Frame:
        record = CallRecord(name, (), 0)
        interp.root.children.append(record)
        return Frame(name, source, {**env, **extra}, {}, record)

    setup = frame_for("<setup>", parse_snippet("0", scenario.action_file)[0], {})
    initial_locks = 0

    def take_locks() -> None:
        for text in scenario.held:
            value = interp.eval(parse_snippet(text, scenario.action_file)[2], setup)
            key = "rcu" if text.strip() == "rcu" else value
            prims.acquire(interp, setup, key, "rcu" if key == "rcu" else "spin")

    stopped = _guarded(interp, setup.record, take_locks)
    initial_locks = len(world.held)
    action_steps = 0
    if stopped is None:
        source, _, body = parse_snippet(scenario.action, scenario.action_file, kind="body")
        action = frame_for("<action>", source, {})
        interp.frames.append(action)
        stopped = _guarded(interp, action.record, lambda: interp.exec_block(body, action))
        interp.frames.pop()
        action_steps = interp.steps
        for _, label, _ in world.held[initial_locks:]:
            world.record("violation", None, f"{label} still held when the action returned")

    source, _, expr = parse_snippet(scenario.observe, scenario.observe_file)
    per_task: list[TaskOutcome] = []
    for task in _observed(world, scenario):
        values: list[tuple[str, str]] = []
        verdicts: list[bool | None] = []
        for term in _terms(expr):
            text = " ".join(text_of(term).split())
            frame = frame_for(f"<observe {task.label}: {text}>", source, {"t": Ptr(task)})
            interp.steps = 0
            result: list[Any] = []

            def evaluate(f: Frame = frame, n: Any = term, out: list[Any] = result) -> None:
                out.append(truth(interp.eval(n, f)))

            reason = _guarded(interp, frame.record, evaluate)
            if reason is not None or not result:
                values.append((text, "unknown"))
                verdicts.append(None)
            else:
                values.append((text, "true" if result[0] else "false"))
                verdicts.append(bool(result[0]))
        if stopped is not None or (None in verdicts and False not in verdicts):
            holds: bool | None = None
        else:
            holds = all(v is True for v in verdicts)
        details = ", ".join(f"{text} = {value}" for text, value in values)
        per_task.append(TaskOutcome(task.label, holds, details, values))

    warnings = []
    for event in world.events:
        if event.kind in ("warn", "violation", "unmodelled", "budget", "recursion", "symbolic"):
            where = f" in {event.function}" if event.function else ""
            warnings.append(f"{event.kind}: {event.detail}{where}")
    return RunOutcome(
        holds=sum(1 for t in per_task if t.holds),
        total=len(per_task),
        per_task=per_task,
        warnings=list(dict.fromkeys(warnings)),
        stopped=stopped,
        unknown=sum(1 for t in per_task if t.holds is None),
        record=interp.root,
        trace=interp.trace,
        woken=sorted(world.woken),
        steps=action_steps,
    )


def simulate_patch(
    pre_resolver: Resolver, post_resolver: Resolver, scenario: Scenario, trace: bool = False
) -> SimulationResult:
    """Run ``scenario`` on the before and after views and explain the difference."""
    from patchlint.simulate.difference import explain

    before = run_scenario(pre_resolver, scenario, trace=trace)
    after = run_scenario(post_resolver, scenario, trace=trace)
    verdict, difference, explanation = explain(scenario, before, after)
    warnings = [f"before: {w}" for w in before.warnings if w not in after.warnings]
    warnings += [f"after: {w}" for w in after.warnings if w not in before.warnings]
    warnings += [w for w in after.warnings if w in before.warnings]
    return SimulationResult(
        scenario=scenario.name,
        before=before,
        after=after,
        warnings=warnings,
        verdict=verdict,
        difference=difference,
        explanation=explanation,
        question=scenario.question,
        trace_before=before.trace if trace else None,
        trace_after=after.trace if trace else None,
    )


__all__ = [
    "RunOutcome",
    "SimulationResult",
    "TaskOutcome",
    "describe",
    "run_scenario",
    "simulate_patch",
]
