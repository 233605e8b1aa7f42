"""Building a fresh ``World`` from a scenario for one run.

Constant names in the scenario (``TASK_FROZEN``, ``["PF_KTHREAD", "PF_NOFREEZE"]``)
are resolved from the tree, so the world follows the kernel's own definitions.
"""

from __future__ import annotations

from patchlint.simulate.constants import ConstantResolver
from patchlint.simulate.primitives import Primitives
from patchlint.simulate.scenario import ProcessSpec, Scenario
from patchlint.simulate.world import Obj, Ptr, Stop, TomlTable, TomlValue, Value, World, as_int


class WorldBuilder:
    """Builds a fresh ``World`` for one run of a scenario."""

    def __init__(
        self, primitives: Primitives, constants: ConstantResolver, config: frozenset[str]
    ) -> None:
        self.primitives = primitives
        self.constants = constants
        self.config = config

    def value(self, spec: TomlValue, context: list[str]) -> Value:
        """A field value: constant names (or lists of them, OR-ed) become numbers."""
        if isinstance(spec, bool):
            return int(spec)
        if isinstance(spec, str):
            found = self.constants.lookup(spec, context)
            if found is None:
                found = self.constants.evaluate(spec)
            if found is None:
                raise Stop(f"scenario constant {spec} not found in the tree", kind="error")
            return found
        if isinstance(spec, list) and all(isinstance(v, str) for v in spec):
            total = 0
            for name in spec:
                total |= as_int(self.value(name, context), "scenario flags")
            return total
        if isinstance(spec, int):
            return spec
        raise Stop(f"scenario value {spec!r} cannot be modelled", kind="error")

    def build(self, scenario: Scenario) -> World:
        context = list(scenario.context_files)
        world = World(defaults=self.primitives.types(), config=self.config)
        for name, spec in {**self.primitives.globals(), **scenario.globals}.items():
            if isinstance(spec, dict) and "struct" in spec:
                world.globals[name] = world.materialise(spec, name)
            else:
                world.globals[name] = self.value(spec, context)
        freezers = {"root": world.new("freezer", "root-freezer")}
        for name, table in scenario.freezers.items():
            freezer = freezers.get(name) or world.new("freezer", f"freezer:{name}")
            for key, value in table.items():
                freezer.set(key, self.value(value, context))
            freezers[name] = freezer
        pid = 100
        for process in scenario.processes:
            pid = self.add_process(world, process, freezers, context, pid)
        for queue, waiters in scenario.wait_queues.items():
            head = world.globals.get(queue)
            if not isinstance(head, Obj):
                raise Stop(f"wait queue {queue} is not a global object", kind="error")
            head.set("waiters", [Ptr(t) for t in self.tasks_named(world, waiters)])
        if scenario.current:
            world.current = world.task(scenario.current)
        return world

    def add_process(
        self,
        world: World,
        process: ProcessSpec,
        freezers: dict[str, Obj],
        context: list[str],
        pid: int,
    ) -> int:
        signal = world.new("signal_struct", f"{process.name}.signal")
        sighand = world.new("sighand_struct", f"{process.name}.sighand")
        mm: Value = 0
        if not process.kernel_thread:
            mm_obj = world.new("mm_struct", f"{process.name}.mm")
            # Every thread holds an mm_users reference (copy_mm() with CLONE_VM).
            users = world.new("atomic", f"{process.name}.mm.mm_users")
            users.set("counter", process.threads + process.mm_extra_users)
            mm_obj.set("mm_users", users)
            mm = Ptr(mm_obj)
        freezer = freezers.get(process.freezer or "root")
        if freezer is None:
            raise Stop(f"scenario freezer {process.freezer} not declared", kind="error")
        comm = process.fields.get("comm", process.name)
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
            task.set("comm", comm if isinstance(comm, str) else process.name)
            pid += 1
            self.set_task_fields(
                task, {**process.fields, **process.overrides.get(label, {})}, context
            )
            task.set("signal", Ptr(signal))
            task.set("sighand", Ptr(sighand))
            task.set("mm", mm)
            task.set("active_mm", mm)
            task.set("freezer", Ptr(freezer))
            threads.append(task)
            world.tasks.append(task)
            world.process_of[label] = process.name
        for task in threads:
            task.set("group_leader", Ptr(threads[0]))
        signal.set("thread_list", [Ptr(t) for t in threads])
        signal.set("nr_threads", len(threads))
        signal.set("curr_target", Ptr(threads[0]) if threads else 0)
        return pid

    def set_task_fields(self, task: Obj, fields: TomlTable, context: list[str]) -> None:
        for key, spec in fields.items():
            if key == "state":
                task.set("__state", self.value(spec, context))
            elif key == "thread_flags":
                word = 0
                for name in spec if isinstance(spec, list) else [spec]:
                    word |= 1 << as_int(self.value(name, context), "thread flag")
                task.child("thread_info").set("flags", word)
            elif key == "comm":
                task.set("comm", str(spec))
            else:
                task.set(key, self.value(spec, context))

    @staticmethod
    def tasks_named(world: World, names: tuple[str, ...] | list[str]) -> list[Obj]:
        """Tasks by label or by process name, in world order."""
        return [
            task
            for task in world.tasks
            if task.label in names or world.process_of.get(task.label) in names
        ]
