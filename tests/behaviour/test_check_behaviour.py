"""Differential execution end to end: `patchlint check` on a mailed patch against a
small tree, JSON output valid against the schema, the NFC rule, --no-behaviour."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from patchlint.cli import main

DRIVER = """\
#define EINVAL 22

struct foo_req {
	unsigned int len;
	unsigned int max;
};

int foo_check_len(const struct foo_req *req)
{
	if (req->len == 0)
		return -EINVAL;
	if (req->len > req->max)
		return -EINVAL;
	return 0;
}

int foo_scale(int x)
{
	return x * 2;
}
"""

PATCH = """\
From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Dev Eloper <dev@example.org>
Date: Mon, 6 Jan 2025 10:00:00 +0000
Subject: [PATCH] foo: simplify foo_check_len() and foo_scale()

Merge the two length checks into one comparison and use a shift.

No functional change intended.

Signed-off-by: Dev Eloper <dev@example.org>
---
 drivers/foo/foo.c | 6 ++----
 1 file changed, 2 insertions(+), 4 deletions(-)

diff --git a/drivers/foo/foo.c b/drivers/foo/foo.c
--- a/drivers/foo/foo.c
+++ b/drivers/foo/foo.c
@@ -8,13 +8,11 @@ struct foo_req {
 int foo_check_len(const struct foo_req *req)
 {
-\tif (req->len == 0)
-\t\treturn -EINVAL;
-\tif (req->len > req->max)
+\tif (req->len - 1 > req->max)
 \t\treturn -EINVAL;
 \treturn 0;
 }
@@BLANK@@
 int foo_scale(int x)
 {
-\treturn x * 2;
+\treturn x << 1;
 }
--
2.47.0
""".replace("@@BLANK@@", " ")  # a blank context line of the diff is one space

SCHEMA = Path(__file__).resolve().parents[2] / "patchlint" / "report" / "check-output.schema.json"


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "linux"
    (tree / "drivers" / "foo").mkdir(parents=True)
    (tree / "drivers" / "foo" / "foo.c").write_text(DRIVER)
    return tree


def test_check_reports_the_divergence_and_the_verified_function(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    patch = tmp_path / "foo.patch"
    patch.write_text(PATCH)
    run = CliRunner().invoke(main, ["check", "--tree", str(tree), "--format", "json", str(patch)])
    data = json.loads(run.output)
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    (result,) = data["patches"]
    verdicts = {entry["function"]: entry for entry in result["behaviour"]}
    assert verdicts["foo_check_len"]["verdict"] == "diverges"
    witness = verdicts["foo_check_len"]["witness"]
    assert witness["before"]["return"] == -22 and witness["after"]["return"] == 0
    assert verdicts["foo_scale"]["verdict"] == "equivalent"
    rules = {(f["rule"], f["function"]) for f in result["findings"]}
    assert ("nfc-claim-diverges", "foo_check_len") in rules
    assert ("nfc-claim-verified", "foo_scale") in rules
    assert run.exit_code == 1  # the error finding fails the run


def test_no_behaviour_turns_it_off(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    patch = tmp_path / "foo.patch"
    patch.write_text(PATCH)
    run = CliRunner().invoke(
        main, ["check", "--tree", str(tree), "--no-behaviour", "--format", "json", str(patch)]
    )
    (result,) = json.loads(run.output)["patches"]
    assert result["behaviour"] == []
    assert not [f for f in result["findings"] if f["rule"].startswith("nfc-claim")]


def test_text_and_reviewer_report_show_the_witness(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    patch = tmp_path / "foo.patch"
    patch.write_text(PATCH)
    text = CliRunner().invoke(main, ["check", "--tree", str(tree), str(patch)]).output
    assert "behaviour foo_check_len(): diverges" in text
    assert "first difference: return value: before -22, after 0" in text
    report = tmp_path / "report.md"
    CliRunner().invoke(main, ["report", "--tree", str(tree), "-o", str(report), str(patch)])
    markdown = report.read_text()
    assert "### Behaviour before and after" in markdown
    assert "| returns | -22 | 0 |" in markdown
    html = tmp_path / "report.html"
    CliRunner().invoke(main, ["report", "--tree", str(tree), "-o", str(html), str(patch)])
    assert 'class="witness"' in html.read_text()


def test_sarif_carries_the_witness_of_an_nfc_divergence(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    patch = tmp_path / "foo.patch"
    patch.write_text(PATCH)
    run = CliRunner().invoke(main, ["check", "--tree", str(tree), "--format", "sarif", str(patch)])
    results = json.loads(run.output)["runs"][0]["results"]
    (diverges,) = [r for r in results if r["ruleId"] == "nfc-claim-diverges"]
    behaviour = diverges["properties"]["behaviour"]
    assert behaviour["verdict"] == "diverges"
    assert behaviour["witness"]["first_difference"] == "return value: before -22, after 0"


def test_sarif_of_the_nfc_divergence_is_valid_against_the_vendored_schema(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    patch = tmp_path / "foo.patch"
    patch.write_text(PATCH)
    run = CliRunner().invoke(main, ["check", "--tree", str(tree), "--format", "sarif", str(patch)])
    document = json.loads(run.output)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)
    assert any(r["ruleId"] == "nfc-claim-diverges" for r in document["runs"][0]["results"])


SARIF_SCHEMA = SCHEMA.parents[2] / "tests" / "schemas" / "sarif-schema-2.1.0.json"

HEADER = "struct foo_req {\n\tunsigned int len;\n\tunsigned int max;\n};\n"
HELPER = """
static inline int foo_len_ok(const struct foo_req *req)
{
\treturn req->len != 0 && req->len <= req->max;
}
"""
USER_BEFORE = """\
#include "foo.h"

int foo_check(const struct foo_req *req)
{
\tif (req->len == 0)
\t\treturn -22;
\tif (req->len > req->max)
\t\treturn -22;
\treturn 0;
}
"""
USER_AFTER = """\
#include "foo.h"

int foo_check(const struct foo_req *req)
{
\tif (!foo_len_ok(req))
\t\treturn -22;
\treturn 0;
}
"""


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def test_a_later_patch_of_a_series_runs_the_helper_an_earlier_patch_added(
    tmp_path: Path,
) -> None:
    """1/2 adds foo_len_ok() to foo.h; 2/2 (No functional change) uses it in foo.c.
    Checked as a series, 2/2 sees the helper and is verified; alone, the helper is an
    unknown callee and the claim cannot be verified."""
    repo = tmp_path / "repo"
    (repo / "drivers" / "foo").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.org")
    _git(repo, "config", "user.name", "Dev Eloper")
    (repo / "drivers" / "foo" / "foo.h").write_text(HEADER)
    (repo / "drivers" / "foo" / "foo.c").write_text(USER_BEFORE)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    (repo / "drivers" / "foo" / "foo.h").write_text(HEADER + HELPER)
    _git(repo, "commit", "-qam", "foo: add foo_len_ok()\n\nSigned-off-by: D <dev@example.org>")
    (repo / "drivers" / "foo" / "foo.c").write_text(USER_AFTER)
    message = (
        "foo: use foo_len_ok()\n\nNo functional change intended.\n\nSigned-off-by: D <d@e.org>"
    )
    _git(repo, "commit", "-qam", message)
    series = _git(repo, "format-patch", "--stdout", "--thread", "--cover-letter", "HEAD~2..HEAD")
    alone = _git(repo, "format-patch", "--stdout", "-1", "HEAD")
    _git(repo, "checkout", "-q", "HEAD~2")

    def check(mbox: bytes) -> dict[str, dict[str, Any]]:
        run = CliRunner().invoke(
            main,
            ["check", "--tree", str(repo), "--no-simulate", "--format", "json", "-j", "1", "-"],
            input=mbox,
        )
        return {p["subject"].split("] ")[-1]: p for p in json.loads(run.stdout)["patches"]}

    (without,) = check(alone).values()
    assert [b["verdict"] for b in without["behaviour"]] != ["equivalent"]
    second = check(series)["foo: use foo_len_ok()"]
    assert [(b["function"], b["verdict"]) for b in second["behaviour"]] == [
        ("foo_check", "equivalent")
    ]
    assert [f["rule"] for f in second["findings"] if f["rule"].startswith("nfc")] == [
        "nfc-claim-verified"
    ]
