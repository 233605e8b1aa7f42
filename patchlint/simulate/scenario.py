"""Scenarios (rules/scenarios/*.toml): a world, actions, and what to observe.

A scenario file describes one small world (processes, threads, freezers,
globals), the C run on it and what is observed afterwards; every key is
documented in docs/architecture.md ("How to add a scenario") and checked here
at load time, so a bad file gives an error naming the file, the key and the
line.  Keys in short:

* ``action`` (+ ``action_file``): C statements run first, task labels are variables;
* ``[[each_thread]]``: C run on every thread of the listed processes in turn, with
  ``current`` (and ``t``) that thread, e.g. ``exit_mm();``;
* ``observe`` (+ ``observe_file``, ``observe_tasks``): a C expression per observed
  task ``t``; its top-level ``&&`` terms are reported separately;
* ``[[counter]]``: global values (``atomic_read(&oom_victims)``) read after the
  action and after every per-thread step; ``invariants``: C conditions over the
  counters that must hold at every step;
* ``[[range]]``: axes of a divergence search (thread counts, flag, freezer, PM and
  cgroup states); ``assume`` keeps only the worlds the kernel can reach;
* ``[[expect]]``: the results the test suite checks (not used at run time).

A scenario names constants (``TASK_FROZEN``, ``PF_KTHREAD``) rather than numbers;
they are resolved from the tree when the world is built.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields

from patchlint.knowledge import data_dir, load_toml
from patchlint.simulate.world import TomlTable, TomlValue
from patchlint.validate import locate_in_text, validate_data


class ScenarioError(ValueError):
    """A scenario file that cannot be used: names the file, the key and the line."""

    def __init__(self, path: str, key: str, message: str, line: int = 0) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {key}: {message}")
        self.path = path
        self.key = key
        self.line = line


_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class _Reader:
    """Typed access to one TOML table, with errors that locate the bad key."""

    def __init__(self, data: Mapping[str, TomlValue], path: str, prefix: str, text: str) -> None:
        self.data = data
        self.path = path
        self.prefix = prefix
        self.source = text

    def error(self, key: str, message: str) -> ScenarioError:
        full = f"{self.prefix}{key}"
        path: list[str | int] = [
            int(index) if index else name for name, index in _KEY_PART.findall(full)
        ]
        line = locate_in_text(self.source, path) if self.source else None
        return ScenarioError(self.path, full, message, line or 0)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, "required" if value is None else "must be a string")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, "must be an integer")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        return tuple(str(v) for v in value)

    def table(self, key: str) -> TomlTable:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return value

    def tables(self, key: str) -> list[_Reader]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, "must be an array of tables ([[...]])")
        return [
            _Reader(v, self.path, f"{self.prefix}{key}[{i}].", self.source)
            for i, v in enumerate(value)
            if isinstance(v, dict)
        ]

    def only(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.error(key, f"unknown key (known: {', '.join(sorted(allowed))})")


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    threads: int
    names: tuple[str, ...]
    fields: TomlTable
    overrides: dict[str, TomlTable]
    freezer: str | None
    kernel_thread: bool
    # Holders of the mm other than the threads (a /proc reader, a vfork parent).
    mm_extra_users: int = 0


@dataclass(frozen=True)
class ThreadAction:
    """``[[each_thread]]``: C run once per thread, that thread being ``current``."""

    tasks: tuple[str, ...]
    action: str
    action_file: str


@dataclass(frozen=True)
class Counter:
    """``[[counter]]``: a global value read after the action and after every step."""

    name: str
    value: str
    file: str


@dataclass(frozen=True)
class Axis:
    """``[[range]]``: one dimension of the divergence search."""

    name: str
    keys: tuple[str, ...]
    # One entry per point of the axis, one value per key.
    values: tuple[tuple[TomlValue, ...], ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Expectation:
    """``[[expect]]``: what the test suite checks for one patch fixture (or the tree).

    ``patch`` names a file of fixtures/simulate/ (empty: the unpatched tree, run as
    both views).  Every other field is optional and checked only when given:
    ``before``/``after``/``total`` counts, ``difference`` substrings of the
    difference or explanation, ``warnings`` count, tasks ``holding_*``, counter
    series ``counters_*``, invariants ``violated_*``, and the divergence search's
    ``explored``/``excluded``/``differing`` counts and ``differing_worlds``
    (substrings of differing worlds' descriptions, each matching one world).
    """

    patch: str
    before: int | None = None
    after: int | None = None
    total: int | None = None
    difference: tuple[str, ...] = ()
    warnings: int | None = None
    holding_before: tuple[str, ...] | None = None
    holding_after: tuple[str, ...] | None = None
    counters_before: dict[str, tuple[int, ...]] = field(default_factory=dict)
    counters_after: dict[str, tuple[int, ...]] = field(default_factory=dict)
    violated_before: tuple[str, ...] | None = None
    violated_after: tuple[str, ...] | None = None
    explored: int | None = None
    excluded: int | None = None
    differing: int | None = None
    differing_worlds: tuple[str, ...] = ()


_PROCESS_KEYS = {"name", "threads", "names", "overrides", "freezer", "kernel_thread"}
_PROCESS_KEYS |= {"mm_extra_users"}
_TOP_KEYS = {
    "name",
    "summary",
    "question",
    "action",
    "action_file",
    "observe",
    "observe_file",
    "observe_tasks",
    "exercises",
    "current",
    "held",
    "globals",
    "freezers",
    "process",
    "context_files",
    "budget",
    "each_thread",
    "counter",
    "invariants",
    "wait_queues",
    "range",
    "assume",
    "max_worlds",
    "expect",
}


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
    globals: TomlTable
    processes: list[ProcessSpec]
    freezers: dict[str, TomlTable]
    context_files: list[str]
    budget: int = 20000
    each_thread: list[ThreadAction] = field(default_factory=list)
    counters: list[Counter] = field(default_factory=list)
    invariants: list[str] = field(default_factory=list)
    wait_queues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: list[Axis] = field(default_factory=list)
    assume: str = ""
    max_worlds: int = 512
    expectations: list[Expectation] = field(default_factory=list)
    path: str = ""
    data: TomlTable = field(default_factory=dict, repr=False)
    text: str = field(default="", repr=False)

    @classmethod
    def from_data(cls, data: TomlTable, path: str = "<scenario>", text: str = "") -> Scenario:
        """Check and convert one scenario's data; ``ScenarioError`` names what is wrong."""
        top = _Reader(data, path, "", text)
        top.only(_TOP_KEYS)
        action_file = top.text("action_file", "")
        processes = [_process(reader) for reader in top.tables("process")]
        freezers: dict[str, TomlTable] = {}
        for name, spec in top.table("freezers").items():
            if not isinstance(spec, dict):
                raise top.error(f"freezers.{name}", "must be a table")
            freezers[name] = spec
        queue_reader = _Reader(top.table("wait_queues"), path, "wait_queues.", text)
        queues = {name: queue_reader.texts(name) for name in queue_reader.data}
        scenario = cls(
            name=top.text("name"),
            summary=top.text("summary", ""),
            question=top.text("question", "tasks for which the observation holds"),
            action=top.text("action"),
            action_file=action_file,
            observe=top.text("observe", "1"),
            observe_file=top.text("observe_file", action_file),
            observe_tasks=list(top.texts("observe_tasks")),
            exercises=list(top.texts("exercises")),
            current=top.text("current", ""),
            held=list(top.texts("held")),
            globals=top.table("globals"),
            processes=processes,
            freezers=freezers,
            context_files=list(top.texts("context_files")),
            budget=top.integer("budget", 20000),
            each_thread=[_thread_action(r, action_file) for r in top.tables("each_thread")],
            counters=[_counter(r, action_file) for r in top.tables("counter")],
            invariants=list(top.texts("invariants")),
            wait_queues=queues,
            ranges=[_axis(r) for r in top.tables("range")],
            assume=top.text("assume", ""),
            max_worlds=top.integer("max_worlds", 512),
            expectations=[_expectation(r) for r in top.tables("expect")],
            path=path,
            data=data,
            text=text,
        )
        scenario.check_references(top)
        return scenario

    def check_references(self, top: _Reader) -> None:
        """Names used in one part of the file must exist in another."""
        labels: set[str] = set()
        count = 0
        for process in self.processes:
            labels.update(_labels(process, count))
            count += process.threads
        processes = {process.name for process in self.processes}
        known = labels | processes
        for key, names in (
            ("observe_tasks", self.observe_tasks),
            *((f"each_thread[{i}].tasks", list(a.tasks)) for i, a in enumerate(self.each_thread)),
            *((f"wait_queues.{q}", list(t)) for q, t in self.wait_queues.items()),
        ):
            for name in names:
                if name not in known:
                    raise top.error(key, f"no process or task {name!r} in the scenario")
        if self.current and self.current not in labels:
            raise top.error("current", f"no task {self.current!r} in the scenario")
        for process in self.processes:
            if process.freezer not in (None, "root") and process.freezer not in self.freezers:
                raise top.error(
                    "process", f"{process.name}: freezer {process.freezer!r} not declared"
                )
        scratch = copy.deepcopy(self.data) if self.ranges else {}
        for index, axis in enumerate(self.ranges):
            for key in axis.keys:
                try:
                    _locate(scratch, key)
                except KeyError as error:
                    raise top.error(f"range[{index}].key", str(error.args[0])) from None
        base = {k: v for k, v in self.data.items() if k not in ("range", "expect")}
        for index, axis in enumerate(self.ranges):
            # Each point on its own must give a valid scenario (combinations are
            # checked when the search builds them).
            for point, values in enumerate(axis.values):
                data = copy.deepcopy(base)
                for key, value in zip(axis.keys, values, strict=True):
                    container, last = _locate(data, key)
                    container[last] = copy.deepcopy(value)
                try:
                    Scenario.from_data(data, self.path, self.text)
                except ScenarioError as error:
                    problem = str(error).split(": ", 1)[-1]
                    raise top.error(
                        f"range[{index}].values", f"value {point + 1}: {problem}"
                    ) from None

    # -- divergence search ---------------------------------------------------------
    def world_count(self) -> int:
        count = 1
        for axis in self.ranges:
            count *= len(axis.values)
        return count

    def worlds(self) -> Iterator[tuple[dict[str, str], Scenario | ScenarioError]]:
        """Every world of the ranges' product: (axis name -> label, the fixed scenario, or
        why that combination of values gives none)."""
        base = {k: v for k, v in self.data.items() if k not in ("range", "expect")}
        for point in itertools.product(*(range(len(axis.values)) for axis in self.ranges)):
            data = copy.deepcopy(base)
            description: dict[str, str] = {}
            for axis, index in zip(self.ranges, point, strict=True):
                for key, value in zip(axis.keys, axis.values[index], strict=True):
                    container, last = _locate(data, key)
                    container[last] = copy.deepcopy(value)
                description[axis.name] = axis.labels[index]
            try:
                yield description, Scenario.from_data(data, self.path, self.text)
            except ScenarioError as error:
                yield description, error


def _labels(process: ProcessSpec, before: int) -> list[str]:
    """Thread labels as the world builder gives them (``before`` tasks already exist)."""
    return [
        process.names[i] if i < len(process.names) else f"{process.name[0]}{before + i}"
        for i in range(process.threads)
    ]


def _process(reader: _Reader) -> ProcessSpec:
    overrides: dict[str, TomlTable] = {}
    for label, spec in reader.table("overrides").items():
        if not isinstance(spec, dict):
            raise reader.error(f"overrides.{label}", "must be a table")
        overrides[label] = spec
    threads = reader.integer("threads", 1)
    if not 1 <= threads <= 64:
        raise reader.error("threads", "must be between 1 and 64")
    freezer = reader.data.get("freezer")
    if freezer is not None and not isinstance(freezer, str):
        raise reader.error("freezer", "must be a string")
    return ProcessSpec(
        name=reader.text("name"),
        threads=threads,
        names=reader.texts("names"),
        fields={k: v for k, v in reader.data.items() if k not in _PROCESS_KEYS},
        overrides=overrides,
        freezer=freezer,
        kernel_thread=reader.flag("kernel_thread"),
        mm_extra_users=reader.integer("mm_extra_users", 0),
    )


def _thread_action(reader: _Reader, action_file: str) -> ThreadAction:
    reader.only({"tasks", "action", "action_file"})
    tasks = reader.texts("tasks")
    if not tasks:
        raise reader.error("tasks", "names no process or task")
    return ThreadAction(tasks, reader.text("action"), reader.text("action_file", action_file))


def _counter(reader: _Reader, action_file: str) -> Counter:
    reader.only({"name", "value", "file"})
    name = reader.text("name")
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise reader.error("name", "must be a C identifier (invariants use it as a variable)")
    return Counter(name, reader.text("value"), reader.text("file", action_file))


def _axis(reader: _Reader) -> Axis:
    reader.only({"name", "key", "keys", "values", "labels"})
    if "key" in reader.data:
        keys: tuple[str, ...] = (reader.text("key"),)
    else:
        keys = reader.texts("keys")
    if not keys:
        raise reader.error("key", "an axis needs `key` or `keys`")
    raw = reader.data.get("values")
    if not isinstance(raw, list) or not raw:
        raise reader.error("values", "must be a non-empty list")
    values: list[tuple[TomlValue, ...]] = []
    for value in raw:
        if len(keys) == 1:
            values.append((value,))
        elif isinstance(value, list) and len(value) == len(keys):
            values.append(tuple(value))
        else:
            raise reader.error("values", f"each value must list {len(keys)} items, one per key")
    labels = reader.texts("labels") or tuple(_label(v) for v in values)
    if len(labels) != len(values):
        raise reader.error("labels", f"{len(labels)} labels for {len(values)} values")
    return Axis(reader.text("name", keys[0]), keys, tuple(values), labels)


def _label(value: tuple[TomlValue, ...]) -> str:
    def one(item: TomlValue) -> str:
        if isinstance(item, list):
            return "|".join(one(i) for i in item) or "0"
        if isinstance(item, bool):
            return "true" if item else "false"
        return str(item)

    return ", ".join(one(v) for v in value)


def _expectation(reader: _Reader) -> Expectation:
    reader.only({f.name for f in fields(Expectation)})

    def optional_int(key: str) -> int | None:
        return reader.integer(key, 0) if key in reader.data else None

    def series(key: str) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for name, values in reader.table(key).items():
            if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
                raise reader.error(f"{key}.{name}", "must be a list of integers")
            out[name] = tuple(int(v) for v in values if isinstance(v, int))
        return out

    def optional_strs(key: str) -> tuple[str, ...] | None:
        return reader.texts(key) if key in reader.data else None

    return Expectation(
        patch=reader.text("patch", ""),
        before=optional_int("before"),
        after=optional_int("after"),
        total=optional_int("total"),
        difference=reader.texts("difference"),
        warnings=optional_int("warnings"),
        holding_before=optional_strs("holding_before"),
        holding_after=optional_strs("holding_after"),
        counters_before=series("counters_before"),
        counters_after=series("counters_after"),
        violated_before=optional_strs("violated_before"),
        violated_after=optional_strs("violated_after"),
        explored=optional_int("explored"),
        excluded=optional_int("excluded"),
        differing=optional_int("differing"),
        differing_worlds=reader.texts("differing_worlds"),
    )


def _locate(data: TomlTable, key: str) -> tuple[TomlTable, str]:
    """The table holding the last part of a dotted key; ``process.P0`` picks by name."""
    parts = key.split(".")
    current: TomlValue = data
    for part in parts[:-1]:
        if isinstance(current, list):
            named = [t for t in current if isinstance(t, dict) and t.get("name") == part]
            if not named:
                raise KeyError(f"{key}: no entry named {part!r}")
            current = named[0]
        elif isinstance(current, dict):
            if part not in current:
                current[part] = {}
            current = current[part]
        else:
            raise KeyError(f"{key}: {part!r} is not a table")
    if not isinstance(current, dict):
        raise KeyError(f"{key}: {parts[-2] if len(parts) > 1 else key!r} is not a table")
    return current, parts[-1]


def load_scenarios() -> list[Scenario]:
    """Every scenario shipped under rules/scenarios/, sorted by name.

    Each file is checked against rules/schemas/scenarios.schema.json (``DataError``)
    and then for what a schema cannot say, such as a task label used but never
    declared (``ScenarioError``); both name the file, the key and the line.
    """
    scenarios = []
    for path in sorted((data_dir() / "scenarios").glob("*.toml")):
        relative = f"scenarios/{path.name}"
        data = load_toml(relative)
        validate_data(data, "scenarios", path)
        text = path.read_text(encoding="utf-8")
        scenarios.append(Scenario.from_data(data, str(path), text))
    return sorted(scenarios, key=lambda s: s.name)
