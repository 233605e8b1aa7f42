"""A finding's evidence does not depend on the hash seed: where two paths reach a
sleeping call holding the same lock taken at different lines (taken before a loop and
taken again inside it), the lock line shown is the same run after run (it followed
the iteration order of a set of lock states)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOOP = """struct demo { spinlock_t lock; int n; int x[4]; };

void demo_poll(struct demo *d)
{
	unsigned long flags;
	int i;

	spin_lock_irqsave(&d->lock, flags);
	for (i = 0; i < d->n; i++) {
		if (d->x[i]) {
			spin_unlock_irqrestore(&d->lock, flags);
			d->x[i] = 0;
			spin_lock_irqsave(&d->lock, flags);
			continue;
		}
		msleep(1);
	}
	spin_unlock_irqrestore(&d->lock, flags);
}
"""


def test_the_evidence_of_a_sleep_is_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "demo.c").write_text(LOOP)
    shown = set()
    for seed in range(1, 7):
        out = tmp_path / f"scan-{seed}.json"
        environment = {**os.environ, "PYTHONHASHSEED": str(seed), "PATCHLINT_NO_CACHE": "1"}
        subprocess.run(
            [sys.executable, "-m", "patchlint", "scan", str(tree), "--jobs", "1"]
            + ["--format", "json", "-o", str(out), "--no-cache"],
            check=True,
            env=environment,
            capture_output=True,
        )
        findings = json.loads(out.read_text())["findings"]
        assert [f["rule"] for f in findings] == ["sleep-in-atomic"]
        shown.add(json.dumps(findings, sort_keys=True))
    assert len(shown) == 1
    assert "taken by spin_lock_irqsave() at line 8" in shown.pop()
