"""Install the package non-editable into a fresh venv and run it from outside the repo,
so a missing package-data file or install step fails here rather than on a user's machine."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_runs_check_outside_repo(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    fixture = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"
    run = subprocess.run(
        [
            str(env_dir / "bin" / "patchlint"),
            "check",
            "--no-tree",
            "--format",
            "json",
            str(fixture),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=300,
    )
    # Patch-only mode finds nothing failing in the seed patch (the same run as
    # tests/test_cli_check.py::test_seed_thread_patch_only): anything else is a crash.
    assert run.returncode == 0, run.stderr[-3000:]
    output = json.loads(run.stdout)
    assert len(output["patches"]) == 1
    # The rule catalog and docs must have been shipped inside the wheel.
    rules = subprocess.run(
        [str(env_dir / "bin" / "patchlint"), "rules"],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=120,
    )
    assert rules.returncode == 0, rules.stderr[-2000:]
    assert "task-iter-unlocked" in rules.stdout
    assert sys.version_info >= (3, 11)
