"""`patchlint check` end to end through the CLI: inputs, formats, exit codes, schema."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from patchlint.cli import main

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"
SCHEMA = json.loads((REPO / "patchlint" / "report" / "check-output.schema.json").read_text())


def run(*args: str, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout


def check_json(*args: str, input: bytes | None = None) -> tuple[int, dict]:
    code, output = run("check", "--format", "json", *args, input=input)
    data = json.loads(output)
    jsonschema.validate(data, SCHEMA)
    return code, data


def test_seed_thread_patch_only() -> None:
    code, data = check_json("--no-tree", str(SEED))
    assert code == 0
    assert [m["kind"] for m in data["messages"]] == ["patch", "reply", "reply"]
    (patch,) = data["patches"]
    assert patch["series"] == {"version": 9, "index": 1, "total": 2, "prefixes": ["PATCH"]}
    reply_trailers = {(t["tag"], t["given_by"]) for t in patch["trailers"] if t["from_reply"]}
    # Michal's Acked-by is already in the commit message: shown once (issue 11 item 4).
    (acked,) = [t for t in patch["trailers"] if t["tag"] == "Acked-by"]
    assert not acked["from_reply"]
    assert ("Reviewed-by", "Suren Baghdasaryan <surenb@google.com>") in reply_trailers
    assert any("2/2 not in this input" in p["message"] for p in data["series_problems"])
    assert [f["path"] for f in patch["files"]] == [
        "include/linux/freezer.h",
        "kernel/freezer.c",
        "mm/oom_kill.c",
    ]
    assert patch["partial"] is True


@pytest.mark.kernel
def test_seed_thread_with_tree(kernel_tree: Path) -> None:
    code, data = check_json("--tree", str(kernel_tree), str(SEED))
    assert code == 0
    (patch,) = data["patches"]
    hunks = {f["path"]: f["hunks"] for f in patch["files"]}
    assert hunks["mm/oom_kill.c"] == ["offset 1"]
    assert all(f["apply_state"] == "applied" for f in patch["files"])
    statuses = {(f["rule"], f["status"], f["function"]) for f in patch["findings"]}
    assert ("thread-flag-as-group", "resolved", "freezing_slow_path") in statuses
    assert ("thread-action-on-group", "resolved", "mark_oom_victim") in statuses
    assert not [f for f in patch["findings"] if f["status"] == "introduced"]


def test_stdin_and_text_summary() -> None:
    code, output = run("check", "--no-tree", "-", input=SEED.read_bytes())
    assert code == 0
    assert "[PATCH v9 1/2]" in output
    assert "summary: 3 messages" in output


def test_directory_of_format_patch_files(tmp_path: Path) -> None:
    directory = tmp_path / "series"
    directory.mkdir()
    shutil.copy(REPO / "fixtures" / "mail" / "missing-signoff.eml", directory / "0001-x.patch")
    code, data = check_json("--no-tree", str(directory))
    assert len(data["messages"]) == 1
    assert any(f["rule"] == "missing-signoff" for p in data["patches"] for f in p["findings"])
    assert code == 1  # missing-signoff is an error by default
    code, _ = check_json("--no-tree", "--fail-on", "never", str(directory))
    assert code == 0


def test_unreadable_input_exits_2_and_other_inputs_still_run(tmp_path: Path) -> None:
    code, output = run(
        "check", "--no-tree", "--format", "json", str(tmp_path / "missing.mbox"), str(SEED)
    )
    assert code == 2
    data = json.loads(output)
    assert len(data["patches"]) == 1
    assert any("missing.mbox" in error for error in data["errors"])


def test_usage_errors_exit_2() -> None:
    assert run("check")[0] == 2
    assert run("check", "--types", "no-such-rule", str(SEED))[0] == 2


def test_every_fixture_message_accounted_for() -> None:
    for fixture in sorted((REPO / "fixtures" / "mail").glob("*.*")):
        if fixture.suffix not in (".mbox", ".eml"):
            continue
        _, data = check_json("--no-tree", "--fail-on", "never", str(fixture))
        indexes = [m["index"] for m in data["messages"]]
        assert indexes == list(range(len(indexes))), fixture.name
        for message in data["messages"]:
            if message["kind"] in ("error", "other"):
                assert message["reason"], (fixture.name, message)


def new_repo(tmp_path: Path) -> tuple[Path, Callable[..., bytes]]:
    """An empty git repository with an identity, and a runner for git in it."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True
        ).stdout

    git("init", "-q")
    git("config", "user.email", "dev@example.org")
    git("config", "user.name", "Dev Eloper")
    return repo, git


