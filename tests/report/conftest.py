"""Fixtures of the report format tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_sample import REPO, build_result

from patchlint.result import CheckResult


@pytest.fixture
def sample_result() -> CheckResult:
    return build_result()


@pytest.fixture
def schema_path() -> Path:
    """The OASIS SARIF 2.1.0 schema, vendored under tests/schemas (see its README)."""
    return REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"


SEED = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"


@pytest.fixture(scope="session")
def seed_report_html(kernel_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`patchlint report` of the seed thread against linux 6.12, with simulation; built
    once per session since the simulation takes a while."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("seed-report") / "report.html"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchlint",
            "report",
            "--tree",
            str(kernel_tree),
            str(SEED),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    return out
