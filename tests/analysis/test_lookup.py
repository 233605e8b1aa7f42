"""A patch check without a scan's table: other files' functions found through the
function index (patchlint.analysis.lookup), configuration stubs, budgets, and lock
summaries of other files' functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.analysis import lookup
from patchlint.analysis.alternatives import config_alternative
from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.source import FunctionIndex, parse_c
from tests.analysis.test_tree import NOT_A_SLEEPER, SLEEPER

CALLER = """
struct demo { spinlock_t lock; };

void poke(struct demo *d)
{
	spin_lock(&d->lock);
	demo_settle(d);
	spin_unlock(&d->lock);
}
"""
HEADER = """
#ifdef CONFIG_DEMO
extern void demo_settle(struct demo *d);
#else
static inline void demo_settle(struct demo *d) {}
#endif
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "cache"))
    lookup._IDENTITY.clear()


def _tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _check(root: Path, path: str, rules: list[str]) -> list[tuple[str, int, str]]:
    source = parse_c((root / path).read_text(), path)
    unit = AnalysisUnit(source=source, path=path, index=FunctionIndex(root))
    return [(f.rule, f.line, f.message) for f in run_rules(unit, select_rules(enabled=rules))]


@pytest.mark.parametrize("sleeper, found", [(SLEEPER, 1), (NOT_A_SLEEPER, 0)])
def test_a_callee_in_another_file_is_found_through_the_index(
    tmp_path: Path, sleeper: str, found: int
) -> None:
    """include/ (searched first) only declares it; drivers/ defines it."""
    root = _tree(
        tmp_path / "tree",
        {
            "drivers/caller.c": CALLER,
            "include/linux/demo.h": "void demo_settle(struct demo *d);\n",
            "drivers/helper.c": sleeper,
        },
    )
    findings = _check(root, "drivers/caller.c", ["sleep-in-atomic"])
    assert len(findings) == found
    if found:
        assert "demo_settle -> demo_wait" in findings[0][2]
    # A second check reads the rows the first one cached: the same answer.
    assert len(_check(root, "drivers/caller.c", ["sleep-in-atomic"])) == found


def test_a_configuration_stub_does_not_excuse_the_real_definition(tmp_path: Path) -> None:
    """include/linux/pm_wakeup.h's empty !CONFIG_PM_SLEEP stub is what one
    configuration calls; the other calls drivers/base/power/wakeup.c's, which sleeps."""
    root = _tree(
        tmp_path / "tree",
        {
            "drivers/caller.c": '#include "demo.h"\n' + CALLER,
            "include/linux/demo.h": HEADER,
            "drivers/base/helper.c": SLEEPER,
        },
    )
    (finding,) = _check(root, "drivers/caller.c", ["sleep-in-atomic"])
    assert "demo_wait" in finding[2]


def test_two_real_definitions_must_both_sleep(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "tree",
        {
            "drivers/caller.c": CALLER,
            "drivers/a/helper.c": SLEEPER,
            "drivers/b/helper.c": NOT_A_SLEEPER,
        },
    )
    assert _check(root, "drivers/caller.c", ["sleep-in-atomic"]) == []


def test_too_many_definition_files_leave_the_callee_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"drivers/caller.c": CALLER}
    for number in range(3):
        files[f"drivers/d{number}/helper.c"] = SLEEPER
    root = _tree(tmp_path / "tree", files)
    assert len(_check(root, "drivers/caller.c", ["sleep-in-atomic"])) == 1
    monkeypatch.setattr(lookup, "MAX_FILES", 2)
    lookup._IDENTITY.clear()
    monkeypatch.setenv("PATCHLINT_CACHE", str(tmp_path / "other-cache"))
    assert _check(root, "drivers/caller.c", ["sleep-in-atomic"]) == []


HANDED_CALLER = """
#include "br.h"

void demo_change(struct demo_br *br)
{
	struct demo_group *vg;

	spin_lock_bh(&br->hash_lock);
	vg = demo_group(br);
	if (!vg)
		goto out;
	cond_resched();
out:
	spin_unlock_bh(&br->hash_lock);
}
"""
HANDED_HEADER = """
#ifdef CONFIG_DEMO_VLAN
static inline struct demo_group *demo_group(const struct demo_br *br)
{
	return rtnl_dereference(br->vlgrp);
}
#else
static inline struct demo_group *demo_group(const struct demo_br *br)
{
	return NULL;
}
#endif
"""
HANDED_UNLOCKING_HEADER = """
static inline struct demo_group *demo_group(struct demo_br *br)
{
	spin_unlock_bh(&br->hash_lock);
	return br->vlgrp;
}
"""


@pytest.mark.parametrize("header, found", [(HANDED_HEADER, 1), (HANDED_UNLOCKING_HEADER, 0)])
def test_a_header_inline_handed_the_lock_owner_is_summarised(
    tmp_path: Path, header: str, found: int
) -> None:
    """net/bridge's br_vlan_group(br) leaves br->hash_lock alone: the lock is still
    held at the sleep after it (an inline that drops it would be another story)."""
    root = _tree(
        tmp_path / "tree",
        {"net/demo/fdb.c": HANDED_CALLER, "net/demo/br.h": header},
    )
    findings = _check(root, "net/demo/fdb.c", ["sleep-in-atomic"])
    assert len(findings) == found


MACRO_USER = """
#define demo_hashentry(uid) (demo_table + demo_kuid_val(uid))

static DEFINE_SPINLOCK(demo_hash_lock);

struct demo_user *demo_find(kuid_t uid)
{
	struct demo_user *ret;
	unsigned long flags;

	spin_lock_irqsave(&demo_hash_lock, flags);
	ret = demo_hash_find(uid, demo_hashentry(uid));
	spin_unlock_irqrestore(&demo_hash_lock, flags);
	return ret;
}

struct demo_user *demo_alloc(kuid_t uid)
{
	struct demo_user *up;

	spin_lock_irq(&demo_hash_lock);
	up = demo_find(uid);
	spin_unlock_irq(&demo_hash_lock);
	return up;
}
"""
LEAF = """
static inline uid_t demo_kuid_val(kuid_t uid)
{
	return uid.val;
}
"""
LOCKING = """
uid_t demo_kuid_val(kuid_t uid)
{
	spin_unlock_irq(&demo_hash_lock);
	return uid.val;
}
"""


@pytest.mark.parametrize("callee, found", [(LEAF, 1), (LOCKING, 0)])
def test_a_file_macro_calling_a_lock_free_function_elsewhere_is_expanded(
    tmp_path: Path, callee: str, found: int
) -> None:
    """kernel/user.c's uidhashentry() calls __kuid_val(), a header inline that takes
    no lock: find_user()'s summary is known, and calling it under the lock deadlocks."""
    root = _tree(
        tmp_path / "tree",
        {"kernel/user.c": MACRO_USER, "include/linux/uidgid.h": callee},
    )
    findings = _check(root, "kernel/user.c", ["lock-unbalanced"])
    assert len(findings) == found


def test_config_alternative() -> None:
    text = HEADER
    assert config_alternative(text, "demo_settle", 5)
    assert not config_alternative("void demo_settle(void) {}\n", "demo_settle", 1)
    nested = "#ifdef A\n#ifdef B\nint f(void) { return 1; }\n#endif\n#else\nint g(void);\n#endif\n"
    assert not config_alternative(nested, "f", 3)
    arms = "#if X\nint f(void) { return 1; }\n#elif Y\nint f(void) { return 2; }\n#endif\n"
    assert config_alternative(arms, "f", 2) and config_alternative(arms, "f", 4)
