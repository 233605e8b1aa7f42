"""The modelled world: kernel objects as plain data, and the values the interpreter moves.

Objects are untyped bags of fields with a type name, so the interpreter can run
real kernel code against them without knowing struct layouts.  A field that was
never set falls back to the per-type default declared in
``rules/simulate/primitives.toml``; a field with no declared default stops the
run rather than being guessed.

``Value`` is everything a C expression can evaluate to in a run: integers (C
``bool`` and ``char`` included), string literals, ``None`` for the result of a
``void`` call, objects, pointers of the four kinds below, functions named by
``FuncRef`` and arrays (Python lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias


class Stop(Exception):  # noqa: N818 - it is a control signal, not an error class
    """The run cannot continue without guessing; ``reason`` says what was missing."""

    def __init__(self, reason: str, kind: str = "unmodelled") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


# What TOML data (primitives.toml, scenario files) can hold.
TomlValue: TypeAlias = "str | int | float | bool | list[TomlValue] | dict[str, TomlValue]"
TomlTable: TypeAlias = "dict[str, TomlValue]"


class Obj:
    """One kernel object (a task, a signal struct, a lock ...)."""

    __slots__ = ("type", "fields", "label", "parent", "world")

    def __init__(self, type_name: str, label: str, fields: dict[str, Value] | None = None) -> None:
        self.type = type_name
        self.label = label
        self.fields: dict[str, Value] = dict(fields or {})
        # (owner, field) when embedded, so container_of can walk back out.
        self.parent: tuple[Obj, str] | None = None
        self.world: World | None = None

    def get(self, name: str) -> Value:
        if name in self.fields:
            return self.fields[name]
        if self.world is None:
            raise Stop(f"field {self.type}.{name} not modelled")
        value = self.world.default_field(self, name)
        self.fields[name] = value
        return value

    def set(self, name: str, value: Value) -> None:
        if isinstance(value, Obj) and value.parent is None:
            value.parent = (self, name)
        self.fields[name] = value

    def child(self, name: str) -> Obj:
        """An embedded object field (``task->thread_info``), or a stop naming it."""
        value = self.get(name)
        if isinstance(value, Obj):
            return value
        if isinstance(value, Ptr):
            return value.obj
        raise Stop(f"{self.label}.{name} is not an object", kind="error")

    def __repr__(self) -> str:
        return f"<{self.type} {self.label}>"


# --- pointers and lvalues -------------------------------------------------
# A C pointer is modelled as a location; `Ptr` points at a whole object.


@dataclass(frozen=True, eq=False)
class Ptr:
    obj: Obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ptr) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def load(self) -> Value:
        return self.obj

    def store(self, value: Value) -> None:
        raise Stop(f"store of a whole {self.obj.type} object")

    def describe(self) -> str:
        return self.obj.label


@dataclass(frozen=True, eq=False)
class FieldLoc:
    obj: Obj
    name: str

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldLoc) and other.obj is self.obj and other.name == self.name

    def __hash__(self) -> int:
        return hash((id(self.obj), self.name))

    def load(self) -> Value:
        return self.obj.get(self.name)

    def store(self, value: Value) -> None:
        self.obj.set(self.name, value)

    def describe(self) -> str:
        return f"{self.obj.label}.{self.name}"


@dataclass(frozen=True, eq=False)
class ElemLoc:
    array: list[Value]
    index: int
    label: str

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ElemLoc) and other.array is self.array and other.index == self.index
        )

    def __hash__(self) -> int:
        return hash((id(self.array), self.index))

    def load(self) -> Value:
        if not 0 <= self.index < len(self.array):
            raise Stop(f"index {self.index} outside {self.label}", kind="error")
        return self.array[self.index]

    def store(self, value: Value) -> None:
        if not 0 <= self.index < len(self.array):
            raise Stop(f"index {self.index} outside {self.label}", kind="error")
        self.array[self.index] = value

    def describe(self) -> str:
        return f"{self.label}[{self.index}]"


class Uninitialised:
    """The content of a declared local before its first store."""

    _instance: Uninitialised | None = None

    def __new__(cls) -> Uninitialised:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNINIT"


UNINIT = Uninitialised()

# A local variable's slot: a value, or nothing stored yet.
Slot: TypeAlias = "Value | Uninitialised"


class VarLoc:
    """A variable (local or global); taking its address gives a pointer usable by callees."""

    __slots__ = ("env", "name")

    def __init__(self, env: dict[str, Slot], name: str) -> None:
        self.env = env
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VarLoc) and other.env is self.env and other.name == self.name

    def __hash__(self) -> int:
        return hash((id(self.env), self.name))

    def load(self) -> Value:
        value = self.env[self.name]
        if isinstance(value, Uninitialised):
            raise Stop(f"read of uninitialised {self.name}", kind="error")
        return value

    def store(self, value: Value) -> None:
        self.env[self.name] = value

    def describe(self) -> str:
        return f"&{self.name}"


@dataclass(frozen=True)
class FuncRef:
    name: str

    def describe(self) -> str:
        return self.name


Location: TypeAlias = "Ptr | FieldLoc | ElemLoc | VarLoc"
Value: TypeAlias = (
    "int | str | None | Obj | Ptr | FieldLoc | ElemLoc | VarLoc | FuncRef | list[Value]"
)


def is_pointer(value: object) -> bool:
    return isinstance(value, Ptr | FieldLoc | ElemLoc | VarLoc | FuncRef)


def truth(value: Value) -> bool:
    if isinstance(value, bool | int):
        return bool(value)
    if value is None:
        return False
    if is_pointer(value) or isinstance(value, Obj):
        return True
    raise Stop(f"truth value of {describe(value)}", kind="error")


def describe(value: Value | Uninitialised) -> str:
    """A short human name for a value (task label, number, pointer target)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -4096 < value < 4096 else hex(value & (2**64 - 1))
    if value is None:
        return "NULL"
    if isinstance(value, Obj):
        return value.label
    if isinstance(value, Ptr | FieldLoc | ElemLoc | VarLoc | FuncRef):
        return value.describe()
    if isinstance(value, str):
        return value
    if isinstance(value, Uninitialised):
        return "(uninitialised)"
    return type(value).__name__


