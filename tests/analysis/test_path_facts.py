"""A callee of another file whose sleep depends on a parameter being NULL: what the
caller's path says of the argument (an address, a pointer tested before) judges
it, in a whole-tree scan and in a patch check alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.analysis import load_table, table_path
from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.scan import scan_tree
from patchlint.source import FunctionIndex, parse_c

CALLER = """
struct demo_net { spinlock_t lock; struct demo_peer self; };

struct demo_peer *demo_create(struct demo_net *dn)
{
	struct demo_peer *p;

	spin_lock(&dn->lock);
	p = kzalloc(sizeof(*p), GFP_ATOMIC);
	if (!p)
		goto out;
	demo_start(&p->rx, p);
	demo_start(&dn->self.rx, &dn->self);
out:
	spin_unlock(&dn->lock);
	return p;
}

void demo_start_peer(struct demo_net *dn, struct demo_peer *peer)
{
	spin_lock(&dn->lock);
	demo_start(&peer->rx, peer);
	spin_unlock(&dn->lock);
}
"""
CALLEE = """
int demo_start(struct demo_ctx **slot, struct demo_peer *peer)
{
	struct demo_ctx *c;

	c = kzalloc(sizeof(*c), GFP_ATOMIC);
	if (!c)
		return -ENOMEM;
	if (!peer)
		c->wq = demo_queue();
	c->stats = kzalloc(16, GFP_ATOMIC);
	if (!c->stats) {
		if (c->wq)
			destroy_workqueue(c->wq);
		kfree(c);
		return -ENOMEM;
	}
	*slot = c;
	return 0;
}
"""


def _tree(root: Path) -> Path:
    (root / "net").mkdir(parents=True)
    (root / "net" / "caller.c").write_text(CALLER)
    (root / "net" / "callee.c").write_text(CALLEE)
    return root


def test_scan_judges_another_files_guarded_sleep_by_the_callers_path(tmp_path: Path) -> None:
    result = scan_tree(_tree(tmp_path / "tree"), ["sleep-in-atomic"], jobs=1)
    assert [(f.file, f.function, f.line) for f in result.findings] == [
        ("net/caller.c", "demo_start_peer", 22)
    ]


def test_check_judges_it_through_the_scans_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    root = _tree(tmp_path / "tree")
    scan_tree(root, ["sleep-in-atomic"], jobs=1, use_cache=True)
    path = table_path(root)
    assert path is not None and load_table(path) is not None
    unit = AnalysisUnit(
        source=parse_c(CALLER, "net/caller.c"), path="net/caller.c", index=FunctionIndex(root)
    )
    findings = run_rules(unit, select_rules(enabled=["sleep-in-atomic"]))
    assert [(f.function, f.line) for f in findings] == [("demo_start_peer", 22)]
