"""Swap cases for the thread-group rules on real linux 6.12 functions.

Each swap replaces the form the tree has by the wrong level: a per-thread test for a
group question or a single-thread action for a group one (direction
"thread-for-group"), or a group test where the code asks about one thread
("group-for-thread").  Applied forwards the patch introduces the bug; applied backwards
it fixes it.  Each harmless edit changes a per-thread test that is meant per thread; it
must never be reported.  The cases were written by hand from the code around each
site; NEW_SWAPS are in functions the recall corpus (fixtures/recall/thread-group) does
not use.
"""

from __future__ import annotations

from dataclasses import dataclass

FLAG = "thread-flag-as-group"
ACTION = "thread-action-on-group"
GROUP = "group-state-as-thread"


@dataclass(frozen=True)
class Swap:
    path: str
    function: str
    before: str  # the text in 6.12 (the right level)
    after: str  # the replacement at the wrong level
    rule: str
    occurrence: int = 1  # which occurrence inside the function
    direction: str = "thread-for-group"  # or "group-for-thread"

    @property
    def label(self) -> str:
        return f"{self.path}:{self.function}#{self.occurrence}"


@dataclass(frozen=True)
class Edit:
    path: str
    function: str
    before: str
    after: str
    why: str

    @property
    def label(self) -> str:
        return f"{self.path}:{self.function}"


