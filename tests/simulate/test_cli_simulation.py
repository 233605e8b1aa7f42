"""The simulation through the CLI: `check` JSON (schema-valid) and text, `simulate`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from simhelpers import REPO, SIM_FIXTURES

from patchlint.cli import main

pytestmark = pytest.mark.kernel

SCHEMA = json.loads((REPO / "patchlint/report/check-output.schema.json").read_text())
MEMDIE = str(SIM_FIXTURES / "oom-memdie-all-threads.patch")


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def test_check_json_carries_counters_invariants_and_the_search(kernel_tree: Path) -> None:
    data = json.loads(_run("check", "--format", "json", "--tree", str(kernel_tree), MEMDIE))
    jsonschema.validate(data, SCHEMA)
    (patch,) = data["patches"]
    simulations = {s["scenario"]: s for s in patch["simulation"]}
    exits = simulations["oom-victim-threads-exit"]
    assert exits["before"]["counters"][0]["values"] == [1, 0, 0, 0, 0]
    assert exits["after"]["counters"][0]["values"] == [1, 0, -1, -2, -3]
    assert exits["after"]["violated"] == [
        {"invariant": "oom_victims >= 0", "step": "T1", "values": "oom_victims = -1"}
    ]
    search = exits["search"]
    assert (search["explored"], search["complete"]) == (4, True)
    assert [d["world"] for d in search["differing"]] == [
        {"victim threads": "2"},
        {"victim threads": "3"},
        {"victim threads": "4"},
    ]
    assert search["differing_axes"] == {"victim threads": ["2", "3", "4"]}
    states = simulations["oom-victim-freezer-states"]["search"]
    assert (states["explored"], states["excluded"], len(states["differing"])) == (288, 104, 99)


def test_check_text_and_simulate_list_the_worlds(kernel_tree: Path) -> None:
    text = _run("check", "--tree", str(kernel_tree), MEMDIE)
    assert "counter oom_victims after: 1 -> 0 -> -1 -> -2 -> -3" in text
    assert "divergence search: 4 worlds, 0 excluded, 0 unknown, 3 differ" in text
    assert "... 91 more" in text
    seed = str(REPO / "fixtures/mail/seed-v9-thread.mbox")
    text = _run(
        "simulate", "--tree", str(kernel_tree), "--scenario", "oom-victim-freezer-states", seed
    )
    assert "288 worlds explored, 104 excluded by the assumption, 0 unknown, 99 differ" in text
    assert (
        "differing worlds have: victim threads 2, 3, 4 (never 1); victim flags none"
        " (never PF_NOFREEZE)" in text
    )
    world = (
        "    - victim threads: 3, PM: freezing user space, cgroup: thawed,"
        " victim state: frozen while running, victim flags: none\n"
        "        before: 1 of 3 (T0); T1: !frozen(t) = false, !freezing(t) = false;"
        " T2: !frozen(t) = false, !freezing(t) = false\n"
        "        after:  3 of 3 (T0, T1, T2)\n"
    )
    assert world in text
