"""A patch that exceeds its time budget is reported as skipped; the run goes on."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from patchlint.cli import main
from patchlint.pipeline.budget import BudgetExceeded, patch_budget

REPO = Path(__file__).resolve().parent.parent


def test_budget_interrupts_a_long_step() -> None:
    import time

    try:
        with patch_budget(0.05):
            time.sleep(2)
    except BudgetExceeded as error:
        assert "0.05" in str(error)
    else:
        raise AssertionError("the budget did not fire")


def test_skipped_patch_is_reported_and_others_continue() -> None:
    seed = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"
    other = REPO / "fixtures" / "rules" / "fixes-short-sha" / "fixes.mbox"
    result = CliRunner().invoke(
        main,
        [
            "check",
            "--no-tree",
            "--format",
            "json",
            "--patch-timeout",
            "0.000001",
            str(seed),
            str(other),
        ],
    )
    data = json.loads(result.stdout)
    assert len(data["patches"]) == 2
    assert all(p["skipped"].startswith("budget exceeded") for p in data["patches"])
    assert [m["kind"] for m in data["messages"]].count("patch") == 2
