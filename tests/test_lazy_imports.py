"""A run that touches no C loads no tree-sitter, and nothing prints through rich or
Jinja2 unless asked: b4 and the git hooks start one patchlint per patch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROGRAM = """
import json, sys
from patchlint.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""


def _loaded(*args: str) -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CI", None)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, env=env
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_patch_without_c_loads_no_parser_no_progress_no_templates() -> None:
    patch = REPO / "fixtures" / "mail" / "doc-only.patch"
    code, modules = _loaded("check", "--no-tree", "--format", "checkpatch", str(patch))
    assert code == 0
    assert not {"tree_sitter", "tree_sitter_c", "rich", "jinja2"} & modules


def test_patch_with_c_does_load_the_parser() -> None:
    """The control: the same probe sees tree-sitter when C is analysed."""
    patch = REPO / "fixtures" / "mail" / "seed-v9-thread.mbox"
    code, modules = _loaded("check", "--no-tree", "--format", "json", str(patch))
    assert code == 0
    assert "tree_sitter" in modules
