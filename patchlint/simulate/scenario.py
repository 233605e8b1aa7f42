"""Scenarios (rules/scenarios/*.toml): a world, an action, a per-task observation.

Keys of a scenario file:

* ``name``, ``summary``, ``question`` (what the count means, for the report);
* ``action``: C statements run first, e.g. ``"mark_oom_victim(T0);"``; task labels
  are variables; ``action_file`` is the file the action is compiled in (so static
  functions such as ``mark_oom_victim`` resolve);
* ``observe``: a C expression evaluated per observed task with ``t`` bound to it;
  it may call kernel functions and the ``woken``/``running`` primitives; its
  top-level ``&&`` terms are reported separately; ``observe_file`` as above;
* ``observe_tasks``: process names or task labels (default: every task);
* ``exercises``: functions whose change (or whose callees' change) selects it;
* ``current``: label of the task ``current`` names; ``held``: lock expressions
  (``"&T1->sighand->siglock"``, ``"rcu"``) held when the action starts;
* ``[globals]``: overrides of the globals in primitives.toml;
* ``[freezers.NAME]``: cgroup v1 freezers (``state``); a process joins one with
  ``freezer = "NAME"`` (default: the root freezer, never freezing);
* ``[[process]]``: ``name``, ``threads``, ``names``, ``kernel_thread`` and task
  fields for every thread (``state`` is ``__state``, ``flags``, ``saved_state``,
  ``thread_flags``), per-thread ``overrides = { T1 = { ... } }``;
* ``context_files``: extra files searched for constants (e.g. an enum in a .c file);
* ``budget``: the step budget of each run.

A scenario names constants (``TASK_FROZEN``, ``PF_KTHREAD``) rather than
numbers; they are resolved from the tree when the world is built, so the world
follows the kernel's own definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patchlint.knowledge import data_dir, load_toml
from patchlint.simulate.world import Obj, Ptr, Stop, World


@dataclass
class ProcessSpec:
    name: str
    threads: int
    names: list[str]
    fields: dict[str, Any]
    overrides: dict[str, dict[str, Any]]
    freezer: str | None
    kernel_thread: bool


@dataclass
class Scenario:
    name: str
    summary: str
    question: str
    action: str
    action_file: str
    observe: str
    observe_file: str
    observe_tasks: list[str]
    exercises: list[str]
    current: str
    held: list[str]
    globals: dict[str, Any]
    processes: list[ProcessSpec]
    freezers: dict[str, dict[str, Any]]
    context_files: list[str]
    budget: int = 20000
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Scenario:
        processes = []
        for spec in data.get("process", []):
            count = int(spec.get("threads", 1))
            names = list(spec.get("names", []))
            reserved = {"name", "threads", "names", "overrides", "freezer", "kernel_thread"}
            processes.append(
                ProcessSpec(
                    name=spec["name"],
                    threads=count,
                    names=names,
                    fields={k: v for k, v in spec.items() if k not in reserved},
                    overrides=dict(spec.get("overrides", {})),
                    freezer=spec.get("freezer"),
                    kernel_thread=bool(spec.get("kernel_thread")),
                )
            )
        observe_tasks = data.get("observe_tasks", [])
        if isinstance(observe_tasks, str):
            observe_tasks = [observe_tasks]
        return cls(
            name=data["name"],
            summary=data.get("summary", ""),
            question=data.get("question", "tasks for which the observation holds"),
            action=data["action"],
            action_file=data.get("action_file", ""),
            observe=data["observe"],
            observe_file=data.get("observe_file", ""),
            observe_tasks=list(observe_tasks),
            exercises=list(data.get("exercises", [])),
            current=data.get("current", ""),
            held=list(data.get("held", [])),
            globals=dict(data.get("globals", {})),
            processes=processes,
            freezers=dict(data.get("freezers", {})),
            context_files=list(data.get("context_files", [])),
            budget=int(data.get("budget", 20000)),
            data=data,
        )


def load_scenarios() -> list[Scenario]:
    """Every scenario shipped under rules/scenarios/, sorted by name."""
    scenarios = []
    for path in sorted((data_dir() / "scenarios").glob("*.toml")):
        scenarios.append(Scenario.from_data(load_toml(f"scenarios/{path.name}")))
    return sorted(scenarios, key=lambda s: s.name)


# -- building the world ---------------------------------------------------------


class WorldBuilder:
    """Builds a fresh ``World`` for one run of a scenario."""

    def __init__(
        self, primitives_data: dict[str, Any], constants: Any, config: frozenset[str]
    ) -> None:
        self.data = primitives_data
        self.constants = constants
        self.config = config

    def value(self, spec: Any, context: list[str]) -> Any:
        """A field value: constant names (or lists of them, OR-ed) become numbers."""
        if isinstance(spec, bool):
            return int(spec)
        if isinstance(spec, str):
            found = self.constants.lookup(spec, context)
            if found is None:
                evaluated = self.constants.evaluate(spec)
                if evaluated is None:
                    raise Stop(f"scenario constant {spec} not found in the tree", kind="error")
                return evaluated
            return found
        if isinstance(spec, list) and all(isinstance(v, str) for v in spec):
            total = 0
            for name in spec:
                total |= self.value(name, context)
            return total
        return spec

    def build(self, scenario: Scenario) -> World:
        context = list(scenario.context_files)
        world = World(defaults=dict(self.data.get("types", {})), config=self.config)
        for name, spec in {**self.data.get("globals", {}), **scenario.globals}.items():
            if isinstance(spec, dict) and "struct" in spec:
                obj = world.materialise(spec, name)
                world.globals[name] = obj
            else:
                world.globals[name] = self.value(spec, context)
        freezers = {"root": world.new("freezer", "root-freezer")}
        for name, spec in scenario.freezers.items():
            freezer = freezers.get(name) or world.new("freezer", f"freezer:{name}")
            for key, value in spec.items():
                freezer.set(key, self.value(value, context))
            freezers[name] = freezer
        pid = 100
        for process in scenario.processes:
            signal = world.new("signal_struct", f"{process.name}.signal")
            sighand = world.new("sighand_struct", f"{process.name}.sighand")
            mm = 0 if process.kernel_thread else Ptr(world.new("mm_struct", f"{process.name}.mm"))
            threads: list[Obj] = []
            for index in range(process.threads):
                label = (
                    process.names[index]
                    if index < len(process.names)
                    else f"{process.name[0]}{len(world.tasks)}"
                )
                task = world.new("task_struct", label)
                task.set("pid", pid)
                task.set("tgid", threads[0].get("pid") if threads else pid)
                task.set("comm", process.fields.get("comm", process.name))
                pid += 1
                fields = {**process.fields, **process.overrides.get(label, {})}
                self.set_task_fields(task, fields, context)
                task.set("signal", Ptr(signal))
                task.set("sighand", Ptr(sighand))
                task.set("mm", mm)
                freezer = freezers.get(process.freezer or "root")
                if freezer is None:
                    raise Stop(f"scenario freezer {process.freezer} not declared", kind="error")
                task.set("freezer", Ptr(freezer))
                threads.append(task)
                world.tasks.append(task)
            for task in threads:
                task.set("group_leader", Ptr(threads[0]))
            signal.set("thread_list", [Ptr(t) for t in threads])
            signal.set("nr_threads", len(threads))
            signal.set("curr_target", Ptr(threads[0]) if threads else 0)
        if scenario.current:
            world.current = world.task(scenario.current)
        return world

    def set_task_fields(self, task: Obj, fields: dict[str, Any], context: list[str]) -> None:
        for key, spec in fields.items():
            if key == "state":
                task.set("__state", self.value(spec, context))
            elif key == "thread_flags":
                word = 0
                for name in spec:
                    word |= 1 << self.value(name, context)
                task.get("thread_info").set("flags", word)
            elif key == "comm":
                task.set("comm", spec)
            else:
                task.set(key, self.value(spec, context))