def as_obj(value: Value, what: str) -> Obj:
    """The object a value names (an object or a pointer to one), else a stop."""
    if isinstance(value, Ptr):
        return value.obj
    if isinstance(value, Obj):
        return value
    raise Stop(f"{what} on {describe(value)}", kind="unsupported")


def as_int(value: Value, what: str) -> int:
    if isinstance(value, int):
        return value
    raise Stop(f"{what}: {describe(value)} is not a number", kind="error")


def as_location(value: Value, what: str) -> Location:
    """The storage a pointer value names (an embedded object counts as its field)."""
    if isinstance(value, FieldLoc | ElemLoc | VarLoc):
        return value
    if isinstance(value, Ptr) and value.obj.parent is not None:
        owner, name = value.obj.parent
        return FieldLoc(owner, name)
    raise Stop(f"{what} on {describe(value)}", kind="unsupported")


# --- the world ---------------------------------------------------------------


@dataclass
class Event:
    """Something a primitive did that an observation or a report may ask about."""

    kind: str  # wake, warn, lock, violation, unmodelled, budget
    task: str | None
    detail: str
    function: str = ""
    line: int = 0


@dataclass
class HeldLock:
    key: Value
    label: str
    mode: str  # spin, read, write, mutex, rcu


@dataclass
class World:
    """Tasks, shared per-process structs, globals and what happened to them."""

    defaults: dict[str, TomlTable] = field(default_factory=dict)
    tasks: list[Obj] = field(default_factory=list)
    globals: dict[str, Slot] = field(default_factory=dict)
    config: frozenset[str] = frozenset()
    current: Obj | None = None
    events: list[Event] = field(default_factory=list)
    woken: set[str] = field(default_factory=set)
    held: list[HeldLock] = field(default_factory=list)
    # Process name of every task label, for observations naming a process.
    process_of: dict[str, str] = field(default_factory=dict)

    def new(self, type_name: str, label: str, fields: dict[str, Value] | None = None) -> Obj:
        obj = Obj(type_name, label, fields)
        obj.world = self
        for name, value in list(obj.fields.items()):
            if isinstance(value, Obj):
                value.parent = (obj, name)
        return obj

    def default_field(self, obj: Obj, name: str) -> Value:
        spec = self.defaults.get(obj.type, {})
        if name not in spec:
            raise Stop(f"field {obj.type}.{name} not modelled")
        return self.materialise(spec[name], f"{obj.label}.{name}", obj, name)

    def materialise(
        self, spec: TomlValue, label: str, owner: Obj | None = None, name: str = ""
    ) -> Value:
        """Turn a declared default into a fresh value (embedded structs are new objects)."""
        if isinstance(spec, dict) and "struct" in spec:
            child = self.new(str(spec["struct"]), label)
            for key, value in spec.items():
                if key != "struct":
                    child.set(key, self.materialise(value, f"{label}.{key}", child, key))
            if owner is not None:
                child.parent = (owner, name)
            return child
        if isinstance(spec, dict) and "array" in spec:
            size = spec["array"]
            if not isinstance(size, int):
                raise Stop(f"{label}: array size {size!r}", kind="error")
            return [self.materialise(spec.get("of", 0), f"{label}[{i}]") for i in range(size)]
        if isinstance(spec, list):
            return [self.materialise(v, f"{label}[{i}]") for i, v in enumerate(spec)]
        if isinstance(spec, bool):
            return int(spec)
        if isinstance(spec, int | str):
            return spec
        raise Stop(f"{label}: value {spec!r} cannot be modelled", kind="error")

    def task(self, label: str) -> Obj:
        for task in self.tasks:
            if task.label == label:
                return task
        raise Stop(f"no task {label} in the world", kind="error")

    def threads_of(self, task: Obj) -> list[Obj]:
        signal = task.get("signal")
        threads = signal.obj.get("thread_list") if isinstance(signal, Ptr) else None
        if not isinstance(threads, list):
            raise Stop(f"{task.label} has no thread list", kind="error")
        return [as_obj(t, "thread list") for t in threads]

    def leaders(self) -> list[Obj]:
        seen: list[Obj] = []
        for task in self.tasks:
            leader = task.get("group_leader")
            obj = leader.obj if isinstance(leader, Ptr) else task
            if obj not in seen:
                seen.append(obj)
        return seen

    def record(
        self, kind: str, task: Obj | None, detail: str, function: str = "", line: int = 0
    ) -> None:
        self.events.append(Event(kind, task.label if task else None, detail, function, line))

    def holds(self, key: Value) -> bool:
        return any(entry.key == key for entry in self.held)
