"""Per-tree configuration: .patchlint.toml / [tool.patchlint], strict keys, knowledge
extensions merged into what load_toml() returns."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchlint import knowledge
from patchlint.config import (
    Config,
    ConfigError,
    apply_config,
    find_config,
    load_config,
    merge_selection,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "config"


@pytest.fixture(autouse=True)
def shipped_knowledge() -> Iterator[None]:
    knowledge.set_extensions({})
    yield
    knowledge.set_extensions({})


def write(folder: Path, text: str, name: str = ".patchlint.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_configuration(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    assert load_config(tmp_path) == Config()
    assert load_config(None) == Config()


def test_example_file(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "example.patchlint.toml", tmp_path / ".patchlint.toml")
    config = load_config(tmp_path)
    assert config.path == tmp_path / ".patchlint.toml"
    assert config.enable is None
    assert config.disable == ["rcu-task-escape"]
    assert config.fail_on == "warning"
    assert config.severity == {"thread-flag-as-group": "error"}
    assert set(config.knowledge) == {
        "kernel/sleeping.toml",
        "kernel/dialect.toml",
        "kernel/iterators.toml",
    }


def test_pyproject(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "pyproject.toml", tmp_path / "pyproject.toml")
    config = load_config(tmp_path)
    assert config.disable == ["iter-double-loop-break"]
    assert config.severity == {"rcu-task-escape": "error"}


def test_patchlint_toml_wins_over_pyproject(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "pyproject.toml", tmp_path / "pyproject.toml")
    write(tmp_path, 'disable = ["rcu-sleep"]\n')
    assert load_config(tmp_path).disable == ["rcu-sleep"]


def test_pyproject_without_section_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    assert find_config(tmp_path) is None


def test_explicit_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'fail-on = "info"\n', "custom.toml")
    assert load_config(None, path).fail_on == "info"
    with pytest.raises(ConfigError, match="not found"):
        load_config(None, tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ('disabel = ["rcu-sleep"]\n', "disabel", 1),
        ('[severity]\nno-such-rule = "error"\n', "severity.no-such-rule", 2),
        ('[severity]\nrcu-sleep = "fatal"\n', "severity.rcu-sleep", 2),
        ('fail-on = "error"\nenable = ["rcu-sleep", "rcu-sleeep"]\n', "enable[1]", 2),
        ('fail-on = "sometimes"\n', "fail-on", 1),
        ('[knowledge."kernel/nope.toml"]\nx = 1\n', 'knowledge."kernel/nope.toml"', 1),
        ('[knowledge."catalog.toml"]\nx = 1\n', 'knowledge."catalog.toml"', 1),
        ('[knowledge."../etc/passwd.toml"]\nx = 1\n', 'knowledge."../etc/passwd.toml"', 1),
        (
            '\n[knowledge."kernel/sleeping.toml".sleeping]\nnmaes = ["x"]\n',
            'knowledge."kernel/sleeping.toml".sleeping.nmaes',
            3,
        ),
        (
            '[knowledge."kernel/sleeping.toml".sleeping]\nnames = "x"\n',
            'knowledge."kernel/sleeping.toml".sleeping.names',
            2,
        ),
        (
            '[[knowledge."kernel/iterators.toml".iterator]]\nname = "x"\nprotected_by = ["rcu"]\n'
            '[[knowledge."kernel/iterators.toml".iterator]]\nname = "y"\nprotected = ["rcu"]\n',
            'knowledge."kernel/iterators.toml".iterator[1].protected',
            6,
        ),
        (
            '[knowledge."kernel/locks.toml".lock.mylock]\nacquire = ["a"]\nreleases = ["b"]\n',
            'knowledge."kernel/locks.toml".lock.mylock.releases',
            3,
        ),
    ],
)
def test_unknown_or_wrong_keys_name_file_key_and_line(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert (error.value.file, error.value.key, error.value.line) == (str(path), key, line)
    assert str(error.value).startswith(f"{path}:{line}: {key}: ")


def test_unknown_key_in_pyproject_has_its_prefix(tmp_path: Path) -> None:
    write(tmp_path, '[tool.patchlint]\nignore = ["rcu-sleep"]\n', "pyproject.toml")
    with pytest.raises(ConfigError, match=r"pyproject\.toml:2: tool\.patchlint\.ignore: unknown"):
        load_config(tmp_path)


def test_syntax_error_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "disable = [\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(tmp_path)


def test_knowledge_merge_visible_to_load_toml(tmp_path: Path) -> None:
    shipped = knowledge.load_toml("kernel/sleeping.toml")
    assert "my_driver_wait_for_fw" not in shipped["sleeping"]["names"]
    shutil.copy(FIXTURES / "example.patchlint.toml", tmp_path / ".patchlint.toml")
    apply_config(load_config(tmp_path))
    sleeping = knowledge.load_toml("kernel/sleeping.toml")["sleeping"]
    assert "my_driver_wait_for_fw" in sleeping["names"]
    assert "mutex_lock" in sleeping["names"]  # extended, not replaced
    iterators = knowledge.load_toml("kernel/iterators.toml")["iterator"]
    assert [i["name"] for i in iterators].count("for_each_my_task") == 1
    assert "for_each_thread" in [i["name"] for i in iterators]
    assert "my_for_each_widget" in knowledge.load_toml("kernel/dialect.toml")["iterators"]["names"]
    # The shipped data itself is untouched, and clearing restores it.
    assert (
        "my_driver_wait_for_fw"
        not in knowledge.load_shipped("kernel/sleeping.toml")["sleeping"]["names"]
    )
    apply_config(Config())
    assert (
        "my_driver_wait_for_fw"
        not in knowledge.load_toml("kernel/sleeping.toml")["sleeping"]["names"]
    )


def test_named_array_entry_amends_the_shipped_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        '[[knowledge."kernel/iterators.toml".iterator]]\n'
        'name = "for_each_thread"\nprotected_by = ["my_lock"]\ndouble = false\n',
    )
    apply_config(load_config(tmp_path))
    entries = [
        i
        for i in knowledge.load_toml("kernel/iterators.toml")["iterator"]
        if i["name"] == "for_each_thread"
    ]
    shipped = next(
        i
        for i in knowledge.load_shipped("kernel/iterators.toml")["iterator"]
        if i["name"] == "for_each_thread"
    )
    assert len(entries) == 1
    assert entries[0]["protected_by"] == [*shipped["protected_by"], "my_lock"]
    assert entries[0]["double"] is False


def test_new_lock_and_listeners(tmp_path: Path) -> None:
    calls: list[int] = []
    knowledge.on_change(lambda: calls.append(1))
    write(
        tmp_path,
        '[knowledge."kernel/locks.toml".lock.mylock]\nkind = "held"\n'
        'acquire = ["my_lock"]\nrelease = ["my_unlock"]\n',
    )
    apply_config(load_config(tmp_path))
    assert knowledge.load_toml("kernel/locks.toml")["lock"]["mylock"]["acquire"] == ["my_lock"]
    assert calls


def test_merge_selection() -> None:
    config = Config(enable=["rcu-sleep", "rcu-unbalanced"], disable=["rcu-unbalanced"])
    assert merge_selection(config, None, []) == (
        ["rcu-sleep", "rcu-unbalanced"],
        ["rcu-unbalanced"],
    )
    assert merge_selection(config, ["task-iter-unlocked"], ["rcu-sleep"]) == (
        ["task-iter-unlocked"],
        ["rcu-unbalanced", "rcu-sleep"],
    )
