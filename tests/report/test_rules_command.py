"""`patchlint rules` and `patchlint explain RULE`."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from patchlint.commands.rules import EXTRA_COMMANDS, command, explain_command
from patchlint.knowledge import data_path
from patchlint.rules.engine import RuleMeta, all_rules


def test_rules_lists_every_rule() -> None:
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for meta in all_rules():
        row = next(line for line in lines if line.startswith(meta.id + " "))
        assert meta.severity in row and meta.family in row


def test_rules_json_and_family() -> None:
    result = CliRunner().invoke(command, ["--json", "--family", "mail"])
    data = json.loads(result.output)
    assert data and {r["family"] for r in data} == {"mail"}
    assert {"id", "severity", "family", "summary", "doc"} <= set(data[0])


def test_explain_prints_the_doc_page() -> None:
    meta = all_rules()[0]
    result = CliRunner().invoke(explain_command, [meta.id])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{meta.id}: {meta.name}\n")
    assert data_path(meta.doc).read_text(encoding="utf-8").strip() in result.output


def test_explain_without_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    meta = all_rules()[0]
    ghost = RuleMeta(**{**meta.__dict__, "doc": "docs/no-such-page.md"})
    monkeypatch.setattr("patchlint.rules.get_rule", lambda rule_id: ghost)
    result = CliRunner().invoke(explain_command, [meta.id])
    assert result.exit_code == 0
    assert "No documentation page yet" in result.output and meta.summary[:30] in result.output


def test_explain_unknown_rule_suggests() -> None:
    result = CliRunner().invoke(explain_command, ["rcu-slep"])
    assert result.exit_code == 2
    assert "unknown rule 'rcu-slep'" in result.output and "rcu-sleep" in result.output


def test_explain_is_offered_to_the_cli() -> None:
    assert explain_command in EXTRA_COMMANDS
    from patchlint.cli import main

    assert "explain" in main.list_commands(click.Context(main))  # commands load lazily
    result = CliRunner().invoke(main, ["explain", "rcu-sleep"])
    assert result.exit_code == 0 and result.output.startswith("rcu-sleep: ")
