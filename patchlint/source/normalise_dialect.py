"""The kernel C dialect: which macros the normaliser rewrites and how.

The data lives in ``rules/kernel/dialect.toml`` so users can extend it; a
kernel tree's own ``.clang-format`` ``ForEachMacros`` list is merged in because
it is the kernel's authoritative list of loop-like macros.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchlint.knowledge import load_toml


@dataclass(frozen=True)
class FunctionMacro:
    """A macro that defines a function: ``NAME(fname, type1, arg1, ...)``."""

    pattern: str
    returns: str


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

    @classmethod
    def from_data(cls, data: dict[str, Any], extra_iterators: frozenset[str] = frozenset()):
        iters = data.get("iterators", {})
        attrs = data.get("attributes", {})
        defs = data.get("definitions", {})
        functions = {
            spec["pattern"]: FunctionMacro(spec["pattern"], spec.get("returns", "long"))
            for spec in defs.get("function", [])
        }
        return cls(
            iterator_macros=frozenset(iters.get("names", [])) | extra_iterators,
            iterator_patterns=list(iters.get("patterns", [])),
            do_macros=frozenset(iters.get("do_macros", [])),
            while_macros=frozenset(iters.get("while_macros", [])),
            scoped_guards=frozenset(iters.get("scoped_guards", [])),
            guards=frozenset(iters.get("guards", [])),
            attribute_macros=frozenset(attrs.get("plain", [])),
            attribute_replacements=dict(attrs.get("replace", {})),
            attribute_macros_with_args=frozenset(attrs.get("with_args", [])),
            annotation_macros_with_args=frozenset(attrs.get("annotations", [])),
            definition_macros=functions,
            declaration_macros=frozenset(defs.get("declarations", [])),
            type_arg_macros={k: tuple(v) for k, v in data.get("type_args", {}).items()},
            variable_patterns=list(data.get("variables", {}).get("patterns", [])),
            registration_patterns=list(data.get("registrations", {}).get("patterns", [])),
        )

    @classmethod
    def load(cls, tree_root: Path | None = None) -> Dialect:
        """The shipped dialect, plus the tree's ``.clang-format`` ForEachMacros."""
        extra: frozenset[str] = frozenset()
        if tree_root is not None:
            extra = frozenset(read_foreach_macros(Path(tree_root) / ".clang-format"))
        return cls.from_data(load_toml("kernel/dialect.toml"), extra)

    def key(self) -> tuple:
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
            tuple(sorted(self.definition_macros)),
            self.declaration_macros,
            tuple(sorted(self.type_arg_macros.items())),
            tuple(self.variable_patterns),
            tuple(self.registration_patterns),
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

    def is_iterator(self, name: str) -> bool:
        if name in self.iterator_macros:
            return True
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.iterator_patterns)


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