SWAPS = [
    # kernel/: the group exit asked per thread
    Swap(
        "kernel/exit.c",
        "synchronize_group_exit",
        "!(signal->flags & SIGNAL_GROUP_EXIT)",
        "!(tsk->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "kernel/exit.c",
        "do_group_exit",
        "if (sig->flags & SIGNAL_GROUP_EXIT)",
        "if (current->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "kernel/exit.c",
        "do_group_exit",
        "if (sig->flags & SIGNAL_GROUP_EXIT)",
        "if (current->flags & PF_EXITING)",
        FLAG,
        2,
    ),
    Swap(
        "kernel/exit.c",
        "wait_task_zombie",
        "(p->signal->flags & SIGNAL_GROUP_EXIT)",
        "(p->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "kernel/signal.c",
        "prepare_signal",
        "if (signal->flags & SIGNAL_GROUP_EXIT) {",
        "if (p->flags & PF_EXITING) {",
        FLAG,
    ),
    Swap(
        "kernel/signal.c",
        "complete_signal",
        "!(signal->flags & SIGNAL_GROUP_EXIT)",
        "!(p->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "kernel/signal.c",
        "retarget_shared_pending",
        "if (tsk->signal->flags & SIGNAL_GROUP_EXIT)",
        "if (tsk->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "kernel/signal.c",
        "do_signal_stop",
        "unlikely(sig->flags & SIGNAL_GROUP_EXIT)",
        "unlikely(current->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "kernel/signal.c",
        "get_signal",
        "(signal->flags & SIGNAL_GROUP_EXIT) ||",
        "(current->flags & PF_EXITING) ||",
        FLAG,
    ),
    Swap(
        "kernel/cgroup/cpuset.c",
        "cpuset_node_allowed",
        "tsk_is_oom_victim(current)",
        "test_thread_flag(TIF_MEMDIE)",
        FLAG,
    ),
    # mm/: the OOM victim asked per thread, the victim killed per thread
    Swap(
        "mm/oom_kill.c",
        "oom_evaluate_task",
        "tsk_is_oom_victim(task)",
        "test_tsk_thread_flag(task, TIF_MEMDIE)",
        FLAG,
    ),
    Swap(
        "mm/oom_kill.c",
        "__task_will_free_mem",
        "if (sig->flags & SIGNAL_GROUP_EXIT)",
        "if (task->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "mm/oom_kill.c",
        "__task_will_free_mem",
        "thread_group_empty(task) && (task->flags & PF_EXITING)",
        "(task->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "mm/oom_kill.c",
        "__oom_kill_process",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_TGID)",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim, PIDTYPE_PID)",
        ACTION,
    ),
    Swap(
        "mm/oom_kill.c",
        "__oom_kill_process",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_TGID)",
        "do_send_sig_info(SIGKILL, SEND_SIG_PRIV, p, PIDTYPE_PID)",
        ACTION,
    ),
    Swap(
        "mm/page_alloc.c",
        "__alloc_pages_slowpath",
        "tsk_is_oom_victim(current)",
        "test_thread_flag(TIF_MEMDIE)",
        FLAG,
    ),
    Swap(
        "mm/page_alloc.c",
        "warn_alloc_show_mem",
        "tsk_is_oom_victim(current)",
        "test_thread_flag(TIF_MEMDIE)",
        FLAG,
    ),
    Swap(
        "mm/page_alloc.c",
        "oom_reserves_allowed",
        "!tsk_is_oom_victim(tsk)",
        "!test_tsk_thread_flag(tsk, TIF_MEMDIE)",
        FLAG,
    ),
    Swap(
        "mm/memcontrol.c",
        "task_is_dying",
        "tsk_is_oom_victim(current)",
        "test_thread_flag(TIF_MEMDIE)",
        FLAG,
    ),
    Swap(
        "mm/memcontrol.c",
        "try_charge_memcg",
        "tsk_is_oom_victim(current) &&",
        "test_thread_flag(TIF_MEMDIE) &&",
        FLAG,
    ),
    # fs/
    Swap(
        "fs/coredump.c",
        "zap_threads",
        "!(signal->flags & SIGNAL_GROUP_EXIT)",
        "!(tsk->flags & PF_EXITING)",
        FLAG,
    ),
    Swap(
        "fs/exec.c",
        "de_thread",
        "(sig->flags & SIGNAL_GROUP_EXIT) ||",
        "(tsk->flags & PF_EXITING) ||",
        FLAG,
    ),
    Swap(
        "fs/proc/array.c",
        "do_task_stat",
        "sig->flags & (SIGNAL_GROUP_EXIT | SIGNAL_STOP_STOPPED)",
        "task->flags & PF_EXITING",
        FLAG,
    ),
    # drivers/: a hang-up for the session's processes sent to one thread each
    Swap(
        "drivers/tty/tty_jobctrl.c",
        "tty_signal_session_leader",
        "send_signal_locked(SIGHUP, SEND_SIG_PRIV, p, PIDTYPE_TGID)",
        "send_signal_locked(SIGHUP, SEND_SIG_PRIV, p, PIDTYPE_PID)",
        ACTION,
    ),
    Swap(
        "drivers/tty/tty_jobctrl.c",
        "tty_signal_session_leader",
        "send_signal_locked(SIGCONT, SEND_SIG_PRIV, p, PIDTYPE_TGID)",
        "send_signal_locked(SIGCONT, SEND_SIG_PRIV, p, PIDTYPE_PID)",
        ACTION,
    ),
]

