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
    path = REPO.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip(f"SARIF schema not found at {path} (../shared/schemas from the repo root)")
    return path
