"""End to end: a touched function the front end cannot parse is listed as "not
analysed", with the reason, in the JSON and with ``--verbose``, and no rule reports a
finding in it; the same patch on a function that parses gets its finding."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from patchlint.cli import main

REPO = Path(__file__).resolve().parent.parent.parent
SCHEMA = json.loads((REPO / "patchlint" / "report" / "check-output.schema.json").read_text())

# A macro expanding to the tail of an expression: tree-sitter cannot parse its uses.
HEAD = "#define OR_FLAG(x) | (x)\n\nint g(void);\n\n"
BEFORE = (
    "int f(int x)\n{\n\trcu_read_lock();\n\tx = 1{use};\n\trcu_read_unlock();\n\treturn x;\n}\n"
)
# The patch adds an early return that leaks the RCU read lock.
AFTER = (
    "int f(int x)\n{\n\trcu_read_lock();\n\tx = 1{use};\n\tif (g())\n\t\treturn -1;\n"
    "\trcu_read_unlock();\n\treturn x;\n}\n"
)


def _mail(tmp_path: Path, use: str) -> tuple[Path, Path]:
    """A tree holding ``f`` and a format-patch mail that edits it."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> bytes:
        done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
        return done.stdout

    git("init", "-q")
    git("config", "user.email", "dev@example.org")
    git("config", "user.name", "Dev Eloper")
    (repo / "lib.c").write_text(HEAD + BEFORE.replace("{use}", use))
    git("add", ".")
    git("commit", "-qm", "base")
    (repo / "lib.c").write_text(HEAD + AFTER.replace("{use}", use))
    git("commit", "-qam", "lib: bail out early\n\nSigned-off-by: Dev Eloper <dev@example.org>")
    mail = tmp_path / "0001.patch"
    mail.write_bytes(git("format-patch", "--stdout", "HEAD~1..HEAD"))
    git("reset", "-q", "--hard", "HEAD~1")  # the tree the patch applies to
    return repo, mail


def _check(repo: Path, mail: Path, *options: str) -> tuple[dict[str, object], str]:
    result = CliRunner().invoke(
        main,
        ["check", "--tree", str(repo), "--no-simulate", "--format", "json", *options, str(mail)],
        catch_exceptions=False,
    )
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    return data, result.stderr


def test_a_function_that_parses_gets_its_finding(tmp_path: Path) -> None:
    data, _ = _check(*_mail(tmp_path, " | 2"))
    (patch,) = data["patches"]
    assert patch["not_analysed"] == []
    assert "rcu-unbalanced" in [f["rule"] for f in patch["findings"]]


def test_an_unparsed_function_is_not_analysed_with_its_reason(tmp_path: Path) -> None:
    data, stderr = _check(*_mail(tmp_path, " OR_FLAG(2) OR_FLAG(4)"), "--verbose")
    (patch,) = data["patches"]
    assert [f["rule"] for f in patch["findings"] if f["rule"] != "missing-signoff"] == []
    listed = {(item["function"], item["image"]) for item in patch["not_analysed"]}
    assert listed == {("f", "before"), ("f", "after")}
    reasons = {item["reason"] for item in patch["not_analysed"]}
    assert all("unsupported macro OR_FLAG" in reason for reason in reasons), reasons
    assert "lib.c: f() not analysed (after): unsupported macro OR_FLAG" in stderr


def test_the_text_report_says_it_too(tmp_path: Path) -> None:
    repo, mail = _mail(tmp_path, " OR_FLAG(2) OR_FLAG(4)")
    result = CliRunner().invoke(
        main, ["check", "--tree", str(repo), "--no-simulate", str(mail)], catch_exceptions=False
    )
    assert "not analysed: lib.c: f() not analysed (before): unsupported macro" in result.stdout


def test_a_function_too_deep_for_the_budget_is_not_analysed(tmp_path: Path) -> None:
    data, stderr = _check(*_mail(tmp_path, " + " + "(" * 300 + "1" + ")" * 300), "--verbose")
    (patch,) = data["patches"]
    assert [f["rule"] for f in patch["findings"] if f["rule"] != "missing-signoff"] == []
    assert {item["image"] for item in patch["not_analysed"]} == {"before", "after"}
    assert all("nesting deeper than the budget" in i["reason"] for i in patch["not_analysed"])
    assert "f() not analysed (before): nesting deeper than the budget" in stderr


def _report(repo: Path, mail: Path, form: str) -> str:
    result = CliRunner().invoke(
        main,
        ["check", "--tree", str(repo), "--no-simulate", "--format", form, str(mail)],
        catch_exceptions=False,
    )
    return result.stdout


def _reviewer_report(repo: Path, mail: Path, output: Path) -> str:
    CliRunner().invoke(
        main,
        ["report", "--tree", str(repo), "--no-simulate", "-o", str(output), str(mail)],
        catch_exceptions=False,
    )
    return output.read_text(encoding="utf-8")


def test_markdown_and_html_reports_list_it(tmp_path: Path) -> None:
    repo, mail = _mail(tmp_path, " OR_FLAG(2) OR_FLAG(4)")
    markdown = _reviewer_report(repo, mail, tmp_path / "report.md")
    assert "- *Not analysed:* lib.c: f() not analysed (after): unsupported macro" in markdown
    html = _reviewer_report(repo, mail, tmp_path / "report.html")
    assert "Not analysed: lib.c: f() not analysed (before): unsupported macro" in html


def test_sarif_says_it_as_a_notification_at_the_function(tmp_path: Path) -> None:
    repo, mail = _mail(tmp_path, " OR_FLAG(2) OR_FLAG(4)")
    document = json.loads(_report(repo, mail, "sarif"))
    schema = json.loads((REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema)
    (run,) = document["runs"]
    notes = [
        note
        for note in run["invocations"][0].get("toolExecutionNotifications", [])
        if "notAnalysed" in note.get("properties", {})
    ]
    assert {note["properties"]["notAnalysed"]["image"] for note in notes} == {"before", "after"}
    (after,) = [note for note in notes if note["properties"]["notAnalysed"]["image"] == "after"]
    location = after["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "lib.c"
    assert location["physicalLocation"]["region"]["startLine"] == 5
    assert location["logicalLocations"] == [{"name": "f", "kind": "function"}]
    assert [r for r in run["results"] if r["ruleId"] != "missing-signoff"] == []
