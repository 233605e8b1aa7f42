"""sleep-in-atomic and lock-unbalanced on real 6.12 files: the bugs they must keep
finding, and the shapes of correct code (each once a false positive) they must keep
accepting. Every location is discussed in docs/triage/linux-6.12-locks.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchlint.rules import AnalysisUnit, run_rules, select_rules
from patchlint.source import parse_c

RULES = ["sleep-in-atomic", "lock-unbalanced", "rcu-sleep", "rcu-unbalanced"]

# (file, line, rule): real bugs.
FOUND = {
    ("drivers/misc/ibmvmc.c", 1115, "sleep-in-atomic"),  # copy_from_user() under hmc->lock
    ("arch/um/drivers/line.c", 731, "lock-unbalanced"),  # winch_handler_lock unlocked twice
    ("drivers/soc/fsl/qbman/qman_test_stash.c", 508, "lock-unbalanced"),  # preempt leak
    ("drivers/net/ethernet/marvell/octeontx2/nic/otx2_pf.c", 2585, "lock-unbalanced"),
    ("fs/bcachefs/btree_key_cache.c", 745, "rcu-unbalanced"),  # rcu_read_lock(); continue;
    ("drivers/misc/cxl/pci.c", 1941, "sleep-in-atomic"),  # schedule() under afu_list_lock
}
# Files whose (former false positive) functions must stay silent.
SILENT = [
    ("drivers/gpu/drm/i915/gt/intel_execlists_submission.c", "remove_from_engine"),
    ("fs/autofs/expire.c", "get_next_positive_dentry"),
    ("net/mctp/route.c", "mctp_lookup_key"),
    ("kernel/softirq.c", "run_ksoftirqd"),
    ("drivers/net/ethernet/natsemi/ns83820.c", "rx_refill"),
    ("drivers/net/wireless/ath/wil6210/rx_reorder.c", "wil_addba_rx_request"),
    ("security/keys/key.c", "key_type_lookup"),
    ("fs/bcachefs/btree_write_buffer.c", "bch2_journal_keys_to_write_buffer_start"),
    ("drivers/gpu/drm/amd/amdgpu/aldebaran.c", "aldebaran_mode2_perform_reset"),
    ("block/blk-cgroup.c", "blkg_conf_open_bdev"),
]


def _findings(tree: Path, relative: str) -> list[tuple[str, int, str, str]]:
    source = parse_c((tree / relative).read_text(errors="replace"), relative)
    unit = AnalysisUnit(source=source, path=relative)
    return [
        (relative, f.line or 0, f.rule, f.function or "")
        for f in run_rules(unit, select_rules(enabled=RULES))
    ]


@pytest.mark.kernel
def test_real_bugs_are_found(kernel_tree: Path) -> None:
    for relative, line, rule in sorted(FOUND):
        found = {(f[1], f[2]) for f in _findings(kernel_tree, relative)}
        assert (line, rule) in found, f"{relative}:{line} {rule} not reported: {found}"


@pytest.mark.kernel
def test_correct_kernel_code_stays_silent(kernel_tree: Path) -> None:
    for relative, function in SILENT:
        noisy = [f for f in _findings(kernel_tree, relative) if f[3] == function]
        assert not noisy, noisy
