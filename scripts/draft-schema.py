#!/usr/bin/env python3
"""Draft a JSON Schema from example TOML files (a starting point, edited by hand after).

    python3 scripts/draft-schema.py --open lock --open rules rules/kernel/locks.toml

Tables become records (their keys optional, no other key allowed); ``--open PATH``
(dotted, ``*`` for any key) marks a table whose keys are names chosen by the data (lock
ids, rule ids, struct names): any key, values like the examples. The schemas shipped
in rules/schemas/ started from this and carry descriptions written by hand; after
changing a data file, edit its schema (docs/schemas.md) rather than re-drafting it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from fnmatch import fnmatchcase
from typing import cast

Schema = dict[str, object]


def scalar_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def merge(a: Schema | None, b: Schema) -> Schema:
    if a is None:
        return b
    if a.get("type") == "object" and b.get("type") == "object":
        if "properties" in a and "properties" in b:
            props = dict(cast(dict[str, Schema], a["properties"]))
            for key, sub in cast(dict[str, Schema], b["properties"]).items():
                props[key] = merge(props.get(key), sub)
            required = sorted(
                set(cast(list[str], a.get("required", [])))
                & set(cast(list[str], b.get("required", [])))
            )
            out: Schema = {**a, "properties": props}
            if required:
                out["required"] = required
            else:
                out.pop("required", None)
            return out
        if "additionalProperties" in a and "additionalProperties" in b:
            return {
                **a,
                "additionalProperties": merge(
                    cast(Schema, a["additionalProperties"]), cast(Schema, b["additionalProperties"])
                ),
            }
    if a.get("type") == "array" and b.get("type") == "array":
        items_a, items_b = a.get("items"), b.get("items")
        if items_a is None:
            return b
        if items_b is None:
            return a
        return {"type": "array", "items": merge(cast(Schema, items_a), cast(Schema, items_b))}
    if a == b:
        return a
    variants = [v for v in (a.get("anyOf") or [a])] + [v for v in (b.get("anyOf") or [b])]
    unique: list[object] = []
    for variant in variants:
        if variant not in unique:
            unique.append(variant)
    return {"anyOf": unique}


def draft(value: object, path: str, open_paths: list[str], in_array: bool = False) -> Schema:
    if isinstance(value, dict):
        if any(fnmatchcase(path, pattern) for pattern in open_paths):
            values: Schema | None = None
            for key, item in value.items():
                values = merge(values, draft(item, f"{path}.{key}", open_paths))
            return {"type": "object", "additionalProperties": values or {}}
        props = {
            key: draft(item, f"{path}.{key}" if path else key, open_paths)
            for key, item in value.items()
        }
        schema: Schema = {"type": "object", "additionalProperties": False, "properties": props}
        if in_array:
            schema["required"] = sorted(props)
        return schema
    if isinstance(value, list):
        items: Schema | None = None
        for item in value:
            items = merge(items, draft(item, f"{path}[]", open_paths, in_array=True))
        return {"type": "array", "items": items} if items else {"type": "array"}
    return {"type": scalar_type(value)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--open", action="append", default=[], dest="open_paths")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    schema: Schema | None = None
    for name in args.files:
        with open(name, "rb") as handle:
            schema = merge(schema, draft(tomllib.load(handle), "", args.open_paths))
    assert schema is not None
    document: Schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": args.title or args.files[0],
        **schema,
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
