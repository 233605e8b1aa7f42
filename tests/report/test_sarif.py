"""SARIF 2.1.0: schema-valid, with rule metadata, stable fingerprints, evidence as
related locations and code flows, suppressions and baseline states."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from report_sample import REPO, build_result

from patchlint.report import FORMATS, render
from patchlint.report.sarif import FINGERPRINT, fingerprint
from patchlint.rules.engine import all_rules


def validate(document: dict, schema_path: Path) -> None:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, cls=jsonschema.Draft7Validator)


def sarif(result) -> dict:
    return json.loads(render(result, "sarif"))


def by_rule(document: dict, rule: str) -> dict:
    return next(r for r in document["runs"][0]["results"] if r["ruleId"] == rule)


def test_registered() -> None:
    assert FORMATS["sarif"].check == "patchlint.report.sarif:render_sarif"


def test_valid_against_schema(schema_path: Path) -> None:
    document = sarif(build_result())
    validate(document, schema_path)
    assert document["version"] == "2.1.0"


def test_rule_metadata() -> None:
    rules = sarif(build_result())["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [m.id for m in all_rules()]
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        # No file:// helpUri (issue 11 item 11): the documentation is help.markdown.
        assert "helpUri" not in rule
        assert rule["help"]["markdown"].startswith(f"# {rule['id']}")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


def test_introduced_result() -> None:
    document = sarif(build_result())
    result = by_rule(document, "thread-action-on-group")
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "thread-action-on-group"
    assert result["level"] == "warning" and result["kind"] == "fail"
    assert result["baselineState"] == "new"
    region = result["locations"][0]["physicalLocation"]["region"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "kernel/freezer.c", "uriBaseId": "SRCROOT"}
    assert region["startLine"] == build_result().patches[0].findings[0].line
    assert region["startColumn"] == 3
    assert result["locations"][0]["logicalLocations"][0]["name"] == "thaw_process"
    assert len(result["relatedLocations"]) == 4
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["kinds"][0] for s in steps] == ["acquire", "call", "release"]
    assert steps[1]["nestingLevel"] == 1


def test_fingerprint_ignores_lines_but_not_identity() -> None:
    one, two = build_result(), build_result()
    moved = two.patches[0].findings[0]
    moved.line = (moved.line or 0) + 40
    first = by_rule(sarif(one), "thread-action-on-group")["partialFingerprints"][FINGERPRINT]
    second = by_rule(sarif(two), "thread-action-on-group")["partialFingerprints"][FINGERPRINT]
    assert first == second
    other = one.patches[0].findings[0]
    before = fingerprint(other)
    other.key = "__thaw_task(t)#1"
    assert fingerprint(other) != before


def test_suppressed_reported_not_dropped() -> None:
    result = by_rule(sarif(build_result()), "task-iter-unlocked")
    assert result["suppressions"][0]["kind"] == "inSource"
    assert "<script>" in result["message"]["text"]  # JSON carries the text as is


def test_resolved_is_not_an_alert() -> None:
    document = sarif(build_result())
    assert not any(r["ruleId"] == "thread-flag-as-group" for r in document["runs"][0]["results"])
    (result,) = document["runs"][0]["properties"]["resolved"]
    assert result["ruleId"] == "thread-flag-as-group"
    assert result["baselineState"] == "absent" and result["properties"]["image"] == "pre"


def test_every_result_has_a_physical_location(tmp_path: Path) -> None:
    from patchlint.mail import iter_messages
    from patchlint.pipeline import CheckOptions, run_check

    series = REPO / "fixtures" / "mail" / "series" / "missing-two-of-six.mbox"
    data = series.read_bytes()
    for source in (str(series), "-"):
        messages = (
            iter_messages(__import__("io").BytesIO(data), name="<stdin>")
            if source == "-"
            else iter_messages(source)
        )
        result = run_check(messages, CheckOptions(simulate=False), [source])
        document = sarif(result)
        found = document["runs"][0]["results"]
        assert any(r["ruleId"] == "series-incomplete" for r in found)
        for item in found:
            physical = item["locations"][0]["physicalLocation"]
            assert physical["artifactLocation"]["uri"] in (str(series), "stdin")
            assert physical["region"]["startLine"] >= 1


def test_mail_finding_points_at_the_message() -> None:
    result = by_rule(sarif(build_result()), "trailer-sender-mismatch")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "seed.mbox"
    assert "baselineState" not in result


def test_tree_base_and_errors(schema_path: Path, tmp_path: Path) -> None:
    result = build_result()
    result.tree = str(tmp_path)
    result.errors.append("broken.mbox: cannot read")
    document = sarif(result)
    validate(document, schema_path)
    run = document["runs"][0]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].endswith("/")
    assert run["invocations"][0]["executionSuccessful"] is False


@pytest.mark.kernel
def test_seed_thread_sarif_validates(kernel_tree: Path, schema_path: Path) -> None:
    seed = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchlint",
            "check",
            "--format",
            "sarif",
            "--no-simulate",
            "--fail-on",
            "never",
            "--tree",
            str(kernel_tree),
            str(seed),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    validate(document, schema_path)
    assert document["runs"][0]["results"], "the seed thread has findings"
