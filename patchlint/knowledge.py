"""Access to the kernel knowledge and rule data shipped under ``rules/``.

The data directory is ``patchlint/_rules`` inside an installed wheel and the
repository's top-level ``rules/`` in a source checkout or editable install.

A tree's configuration may extend that data (extra iterator macros, sleeping
functions, locks): ``set_extensions()`` installs tables that ``load_toml()`` merges
into the shipped files, so every reader sees the same extended knowledge.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# A TOML document of the rules data. Any, not object: each reader knows the shape of
# its own file, which its JSON Schema (rules/schemas/) guarantees at load.
Table = dict[str, Any]

_extensions: dict[str, dict[str, object]] = {}
_listeners: list[Callable[[], None]] = []


def data_dir() -> Path:
    package = Path(__file__).resolve().parent
    installed = package / "_rules"
    if installed.is_dir():
        return installed
    return package.parent / "rules"


@functools.cache
def load_shipped(relative: str) -> Table:  # Any: see Table
    """One TOML file of the rules data exactly as shipped, without extensions, checked
    against its schema (a bad file raises DataError naming file, key and line)."""
    from patchlint.validate import DataError, schema_name_for, validate_data

    path = data_dir() / relative
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise DataError(path, "", None, error.strerror or str(error)) from error
    except tomllib.TOMLDecodeError as error:
        raise DataError(path, "", None, str(error)) from error
    validate_data(data, schema_name_for(relative), path)
    return data


@functools.cache
def load_toml(relative: str) -> Table:  # Any: see Table
    """Load one TOML file of the rules data, e.g. ``load_toml("kernel/dialect.toml")``,
    with the installed extensions merged in."""
    shipped = load_shipped(relative)
    extension = _extensions.get(relative)
    if not extension:
        return shipped
    # A deep copy keeps the shipped cache pristine so extensions can be swapped.
    return merge_data(copy.deepcopy(shipped), extension)


def data_path(relative: str) -> Path:
    return data_dir() / relative


def merge_data(base: dict[str, object], extra: Mapping[str, object]) -> dict[str, object]:
    """Merge `extra` into `base` in place: tables recursively, arrays extended (without
    duplicating entries already present), scalars replaced."""
    for key, value in extra.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merge_data(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            _merge_array(current, value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _merge_array(current: list[object], extra: list[object]) -> None:
    named = {item["name"]: item for item in current if isinstance(item, dict) and "name" in item}
    for item in extra:
        # An entry of an array of tables naming an existing one ([[iterator]] name = ...)
        # amends it (merged like any table) rather than adding a second, conflicting one.
        if isinstance(item, Mapping) and item.get("name") in named:
            merge_data(named[item["name"]], item)
        elif item not in current:
            current.append(copy.deepcopy(item))


def set_extensions(extensions: Mapping[str, Mapping[str, object]]) -> None:
    """Install knowledge extensions, keyed by data file (``"kernel/sleeping.toml"``).

    Replaces any previous extensions; an empty mapping restores the shipped data.
    Caches derived from the data are dropped so the next reader sees the merge.
    """
    wanted = {relative: copy.deepcopy(dict(tables)) for relative, tables in extensions.items()}
    if wanted == _extensions:
        return  # the same extensions: the derived caches stay valid
    _extensions.clear()
    _extensions.update(wanted)
    load_toml.cache_clear()
    for listener in list(_listeners):
        listener()


def extensions() -> dict[str, dict[str, object]]:
    return copy.deepcopy(_extensions)


def on_change(listener: Callable[[], None]) -> Callable[[], None]:
    """Register a callable (e.g. a derived cache's ``cache_clear``) run whenever the
    extensions change. Returns it, so it can decorate a function."""
    _listeners.append(listener)
    return listener
