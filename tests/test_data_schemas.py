"""Every data file shipped under rules/ and every configuration fixture fits its JSON
Schema (rules/schemas/), and a file that does not gives file, key and line."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from patchlint import knowledge, validate
from patchlint.config import load_config
from patchlint.validate import DataError, schema_dir, schema_name_for, validate_data

DATA = knowledge.data_dir()
DATA_FILES = sorted(
    str(path.relative_to(DATA)) for path in DATA.rglob("*.toml") if "schemas" not in path.parts
)
SCHEMAS = sorted(schema_dir().rglob("*.schema.json"))
CONFIG_FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "config").glob("*.toml"))


@pytest.fixture(autouse=True)
def no_memo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Validate for real: no memo of files already found valid."""
    monkeypatch.setenv("PATCHLINT_NO_CACHE", "1")
    monkeypatch.setattr(validate, "_valid", set())
    yield


def test_there_is_data_to_check() -> None:
    assert {"catalog.toml", "kernel/locks.toml", "simulate/primitives.toml"} <= set(DATA_FILES)
    assert any(name.startswith("scenarios/") for name in DATA_FILES)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda p: str(p.relative_to(schema_dir())))
def test_schema_is_a_valid_json_schema(schema: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(schema.read_text()))


@pytest.mark.parametrize("relative", DATA_FILES)
def test_shipped_data_file_fits_its_schema(relative: str) -> None:
    with (DATA / relative).open("rb") as handle:
        validate_data(tomllib.load(handle), schema_name_for(relative), DATA / relative)


@pytest.mark.parametrize("config", CONFIG_FIXTURES, ids=lambda p: p.name)
def test_configuration_fixture_fits_its_schema(config: Path) -> None:
    assert load_config(None, config).path == config


def test_every_schema_is_used() -> None:
    used = {schema_name_for(relative) for relative in DATA_FILES} | {"config"}
    names = {str(p.relative_to(schema_dir())).removesuffix(".schema.json") for p in SCHEMAS}
    assert names == used


def test_bad_knowledge_file_names_file_key_and_line(tmp_path: Path) -> None:
    text = (DATA / "kernel" / "sleeping.toml").read_text()
    broken = text.replace("[sleeping]\n", "[sleeping]\nsleeps_forever = true\n", 1)
    assert broken != text
    path = tmp_path / "sleeping.toml"
    path.write_text(broken)
    with pytest.raises(DataError) as caught:
        validate_data(tomllib.loads(broken), "kernel/sleeping", path)
    line = broken.splitlines().index("sleeps_forever = true") + 1
    assert (caught.value.key, caught.value.line) == ("sleeping.sleeps_forever", line)
    assert str(caught.value).startswith(f"{path}:{line}: sleeping.sleeps_forever: unknown key")


def test_scenario_with_wrong_type_names_its_key(tmp_path: Path) -> None:
    source = sorted((DATA / "scenarios").glob("*.toml"))[0]
    text = source.read_text()
    broken = text.replace("\nthreads = ", '\nthreads = "many" #', 1)
    path = tmp_path / source.name
    path.write_text(broken)
    with pytest.raises(DataError) as caught:
        validate_data(tomllib.loads(broken), "scenarios", path)
    assert caught.value.key == "process[0].threads"
    assert broken.splitlines()[(caught.value.line or 0) - 1].startswith('threads = "many"')


def test_data_file_without_schema_is_an_error() -> None:
    with pytest.raises(DataError, match="no schema"):
        schema_name_for("kernel/unknown-knowledge.toml")
