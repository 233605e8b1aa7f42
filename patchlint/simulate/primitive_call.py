"""One call of a modelled primitive, and the registry of the models that implement them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from patchlint.simulate.frames import Engine, Frame, Node
from patchlint.simulate.world import Obj, Stop, TomlValue, Value, as_obj


@dataclass(frozen=True)
class PrimitiveSpec:
    """One ``[primitives]`` entry: the model and its parameters."""

    name: str
    model: str
    note: str = ""
    op: str = ""
    kind: str = ""
    key: str = ""
    field: str = ""
    state: str = ""
    flags_arg: int = -1
    lazy: bool = False

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, TomlValue]) -> PrimitiveSpec:
        def text(key: str) -> str:
            value = table.get(key, "")
            return value if isinstance(value, str) else str(value)

        flags_arg = table.get("flags_arg", -1)
        return cls(
            name=name,
            model=text("model"),
            note=text("note"),
            op=text("op"),
            kind=text("kind"),
            key=text("key"),
            field=text("field"),
            state=text("state"),
            flags_arg=flags_arg if isinstance(flags_arg, int) else -1,
            lazy=table.get("lazy") is True,
        )


@dataclass
class PrimitiveCall:
    """One call of a primitive: handlers evaluate the arguments they need through it."""

    engine: Engine
    frame: Frame
    spec: PrimitiveSpec
    args: list[Node]
    line: int
    # What the handler evaluated, shown in the call record.
    evaluated: list[Value] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    def values(self, count: int = 0) -> list[Value]:
        self.evaluated = [self.engine.eval(a, self.frame) for a in self.args]
        if len(self.evaluated) < count:
            raise Stop(f"{self.name}() needs {count} arguments", kind="error")
        return self.evaluated

    def task(self, value: Value) -> Obj:
        task = as_obj(value, f"{self.name}()")
        if task.type != "task_struct":
            raise Stop(f"{self.name}() on a {task.type}", kind="error")
        return task


Handler: TypeAlias = "Callable[[PrimitiveCall], Value]"
MODELS: dict[str, Handler] = {}


def model(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler as the implementation of the models ``names``."""

    def register(handler: Handler) -> Handler:
        for name in names:
            MODELS[name] = handler
        return handler

    return register