HARMLESS = [
    Edit(
        "io_uring/msg_ring.c",
        "io_msg_tw_fd_complete",
        "if (!(current->flags & PF_EXITING))",
        "if (!(current->flags & PF_EXITING) && !fatal_signal_pending(current))",
        "the running task asks about its own exit",
    ),
    Edit(
        "io_uring/io_uring.c",
        "tctx_task_work_run",
        "if (unlikely(current->flags & PF_EXITING)) {",
        "if (current->flags & PF_EXITING) {",
        "the running task asks about its own exit",
    ),
    Edit(
        "drivers/block/ublk_drv.c",
        "ubq_daemon_is_dying",
        "return ubq->ubq_daemon->flags & PF_EXITING;",
        "return !!(ubq->ubq_daemon->flags & PF_EXITING);",
        "the daemon thread itself, no group state around",
    ),
    Edit(
        "drivers/gpu/drm/scheduler/sched_entity.c",
        "drm_sched_entity_flush",
        "if (current->flags & PF_EXITING) {",
        "if (unlikely(current->flags & PF_EXITING)) {",
        "the running task asks about its own exit",
    ),
    Edit(
        "security/keys/process_keys.c",
        "key_change_session_keyring",
        "if (unlikely(current->flags & PF_EXITING)) {",
        "if (current->flags & PF_EXITING) {",
        "the running task asks about its own exit",
    ),
    Edit(
        "fs/userfaultfd.c",
        "handle_userfault",
        "if (current->flags & (PF_EXITING|PF_DUMPCORE))",
        "if (unlikely(current->flags & (PF_EXITING|PF_DUMPCORE)))",
        "the running task, with a bit that has no group counterpart",
    ),
    Edit(
        "fs/proc/array.c",
        "do_task_stat",
        "(task->flags & (PF_EXITING|PF_DUMPCORE|PF_POSTCOREDUMP))",
        "(READ_ONCE(task->flags) & (PF_EXITING|PF_DUMPCORE|PF_POSTCOREDUMP))",
        "this thread's own state, to read its registers",
    ),
    Edit(
        "kernel/signal.c",
        "wants_signal",
        "if (p->flags & PF_EXITING)",
        "if (unlikely(p->flags & PF_EXITING))",
        "which thread may take a signal is a per-thread question",
    ),
    Edit(
        "kernel/signal.c",
        "retarget_shared_pending",
        "if (t->flags & PF_EXITING)",
        "if (unlikely(t->flags & PF_EXITING))",
        "each thread of a walk asked in turn",
    ),
    Edit(
        "kernel/exit.c",
        "exit_mm",
        "if (test_thread_flag(TIF_MEMDIE))",
        "if (unlikely(test_thread_flag(TIF_MEMDIE)))",
        "the thread carrying the mark drops it",
    ),
    Edit(
        "mm/oom_kill.c",
        "mark_oom_victim",
        "if (test_and_set_tsk_thread_flag(tsk, TIF_MEMDIE))",
        "if (unlikely(test_and_set_tsk_thread_flag(tsk, TIF_MEMDIE)))",
        "the owner setting the mark",
    ),
    Edit(
        "mm/page_alloc.c",
        "oom_reserves_allowed",
        "!test_thread_flag(TIF_MEMDIE)",
        "!unlikely(test_thread_flag(TIF_MEMDIE))",
        "after the group question, on purpose",
    ),
    Edit(
        "kernel/tsacct.c",
        "bacct_add_tsk",
        "if (tsk->flags & PF_EXITING)",
        "if (unlikely(tsk->flags & PF_EXITING))",
        "per-task accounting",
    ),
    Edit(
        "kernel/cgroup/cgroup.c",
        "cgroup_migrate_add_task",
        "if (task->flags & PF_EXITING)",
        "if (unlikely(task->flags & PF_EXITING))",
        "migration of one task",
    ),
    Edit(
        "kernel/seccomp.c",
        "seccomp_can_sync_threads",
        "if (thread->flags & PF_EXITING)",
        "if (unlikely(thread->flags & PF_EXITING))",
        "each thread of a walk asked in turn",
    ),
    Edit(
        "mm/memcontrol.c",
        "task_is_dying",
        "(current->flags & PF_EXITING)",
        "(READ_ONCE(current->flags) & PF_EXITING)",
        "added to the group question as the thread's own case",
    ),
]

SWAPS += [
    Swap(
        "kernel/exit.c",
        "wait_task_zombie",
        "(p->signal->flags & SIGNAL_GROUP_EXIT)",
        "(p->flags & PF_EXITING)",
        FLAG,
        2,
    ),
    Swap(
        "fs/exec.c",
        "de_thread",
        "(sig->flags & SIGNAL_GROUP_EXIT) ||",
        "(tsk->flags & PF_EXITING) ||",
        FLAG,
    ),
    # the group form of an action replaced by the single-thread one
    Swap(
        "kernel/signal.c",
        "zap_other_threads",
        """	for_other_threads(p, t) {
		task_clear_jobctl_pending(t, JOBCTL_PENDING_MASK);
		count++;

		/* Don't bother with already dead threads */
		if (t->exit_state)
			continue;
		sigaddset(&t->pending.signal, SIGKILL);
		signal_wake_up(t, 1);
	}""",
        """	sigaddset(&p->pending.signal, SIGKILL);
	signal_wake_up(p, 1);""",
        ACTION,
    ),
    Swap(
        "kernel/signal.c",
        "complete_signal",
        """			__for_each_thread(signal, t) {
				task_clear_jobctl_pending(t, JOBCTL_PENDING_MASK);
				sigaddset(&t->pending.signal, SIGKILL);
				signal_wake_up(t, 1);
			}""",
        """			sigaddset(&p->pending.signal, SIGKILL);
			signal_wake_up(p, 1);""",
        ACTION,
    ),
    Swap(
        "kernel/exit.c",
        "do_group_exit",
        "zap_other_threads(current);",
        "signal_wake_up(current, 1);",
        ACTION,
    ),
]

