"""Data files checked at load against the JSON Schemas shipped in ``rules/schemas/``.

Every loader of rules data (catalog, kernel knowledge, scenarios, primitives) and of
configuration goes through :func:`validate_data`; a file that does not fit its schema
raises :class:`DataError` naming the file, the key and the line, e.g.::

    rules/kernel/locks.toml:41: lock.rcu.acquire: 3 is not of type 'array'

Schema names are paths under ``rules/schemas/`` without ``.schema.json``: a data file
``kernel/locks.toml`` uses ``kernel/locks``, and every file of a folder without its
own schema (``scenarios/*.toml``) uses the folder's (``scenarios``). Adding a key to a
data file means adding it to that one schema (``docs/schemas.md``).

A file already found valid (same schema, same content) is remembered in the cache
folder, so a run does not pay for the validator again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from patchlint.cachedir import cache_path
from patchlint.knowledge import data_dir

if TYPE_CHECKING:
    from jsonschema import ValidationError

KeyPath = Sequence[str | int]


class DataError(ValueError):
    """A data or configuration file that does not fit its schema."""

    def __init__(self, file: Path | str, key: str, line: int | None, problem: str) -> None:
        where = f"{file}:{line}" if line else str(file)
        super().__init__(f"{where}: {key or '(top level)'}: {problem}")
        self.file = str(file)
        self.key = key
        self.line = line
        self.problem = problem


def schema_dir() -> Path:
    return data_dir() / "schemas"


def schema_name_for(relative: str) -> str:
    """The schema of a rules data file given relative to the data directory."""
    stem = relative.removesuffix(".toml")
    if (schema_dir() / f"{stem}.schema.json").is_file():
        return stem
    folder = stem.rpartition("/")[0]
    if folder and (schema_dir() / f"{folder}.schema.json").is_file():
        return folder
    raise DataError(relative, "", None, f"no schema for this file under {schema_dir()}")


@functools.cache
def load_schema(name: str) -> dict[str, object]:
    path = schema_dir() / f"{name}.schema.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(path, "", None, f"unreadable schema: {error}") from error
    if not isinstance(loaded, dict):
        raise DataError(path, "", None, "a schema must be a JSON object")
    return loaded


def validate_data(
    data: Mapping[str, object], schema: str, file: Path | str, prefix: KeyPath = ()
) -> None:
    """Raise DataError for the first place where ``data`` breaks schema ``schema``.

    ``prefix`` is where ``data`` sits inside ``file`` (``("tool", "patchlint")`` for
    a pyproject.toml), so the error names the key and line as the user wrote them.
    """
    digest = _digest(schema, data)
    if digest in _valid:
        return
    memo = cache_path("validated", digest[:2], digest)
    if memo is not None and memo.exists():
        _valid.add(digest)
        return
    found = find_error(data, schema)
    if found is not None:
        key_path, problem = found
        full = [*prefix, *key_path]
        raise DataError(file, format_key(full), locate(file, full), problem)
    _valid.add(digest)
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.touch()
        except OSError:
            pass  # a read-only cache only costs speed


def find_error(data: Mapping[str, object], schema: str) -> tuple[list[str | int], str] | None:
    """(key path, problem) of the most precise place ``data`` breaks ``schema``, or None."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(schema))
    found = [_describe(error) for error in validator.iter_errors(data)]
    if not found:
        return None
    # The deepest error names the most precise key; ties go to the first in the file.
    return max(found, key=lambda item: (len(item[0]), [-_order(p) for p in item[0]]))


def _order(part: str | int) -> int:
    return part if isinstance(part, int) else 0


def _describe(error: ValidationError) -> tuple[list[str | int], str]:
    key_path: list[str | int] = list(error.absolute_path)
    problem = error.message
    if "propertyNames" in error.schema_path:
        # The offending name is the instance; the path stops at its table.
        key_path.append(str(error.instance))
        problem = f"not an allowed name here ({error.message})"
    elif error.validator == "additionalProperties":
        extra = _unexpected_key(error)
        if extra is not None:
            key_path.append(extra)
            problem = "unknown key"
            allowed = error.schema.get("properties") if isinstance(error.schema, dict) else None
            if isinstance(allowed, dict) and allowed:
                problem += f" (known: {', '.join(sorted(allowed))})"
    return key_path, problem


_valid: set[str] = set()


def _digest(schema: str, data: Mapping[str, object]) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    schema_text = json.dumps(load_schema(schema), sort_keys=True)
    return hashlib.blake2b(f"{schema_text}\0{text}".encode(), digest_size=16).hexdigest()


_QUOTED = re.compile(r"'([^']+)'")


def _unexpected_key(error: ValidationError) -> str | None:
    found = _QUOTED.findall(error.message)
    return found[0] if found else None


def format_key(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f'."{part}"' if out else f'"{part}"'
    return out


# ------------------------------------------------------------------ lines in TOML

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [part[1:-1] if part[:1] in "\"'" else part for part in parts]


def locate(file: Path | str, key_path: KeyPath) -> int | None:
    """The line of ``file`` (TOML) that best names ``key_path``: the key itself, else
    its nearest enclosing table or key. None when the file cannot be read."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return locate_in_text(text, key_path)


def locate_in_text(text: str, key_path: KeyPath) -> int | None:
    target = list(key_path)
    best_line: int | None = None
    best_length = 0
    header: list[str | int] = []
    array_counts: dict[tuple[str, ...], int] = {}
    in_string = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
            was_in_string = in_string
            in_string = not in_string
            if was_in_string:
                continue
        elif in_string:
            continue
        header_match = _HEADER.match(line)
        if header_match and not _KEY.match(line):
            names = _split_key(header_match.group(2))
            header = [*_expand(names[:-1], array_counts), *names[-1:]]
            if header_match.group(1) == "[[":
                key = tuple(names)
                index = array_counts.get(key, 0)
                array_counts[key] = index + 1
                header.append(index)
            path: list[str | int] = header
        else:
            key_match = _KEY.match(line)
            if key_match is None:
                continue
            path = [*header, *_split_key(key_match.group(1))]
        length = _common_prefix(path, target)
        if length == len(path) and length > best_length:
            best_line, best_length = number, length
    return best_line


def _expand(names: list[str], array_counts: dict[tuple[str, ...], int]) -> list[str | int]:
    """A table header's path with the index of each array of tables it goes through
    (``[lock.rcu]`` after the second ``[[lock]]`` is lock[1].rcu)."""
    path: list[str | int] = []
    for position, name in enumerate(names):
        path.append(name)
        count = array_counts.get(tuple(names[: position + 1]))
        if count:
            path.append(count - 1)
    return path


def _common_prefix(path: Sequence[str | int], target: Sequence[str | int]) -> int:
    length = 0
    for mine, theirs in zip(path, target, strict=False):
        if mine != theirs:
            break
        length += 1
    return length
