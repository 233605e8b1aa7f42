"""Per-tree configuration: ``.patchlint.toml`` or ``[tool.patchlint]`` in pyproject.toml.

    enable = ["task-iter-unlocked"]        # only these rules (omit for all)
    disable = ["rcu-task-escape"]          # never these
    fail-on = "warning"                    # default for --fail-on
    [severity]
    thread-flag-as-group = "error"
    [knowledge."kernel/sleeping.toml".sleeping]
    names = ["my_driver_wait"]             # merged into the shipped data

The file is checked against ``rules/schemas/config.schema.json``; each knowledge
extension, merged with the shipped file, against that file's schema. A misspelt key
is an error naming the file, the key and the line, since a silently ignored setting
is worse than none.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from patchlint import knowledge
from patchlint.findings import SEVERITIES, Severity
from patchlint.result import FAIL_ON, FailOn
from patchlint.validate import (
    DataError,
    KeyPath,
    find_error,
    format_key,
    locate,
    schema_name_for,
    validate_data,
)

CONFIG_NAME = ".patchlint.toml"
# The catalog defines rules (code); configuration only tunes them.
_NOT_EXTENSIBLE = {"catalog.toml"}

KnowledgeTables = dict[str, dict[str, object]]


class ConfigError(DataError):
    """A configuration file that cannot be used; the message names file, key and line."""


# Builds the ConfigError for a key of the file being read.
_Fail = Callable[[KeyPath, str], ConfigError]


@dataclass
class Config:
    enable: list[str] | None = None
    disable: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_on: FailOn | None = None
    knowledge: KnowledgeTables = field(default_factory=dict)
    path: Path | None = None  # the file it came from, None for defaults


def find_config(tree_root: Path | None) -> Path | None:
    """The tree's ``.patchlint.toml``, else its pyproject.toml if it has [tool.patchlint]."""
    if tree_root is None:
        return None
    candidate = tree_root / CONFIG_NAME
    if candidate.is_file():
        return candidate
    pyproject = tree_root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = _read(pyproject)
        except ConfigError:
            return pyproject  # let load_config report the parse error
        tool = data.get("tool")
        if isinstance(tool, dict) and "patchlint" in tool:
            return pyproject
    return None


def load_config(tree_root: Path | None, explicit: Path | None = None) -> Config:
    """The configuration for a run: `explicit` if given, else the tree's file, else defaults."""
    path = explicit if explicit is not None else find_config(tree_root)
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(path, "", None, "configuration file not found")
    data = _read(path)
    prefix: tuple[str, ...] = ()
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        section = tool.get("patchlint", {}) if isinstance(tool, dict) else {}
        data = section if isinstance(section, dict) else {}
        prefix = ("tool", "patchlint")
    return parse_config(data, path, prefix)


def parse_config(
    data: Mapping[str, object], path: Path | None, prefix: Sequence[str] = ()
) -> Config:
    where: Path | str = path if path is not None else "<config>"
    try:
        validate_data(data, "config", where, prefix)
    except DataError as error:
        raise ConfigError(error.file, error.key, error.line, error.problem) from error

    def fail(key: KeyPath, problem: str) -> ConfigError:
        full = [*prefix, *key]
        line = locate(where, full) if path is not None else None
        return ConfigError(where, format_key(full), line, problem)

    known_rules = _rule_ids()
    config = Config(path=path)
    if "enable" in data:
        config.enable = _rule_list(data["enable"], "enable", known_rules, fail)
    if "disable" in data:
        config.disable = _rule_list(data["disable"], "disable", known_rules, fail)
    severity = cast(dict[str, Severity], data.get("severity", {}))
    for rule, level in severity.items():
        if rule not in known_rules:
            raise fail(("severity", rule), "unknown rule id")
        assert level in SEVERITIES  # the schema says so
        config.severity[rule] = level
    for key in ("fail-on", "fail_on"):
        value = data.get(key)
        if value is not None:
            assert value in FAIL_ON  # the schema says so
            config.fail_on = value
    extensions = cast(KnowledgeTables, data.get("knowledge", {}))
    for relative, tables in extensions.items():
        config.knowledge[relative] = _check_extension(relative, tables, where, prefix, fail)
    return config


def apply_config(config: Config) -> None:
    """Install the configuration's knowledge extensions for this process (replacing any
    earlier ones). Rule selection, severities and fail-on are the caller's to apply."""
    knowledge.set_extensions(config.knowledge)


def _read(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(path, "", None, error.strerror or str(error)) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "", None, str(error)) from error


def _rule_ids() -> set[str]:
    from patchlint.rules import catalog

    return catalog().ids()


def _rule_list(value: object, key: str, known: set[str], fail: _Fail) -> list[str]:
    items = cast(list[str], value)  # a list of strings: the schema says so
    for position, item in enumerate(items):
        if item not in known:
            raise fail((key, position), f"unknown rule id {item!r}")
    return list(items)


def _check_extension(
    relative: str,
    tables: dict[str, object],
    where: Path | str,
    prefix: Sequence[str],
    fail: _Fail,
) -> dict[str, object]:
    key = ("knowledge", relative)
    if relative in _NOT_EXTENSIBLE or ".." in Path(relative).parts:
        raise fail(key, "not an extensible knowledge file")
    if not knowledge.data_path(relative).is_file():
        raise fail(key, "unknown knowledge file (see the rules/ data directory)")
    merged = knowledge.merge_data(copy.deepcopy(knowledge.load_shipped(relative)), tables)
    found = find_error(merged, schema_name_for(relative))
    if found is not None:
        error_path, problem = found
        raise fail((*key, *_path_in_extension(merged, tables, error_path)), problem)
    return tables


def _path_in_extension(
    merged: object, extension: object, path: Sequence[str | int]
) -> list[str | int]:
    """Where in the user's extension an error of the merged data is: arrays were
    appended to (or their named entries amended), so merged indices are not theirs."""
    out: list[str | int] = []
    here_merged, here_own = merged, extension
    for part in path:
        if isinstance(part, int) and isinstance(here_merged, list) and isinstance(here_own, list):
            item = here_merged[part]
            position = next(
                (
                    number
                    for number, own in enumerate(here_own)
                    if own == item
                    or (
                        isinstance(own, dict)
                        and isinstance(item, dict)
                        and "name" in own
                        and own.get("name") == item.get("name")
                    )
                ),
                None,
            )
            if position is None:
                break
            out.append(position)
            here_merged, here_own = item, here_own[position]
        elif isinstance(part, str) and isinstance(here_merged, dict):
            out.append(part)
            here_merged = here_merged.get(part)
            here_own = here_own.get(part) if isinstance(here_own, dict) else None
        else:
            break
    return out


def merge_selection(
    config: Config, enable: list[str] | None, ignore: list[str]
) -> tuple[list[str] | None, list[str]]:
    """Rule selection for a run: command-line --types wins over the file's `enable`;
    --ignore adds to its `disable`."""
    chosen = enable if enable else config.enable
    skipped = list(dict.fromkeys([*config.disable, *ignore]))
    return chosen, skipped