def test_git_range(tmp_path: Path) -> None:
    repo, git = new_repo(tmp_path)
    (repo / "lib.c").write_text("int f(void)\n{\n\treturn 1;\n}\n")
    git("add", ".")
    git("commit", "-qm", "base")
    (repo / "lib.c").write_text("int f(void)\n{\n\treturn 2;\n}\n")
    git("commit", "-qam", "lib: return 2\n\nSigned-off-by: Dev Eloper <dev@example.org>")
    (repo / "lib.c").write_text("int f(void)\n{\n\treturn 3;\n}\n")
    git("commit", "-qam", "lib: return 3")
    runner = CliRunner()
    import os

    cwd = os.getcwd()
    os.chdir(repo)
    try:
        result = runner.invoke(main, ["check", "--format", "json", "--git", "HEAD~2..HEAD"])
    finally:
        os.chdir(cwd)
    data = json.loads(result.stdout)
    assert [p["series"]["index"] for p in data["patches"]] == [1, 2]
    assert all(f["apply_state"] == "applied" for p in data["patches"] for f in p["files"])
    # The second commit has no Signed-off-by: the run fails on it.
    assert result.exit_code == 1
    rules = [[f["rule"] for f in p["findings"]] for p in data["patches"]]
    assert rules == [[], ["missing-signoff"]]


def test_series_applies_in_patch_order_whatever_the_mbox_order(tmp_path: Path) -> None:
    repo, git = new_repo(tmp_path)
    for value in (1, 2, 3):
        (repo / "lib.c").write_text(f"int f(void)\n{{\n\treturn {value};\n}}\n")
        if value == 1:
            git("add", ".")
        git("commit", "-qam", f"lib: return {value}\n\nSigned-off-by: Dev Eloper <dev@example.org>")
    patches = git("format-patch", "--stdout", "HEAD~2..HEAD").split(b"\nFrom ")
    reversed_mbox = tmp_path / "reversed.mbox"
    reversed_mbox.write_bytes(b"From " + patches[1] + b"\n" + patches[0] + b"\n")
    git("checkout", "-q", "HEAD~2")
    code, data = check_json("--tree", str(repo), "--no-simulate", str(reversed_mbox))
    assert [p["series"]["index"] for p in data["patches"]] == [2, 1]
    assert all(f["apply_state"] == "applied" for p in data["patches"] for f in p["files"])
    assert code == 0


def test_patch_already_in_the_checkout_uses_its_blob_ids(tmp_path: Path) -> None:
    """b4 prep --check and sendemail hooks check commits the work tree already holds:
    the diff's `index` blob ids give the exact pre-image."""
    repo, git = new_repo(tmp_path)
    (repo / "lib.c").write_text("int f(void)\n{\n\treturn 1;\n}\n")
    git("add", ".")
    git("commit", "-qm", "base")
    (repo / "lib.c").write_text("int f(void)\n{\n\treturn 2;\n}\n")
    git("commit", "-qam", "lib: return 2\n\nSigned-off-by: Dev Eloper <dev@example.org>")
    mail = git("format-patch", "-1", "--stdout", "HEAD")
    code, data = check_json("--tree", str(repo), "--no-simulate", "-", input=mail)
    (file,) = data["patches"][0]["files"]
    assert file["apply_state"] == "applied", file
    assert code == 0