HARMLESS += [
    Edit(
        "kernel/cgroup/cgroup-v1.c",
        "cgroup_transfer_tasks",
        "} while (task && (task->flags & PF_EXITING));",
        "} while (task && unlikely(task->flags & PF_EXITING));",
        "skipping an exiting task of a css, one at a time",
    ),
    Edit(
        "kernel/signal.c",
        "do_send_specific",
        "error = do_send_sig_info(sig, info, p, PIDTYPE_PID);",
        "error = do_send_sig_info(sig, info, p, PIDTYPE_PID); /* tgkill */",
        "tgkill is thread-directed on purpose",
    ),
]

# Written for this test set only, in functions the recall corpus does not use: the
# group-for-thread direction (a group test where the code asks about one thread), and
# more thread-for-group ones (single-thread signals, an identity test).
NEW_SWAPS = [
    Swap(
        "block/blk-ioc.c",
        "set_task_ioprio",
        "if (task->flags & PF_EXITING) {",
        "if (task->signal->flags & SIGNAL_GROUP_EXIT) {",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/rseq.c",
        "__rseq_handle_notify_resume",
        "if (unlikely(t->flags & PF_EXITING))",
        "if (unlikely(t->signal->flags & SIGNAL_GROUP_EXIT))",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/events/uprobes.c",
        "dup_xol_work",
        "if (current->flags & PF_EXITING)",
        "if (current->signal->flags & SIGNAL_GROUP_EXIT)",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/sched/core.c",
        "task_mm_cid_work",
        "if (t->flags & PF_EXITING)",
        "if (t->signal->flags & SIGNAL_GROUP_EXIT)",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/pid.c",
        "__pidfd_fget",
        "else if (task->flags & PF_EXITING)",
        "else if (task->signal->flags & SIGNAL_GROUP_EXIT)",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/signal.c",
        "task_set_jobctl_pending",
        "(task->flags & PF_EXITING)",
        "(task->signal->flags & SIGNAL_GROUP_EXIT)",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/sched/autogroup.c",
        "task_wants_autogroup",
        "if (p->flags & PF_EXITING)",
        "if (p->signal->flags & SIGNAL_GROUP_EXIT)",
        GROUP,
        direction="group-for-thread",
    ),
    Swap(
        "kernel/signal.c",
        "do_notify_parent_cldstop",
        "send_signal_locked(SIGCHLD, &info, parent, PIDTYPE_TGID)",
        "send_signal_locked(SIGCHLD, &info, parent, PIDTYPE_PID)",
        ACTION,
    ),
    Swap(
        "kernel/signal.c",
        "kill_pid_usb_asyncio",
        "__send_signal_locked(sig, &info, p, PIDTYPE_TGID, false)",
        "__send_signal_locked(sig, &info, p, PIDTYPE_PID, false)",
        ACTION,
    ),
    Swap(
        "fs/fcntl.c",
        "f_setown_ex",
        "type = PIDTYPE_TGID;",
        "type = PIDTYPE_PID;",
        ACTION,
    ),
    Swap(
        "drivers/tty/tty_io.c",
        "__tty_fasync",
        "type = PIDTYPE_TGID;",
        "type = PIDTYPE_PID;",
        ACTION,
    ),
    Swap(
        "drivers/vfio/vfio_iommu_type1.c",
        "vfio_change_dma_owner",
        "struct task_struct *task = current->group_leader;",
        "struct task_struct *task = current;",
        FLAG,
    ),
]

SWAPS += NEW_SWAPS
