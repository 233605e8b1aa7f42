"""Callees whose every return is one literal (patchlint.analysis.constant_returns):
found in the caller's file or in the other files of its directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from patchlint.analysis import constant_returns
from patchlint.analysis.constant_returns import called_name, constant_return
from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.source import FunctionIndex, parse_c

CALLER = """
struct demo { int state; };
static DEFINE_MUTEX(demo_lock);

int demo_resume(struct demo *d)
{
	int ret;

	mutex_lock(&demo_lock);
	ret = demo_powerup(d);
	if (ret) {
		pr_err("power up failed\\n");
		return ret;
	}
	mutex_unlock(&demo_lock);
	return 0;
}
"""
HEADER = "int demo_powerup(struct demo *d);\n"
POWERUP = """
{storage}int demo_powerup(struct demo *d)
{{
	if (d->state)
		return {early};
	d->state = 1;
	return 0;
}}
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    constant_returns._DIRECTORIES.clear()
    assert constant_returns.keep_directory_listings(True)  # no scan left it off


def _leaks(root: Path, files: dict[str, str]) -> int:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    path = "drivers/demo/core.c"
    source = parse_c((root / path).read_text(), path)
    unit = AnalysisUnit(source=source, path=path, index=FunctionIndex(root))
    return len(run_rules(unit, select_rules(enabled=["lock-unbalanced"])))


@pytest.mark.parametrize(
    ("helper_path", "storage", "early", "leaks"),
    [
        ("drivers/demo/power.c", "", "0", 0),
        ("drivers/demo/power.c", "", "-EIO", 1),
        # A static function of another .c file is not the one the call reaches.
        ("drivers/demo/power.c", "static ", "0", 1),
        # Only the caller's directory is searched: elsewhere it stays unknown.
        ("drivers/other/power.c", "", "0", 1),
    ],
)
def test_a_helper_in_another_file_of_the_directory(
    tmp_path: Path, helper_path: str, storage: str, early: str, leaks: int
) -> None:
    files = {
        "drivers/demo/core.c": '#include "demo.h"\n' + CALLER,
        "drivers/demo/demo.h": HEADER,
        helper_path: POWERUP.format(storage=storage, early=early),
    }
    assert _leaks(tmp_path, files) == leaks


def test_two_definitions_must_agree(tmp_path: Path) -> None:
    files = {
        "drivers/demo/core.c": CALLER,
        "drivers/demo/power_a.c": POWERUP.format(storage="", early="0"),
        "drivers/demo/power_b.c": POWERUP.format(storage="", early="-ENODEV"),
    }
    assert _leaks(tmp_path, files) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{ return 0; }", 0),
        ("{ if (a) return (1); return 1; }", 1),
        ("{ if (a) return 0; return 1; }", None),
        ("{ if (a) return 0; b(); }", None),
        ("{ return a; }", None),
        ("{ RETURN_IF(a); return 0; }", None),
    ],
)
def test_constant_return(body: str, expected: int | None) -> None:
    source = parse_c(f"int f(int a)\n{body}\n")
    macros = frozenset({"RETURN_IF"})
    assert constant_return(source.functions[0], macros) == expected


@pytest.mark.parametrize(
    ("value", "name"),
    [("f(a)", "f"), ("f(g(a), b)", "f"), ("f(a) + g(b)", None), ("f(a)->x", None), ("a", None)],
)
def test_called_name(value: str, name: str | None) -> None:
    assert called_name(value) == name


def test_a_directorys_declarators_are_kept_until_one_of_its_files_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "linux"
    directory = root / "drivers" / "demo"
    directory.mkdir(parents=True)
    (directory / "suspend.c").write_text(POWERUP.format(storage="", early="0"))
    found = constant_returns._directory_declarators(root, "drivers/demo")
    assert found == {"demo_powerup": ("drivers/demo/suspend.c",)}
    kept = tmp_path / "cache" / "declarators"
    assert len(list(kept.glob("*.json"))) == 1
    # Read back from the cache folder, not from the files (a pattern finding nothing
    # would find nothing there).
    monkeypatch.setattr(constant_returns, "_DECLARATOR", re.compile(r"(?!x)x"))
    assert constant_returns._directory_declarators(root, "drivers/demo") == found
    # A file of the directory changed (size and time): read again.
    (directory / "suspend.c").write_text(POWERUP.format(storage="static ", early="1") + "\n")
    assert constant_returns._directory_declarators(root, "drivers/demo") == {}
    assert len(list(kept.glob("*.json"))) == 2
    # A scan keeps none.
    constant_returns.keep_directory_listings(False)
    try:
        (directory / "resume.c").write_text(CALLER)
        constant_returns._directory_declarators(root, "drivers/demo")
    finally:
        constant_returns.keep_directory_listings(True)
    assert len(list(kept.glob("*.json"))) == 2
