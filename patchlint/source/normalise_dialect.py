"""The kernel C dialect: which macros the normaliser rewrites and how.

The data lives in ``rules/kernel/dialect.toml`` so users can extend it; a
kernel tree's own ``.clang-format`` ``ForEachMacros`` list is merged in because
it is the kernel's authoritative list of loop-like macros.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from patchlint.knowledge import load_toml

__all__ = ["Dialect", "DialectError", "FunctionMacro", "read_foreach_macros"]


class DialectError(ValueError):
    """``dialect.toml`` (or a configured extension) has a value of the wrong type."""


@dataclass(frozen=True)
class FunctionMacro:
    """A macro that defines a function: ``NAME(fname, type1, arg1, ...)``."""

    pattern: str
    returns: str


def _table(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise DialectError(f"dialect.toml: [{key}] must be a table")
    return value


def _strings(table: Mapping[str, object], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DialectError(f"dialect.toml: {where}.{key} must be a list of strings")
    return [str(v) for v in value]


def _string_map(table: Mapping[str, object], key: str, where: str) -> dict[str, str]:
    value = table.get(key, {})
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise DialectError(f"dialect.toml: {where}.{key} must map names to strings")
    return {str(k): str(v) for k, v in value.items()}


def _positions(table: Mapping[str, object]) -> dict[str, tuple[int, ...]]:
    positions: dict[str, tuple[int, ...]] = {}
    for name, value in table.items():
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise DialectError(f"dialect.toml: type_args.{name} must be a list of integers")
        positions[name] = tuple(int(v) for v in value)
    return positions


def _function_macros(definitions: Mapping[str, object]) -> dict[str, FunctionMacro]:
    specs = definitions.get("function", [])
    if not isinstance(specs, list):
        raise DialectError("dialect.toml: [[definitions.function]] must be an array of tables")
    macros: dict[str, FunctionMacro] = {}
    for spec in specs:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("pattern"), str):
            raise DialectError("dialect.toml: each [[definitions.function]] needs a pattern")
        returns = spec.get("returns", "long")
        if not isinstance(returns, str):
            raise DialectError("dialect.toml: definitions.function.returns must be a string")
        pattern = str(spec["pattern"])
        macros[pattern] = FunctionMacro(pattern, returns)
    return macros


@dataclass
class Dialect:
    iterator_macros: frozenset[str] = frozenset()
    iterator_patterns: list[str] = field(default_factory=list)
    do_macros: frozenset[str] = frozenset()
    while_macros: frozenset[str] = frozenset()
    scoped_guards: frozenset[str] = frozenset()
    guards: frozenset[str] = frozenset()
    attribute_macros: frozenset[str] = frozenset()
    attribute_replacements: dict[str, str] = field(default_factory=dict)
    attribute_macros_with_args: frozenset[str] = frozenset()
    annotation_macros_with_args: frozenset[str] = frozenset()
    definition_macros: dict[str, FunctionMacro] = field(default_factory=dict)
    declaration_macros: frozenset[str] = frozenset()
    type_arg_macros: dict[str, tuple[int, ...]] = field(default_factory=dict)
    variable_patterns: list[str] = field(default_factory=list)
    registration_patterns: list[str] = field(default_factory=list)
    # Attribute macros only the repair pass handles (see normalise_shapes.py).
    repair_attributes: frozenset[str] = frozenset()
    repair_attributes_with_args: frozenset[str] = frozenset()
    repair_replacements: dict[str, str] = field(default_factory=dict)
    # Globs for words that read as attribute macros when a declaration has more
    # type names than C allows (see normalise_shapes.py).
    attribute_like: list[str] = field(default_factory=list)
    # Substrings the first pass scans for (see normalise_rewrite.py).
    scan_hints: list[str] = field(default_factory=list)

    @classmethod
    def from_data(
        cls, data: Mapping[str, object], extra_iterators: frozenset[str] = frozenset()
    ) -> Dialect:
        iters = _table(data, "iterators")
        attrs = _table(data, "attributes")
        defs = _table(data, "definitions")
        repair = _table(data, "repair")
        return cls(
            iterator_macros=frozenset(_strings(iters, "names", "iterators")) | extra_iterators,
            iterator_patterns=_strings(iters, "patterns", "iterators"),
            do_macros=frozenset(_strings(iters, "do_macros", "iterators")),
            while_macros=frozenset(_strings(iters, "while_macros", "iterators")),
            scoped_guards=frozenset(_strings(iters, "scoped_guards", "iterators")),
            guards=frozenset(_strings(iters, "guards", "iterators")),
            attribute_macros=frozenset(_strings(attrs, "plain", "attributes")),
            attribute_replacements=_string_map(attrs, "replace", "attributes"),
            attribute_macros_with_args=frozenset(_strings(attrs, "with_args", "attributes")),
            annotation_macros_with_args=frozenset(_strings(attrs, "annotations", "attributes")),
            definition_macros=_function_macros(defs),
            declaration_macros=frozenset(_strings(defs, "declarations", "definitions")),
            type_arg_macros=_positions(_table(data, "type_args")),
            variable_patterns=_strings(_table(data, "variables"), "patterns", "variables"),
            registration_patterns=_strings(
                _table(data, "registrations"), "patterns", "registrations"
            ),
            repair_attributes=frozenset(_strings(attrs, "repair", "attributes")),
            repair_attributes_with_args=frozenset(
                _strings(attrs, "repair_with_args", "attributes")
            ),
            repair_replacements=_string_map(attrs, "repair_replace", "attributes"),
            attribute_like=_strings(repair, "attribute_like", "repair"),
            scan_hints=_strings(_table(data, "scan"), "hints", "scan"),
        )

    @classmethod
    def load(cls, tree_root: Path | None = None) -> Dialect:
        """The shipped dialect, plus the tree's ``.clang-format`` ForEachMacros."""
        extra: frozenset[str] = frozenset()
        if tree_root is not None:
            extra = frozenset(read_foreach_macros(Path(tree_root) / ".clang-format"))
        return cls.from_data(load_toml("kernel/dialect.toml"), extra)

    def key(self) -> tuple[object, ...]:
        """A hashable identity so compiled scanners can be cached per dialect."""
        return (
            self.iterator_macros,
            tuple(self.iterator_patterns),
            self.do_macros,
            self.while_macros,
            self.scoped_guards,
            self.guards,
            self.attribute_macros,
            tuple(sorted(self.attribute_replacements.items())),
            self.attribute_macros_with_args,
            self.annotation_macros_with_args,
            tuple(sorted((p, m.returns) for p, m in self.definition_macros.items())),
            self.declaration_macros,
            tuple(sorted(self.type_arg_macros.items())),
            tuple(self.variable_patterns),
            tuple(self.registration_patterns),
            self.repair_attributes,
            self.repair_attributes_with_args,
            tuple(sorted(self.repair_replacements.items())),
            tuple(self.attribute_like),
            tuple(self.scan_hints),
        )

    def literal_names(self) -> set[str]:
        """Every macro name matched literally (iterator globs are matched apart)."""
        names = set(self.iterator_macros) | self.do_macros | self.while_macros
        names |= self.scoped_guards | self.guards | self.attribute_macros
        names |= set(self.attribute_replacements) | self.attribute_macros_with_args
        names |= self.annotation_macros_with_args | self.declaration_macros
        names |= set(self.type_arg_macros)
        return names

    def function_macro_regex(self) -> re.Pattern[str] | None:
        if not self.definition_macros:
            return None
        return re.compile("|".join(f"(?:{p})" for p in self.definition_macros))

    def function_macro(self, name: str) -> FunctionMacro | None:
        for pattern, spec in self.definition_macros.items():
            if re.fullmatch(pattern, name):
                return spec
        return None

    def is_iterator(self, name: str) -> bool:
        if name in self.iterator_macros:
            return True
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.iterator_patterns)

    def is_registration(self, name: str) -> bool:
        return _globs(tuple(self.registration_patterns)).fullmatch(name) is not None

    def is_attribute_like(self, name: str) -> bool:
        return _globs(tuple(self.attribute_like)).fullmatch(name) is not None


@functools.lru_cache(maxsize=64)
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled regex for a list of shell-style globs (never matches if empty)."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(fnmatch.translate(p) for p in patterns))


_FOREACH_ITEM = re.compile(r"""^\s+-\s+['"]?([A-Za-z_]\w*)['"]?\s*$""")


def read_foreach_macros(path: Path) -> list[str]:
    """Read the ``ForEachMacros:`` block list of a .clang-format file.

    Only the one-item-per-line block form the kernel uses is understood; that
    keeps us free of a YAML dependency for a single list.
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    names: list[str] = []
    inside = False
    for line in lines:
        if not inside:
            inside = line.startswith("ForEachMacros:")
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FOREACH_ITEM.match(line)
        if match is None:
            break
        names.append(match.group(1))
    return names
