"""Per-tree configuration: ``.patchlint.toml`` or ``[tool.patchlint]`` in pyproject.toml.

    enable = ["task-iter-unlocked"]        # only these rules (omit for all)
    disable = ["rcu-task-escape"]          # never these
    fail-on = "warning"                    # default for --fail-on
    [severity]
    thread-flag-as-group = "error"
    [knowledge."kernel/sleeping.toml".sleeping]
    names = ["my_driver_wait"]             # merged into the shipped data

Every key is checked: a misspelt one is an error naming the key and the file, since a
silently ignored setting is worse than none.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchlint import knowledge

CONFIG_NAME = ".patchlint.toml"
SEVERITIES = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "info", "never")
_TOP_KEYS = {"enable", "disable", "severity", "fail-on", "fail_on", "knowledge"}
# The catalog defines rules (code); configuration only tunes them.
_NOT_EXTENSIBLE = {"catalog.toml"}


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names file and key."""


@dataclass
class Config:
    enable: list[str] | None = None
    disable: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    fail_on: str | None = None
    knowledge: dict[str, dict[str, Any]] = field(default_factory=dict)
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
        if "patchlint" in data.get("tool", {}):
            return pyproject
    return None


def load_config(tree_root: Path | None, explicit: Path | None = None) -> Config:
    """The configuration for a run: `explicit` if given, else the tree's file, else defaults."""
    path = explicit if explicit is not None else find_config(tree_root)
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    data = _read(path)
    prefix = ""
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("patchlint", {})
        prefix = "tool.patchlint."
    return parse_config(data, path, prefix)


def parse_config(data: dict[str, Any], path: Path | None, prefix: str = "") -> Config:
    where = str(path) if path is not None else "<config>"

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: {prefix}{key}: {problem}")

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known: {', '.join(sorted(_TOP_KEYS - {'fail_on'}))})")
    known_rules = _rule_ids()
    config = Config(path=path)
    if "enable" in data:
        config.enable = _rule_list(data["enable"], "enable", known_rules, fail)
    if "disable" in data:
        config.disable = _rule_list(data["disable"], "disable", known_rules, fail)
    severity = data.get("severity", {})
    if not isinstance(severity, dict):
        raise fail("severity", "must be a table of rule-id = severity")
    for rule, level in severity.items():
        if rule not in known_rules:
            raise fail(f"severity.{rule}", "unknown rule id")
        if level not in SEVERITIES:
            raise fail(f"severity.{rule}", f"must be one of {', '.join(SEVERITIES)}")
        config.severity[rule] = level
    for key in ("fail-on", "fail_on"):
        if key in data:
            if data[key] not in FAIL_ON:
                raise fail(key, f"must be one of {', '.join(FAIL_ON)}")
            config.fail_on = data[key]
    extensions = data.get("knowledge", {})
    if not isinstance(extensions, dict):
        raise fail("knowledge", "must be a table keyed by data file")
    for relative, tables in extensions.items():
        config.knowledge[relative] = _check_extension(relative, tables, fail)
    return config


def apply_config(config: Config) -> None:
    """Install the configuration's knowledge extensions for this process (replacing any
    earlier ones). Rule selection, severities and fail-on are the caller's to apply."""
    knowledge.set_extensions(config.knowledge)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error


def _rule_ids() -> set[str]:
    from patchlint.rules.engine import all_rules

    return {meta.id for meta in all_rules()}


def _rule_list(value: Any, key: str, known: set[str], fail: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail(key, "must be a list of rule ids")
    for item in value:
        if item not in known:
            raise fail(key, f"unknown rule id {item!r}")
    return list(value)


def _check_extension(relative: str, tables: Any, fail: Any) -> dict[str, Any]:
    key = f"knowledge.{relative}"
    if (
        not relative.endswith(".toml")
        or relative in _NOT_EXTENSIBLE
        or ".." in Path(relative).parts
        or Path(relative).is_absolute()
    ):
        raise fail(key, "not an extensible knowledge file")
    if not knowledge.data_path(relative).is_file():
        raise fail(key, "unknown knowledge file (see the rules/ data directory)")
    if not isinstance(tables, dict):
        raise fail(key, "must be a table")
    _check_shape(knowledge.load_shipped(relative), tables, key, fail)
    return tables


def _is_open_table(shipped: dict[str, Any]) -> bool:
    """A table whose keys are names chosen by the data (lock ids, replacements), as opposed
    to a record whose keys are fixed fields: all its values share one non-array type."""
    kinds = {_kind(value) for value in shipped.values()}
    return len(kinds) == 1 and "array" not in kinds


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _check_shape(shipped: dict[str, Any], extra: dict[str, Any], where: str, fail: Any) -> None:
    open_table = _is_open_table(shipped)
    for key, value in extra.items():
        path = f"{where}.{key}"
        if key in shipped:
            _check_value(shipped[key], value, path, fail)
        elif open_table and shipped:
            sample = next(iter(shipped.values()))
            if isinstance(sample, dict):
                if not isinstance(value, dict):
                    raise fail(path, "must be a table like its siblings")
                fields: dict[str, Any] = {}
                for sibling in shipped.values():
                    fields.update(sibling)
                _check_fields(fields, value, path, fail)
            elif _kind(value) != _kind(sample):
                raise fail(path, f"must be a {_kind(sample)} like its siblings")
        else:
            raise fail(path, "unknown key")


def _check_value(shipped: Any, value: Any, path: str, fail: Any) -> None:
    if _kind(shipped) != _kind(value):
        raise fail(path, f"must be a {_kind(shipped)}")
    if isinstance(shipped, dict):
        _check_shape(shipped, value, path, fail)
    elif isinstance(shipped, list) and shipped and isinstance(shipped[0], dict):
        # An array of tables ([[iterator]]): new entries use the fields the shipped ones do
        # (a field may take several kinds of value: `lock = 0` or `lock = "{0}->x"`).
        fields: dict[str, Any] = {}
        kinds: dict[str, set[str]] = {}
        for entry in shipped:
            fields.update(entry)
            for name, item in entry.items():
                kinds.setdefault(name, set()).add(_kind(item))
        for number, entry in enumerate(value):
            if not isinstance(entry, dict):
                raise fail(f"{path}[{number}]", "must be a table")
            _check_fields(fields, entry, f"{path}[{number}]", fail, kinds)


def _check_fields(
    fields: dict[str, Any],
    entry: dict[str, Any],
    path: str,
    fail: Any,
    kinds: dict[str, set[str]] | None = None,
) -> None:
    for name, item in entry.items():
        if name not in fields:
            raise fail(f"{path}.{name}", f"unknown key (known: {', '.join(sorted(fields))})")
        allowed = (kinds or {}).get(name) or {_kind(fields[name])}
        if _kind(item) not in allowed:
            raise fail(f"{path}.{name}", f"must be a {' or '.join(sorted(allowed))}")


def merge_selection(
    config: Config, enable: list[str] | None, ignore: list[str]
) -> tuple[list[str] | None, list[str]]:
    """Rule selection for a run: command-line --types wins over the file's `enable`;
    --ignore adds to its `disable`."""
    chosen = enable if enable else config.enable
    skipped = list(dict.fromkeys([*config.disable, *ignore]))
    return chosen, skipped
