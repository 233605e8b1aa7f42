"""Collecting the test suite writes nothing into the checkout.

The run is made as scripts/test.sh makes it, with PYTHONDONTWRITEBYTECODE (Python's own
bytecode cache is the interpreter's choice, not the suite's).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _listing() -> set[str]:
    return {
        str(path.relative_to(REPO))
        for path in REPO.rglob("*")
        if ".git" not in path.relative_to(REPO).parts[:1] and "__pycache__" not in path.parts
    }


def test_collection_writes_nothing_into_the_checkout() -> None:
    before = _listing()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    created = sorted(_listing() - before)
    assert not created, created
