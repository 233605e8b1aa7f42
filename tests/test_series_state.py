"""Series state: patch N is checked on the tree with patches 1..N-1 applied, all files.

Each test has a control that checks the same patch without its predecessor, so it
fails if the later patch were still read against the base tree.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from patchlint.cli import main
from patchlint.patch import parse_patch
from patchlint.pipeline import LazyIndex, advance, simulate_in_series
from patchlint.simulate import Scenario
from patchlint.source import apply_series, open_tree

WALK_BEFORE = """\
void count_all(void);

void walk_tasks(void)
{
	count_all();
}
"""

WALK_AFTER = """\
void count_all(void);
void count(struct task_struct *p);

void walk_tasks(void)
{
	struct task_struct *p;

	for_each_process(p)
		count(p);
}
"""

USER = """\
void walk_tasks(void);

void user(void)
{
	rcu_read_lock();
	walk_tasks();
	rcu_read_unlock();
}
"""


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def _series(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """A tree at the base commit, and two mails: 1/2 adds user() to kernel/user.c,
    calling walk_tasks() under RCU; 2/2 makes walk_tasks() (kernel/walk.c) walk the
    task list. 2/2 touches only walk.c."""
    repo = tmp_path / "repo"
    (repo / "kernel").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.org")
    _git(repo, "config", "user.name", "Dev Eloper")
    (repo / "kernel" / "walk.c").write_text(WALK_BEFORE)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    (repo / "kernel" / "user.c").write_text(USER)
    _git(repo, "add", ".")
    _git(
        repo,
        "commit",
        "-qm",
        "user: walk the tasks under RCU\n\nSigned-off-by: Dev Eloper <dev@example.org>",
    )
    (repo / "kernel" / "walk.c").write_text(WALK_AFTER)
    _git(
        repo,
        "commit",
        "-qam",
        "walk: count each task\n\nSigned-off-by: Dev Eloper <dev@example.org>",
    )
    series = _git(repo, "format-patch", "--stdout", "--thread", "--cover-letter", "HEAD~2..HEAD")
    second = _git(repo, "format-patch", "--stdout", "-1", "HEAD")
    _git(repo, "checkout", "-q", "HEAD~2")
    return repo, [series, second]


def _task_iter_findings(tree: Path, mbox: bytes) -> dict[str, list[str]]:
    result = CliRunner().invoke(
        main,
        ["check", "--tree", str(tree), "--no-simulate", "--format", "json", "-j", "1", "-"],
        input=mbox,
    )
    data = json.loads(result.stdout)
    return {
        patch["subject"]: [
            f["rule"] for f in patch["findings"] if f["rule"] == "task-iter-unlocked"
        ]
        for patch in data["patches"]
    }


def test_later_patch_sees_a_caller_an_earlier_one_added_in_another_file(
    tmp_path: Path,
) -> None:
    tree, (series, second_alone) = _series(tmp_path)
    in_series = _task_iter_findings(tree, series)
    assert list(in_series.values()) == [[], []], in_series
    # Control: without 1/2 the walk has no caller holding RCU, and is reported.
    alone = _task_iter_findings(tree, second_alone)
    assert list(alone.values()) == [["task-iter-unlocked"]], alone


SCHED_H = """\
#define TASK_INTERRUPTIBLE 0x00000001
#define TASK_UNINTERRUPTIBLE 0x00000002
#define TASK_NORMAL (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)
"""

POKE = """\
#include <linux/sched.h>
void poke(struct task_struct *p)
{
	p->flags = 0;
}
"""

ADD_HELPER = """\
diff --git a/kernel/helper.c b/kernel/helper.c
new file mode 100644
--- /dev/null
+++ b/kernel/helper.c
@@ -0,0 +1,5 @@
+#include <linux/sched.h>
+void helper(struct task_struct *p)
+{
+	wake_up_state(p, TASK_NORMAL);
+}
"""

CALL_HELPER = """\
diff --git a/kernel/test.c b/kernel/test.c
--- a/kernel/test.c
+++ b/kernel/test.c
@@ -1,5 +1,5 @@
 #include <linux/sched.h>
 void poke(struct task_struct *p)
 {
-	p->flags = 0;
+	helper(p);
 }
"""


def _poke_scenario() -> Scenario:
    return Scenario.from_data(
        {
            "name": "poke-wakes",
            "question": "tasks woken",
            "action": "poke(T0);",
            "action_file": "kernel/test.c",
            "observe": "woken(t)",
            "observe_file": "kernel/test.c",
            "current": "T1",
            "exercises": ["poke"],
            "context_files": ["include/linux/sched.h"],
            "process": [
                {"name": "P0", "threads": 2, "names": ["T0", "T1"], "state": "TASK_INTERRUPTIBLE"}
            ],
        }
    )


def test_simulation_of_a_later_patch_runs_a_function_an_earlier_one_added(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tree"
    for path, text in {"include/linux/sched.h": SCHED_H, "kernel/test.c": POKE}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    tree = open_tree(root)
    first, second = (parse_patch(text, "series.mbox") for text in (ADD_HELPER, CALL_HELPER))
    applied = apply_series([first, second], tree)
    index = LazyIndex(tree)
    state = advance({}, applied[0])
    assert set(state) == {"kernel/helper.c"}

    (in_series,) = simulate_in_series(
        index.view(state), applied[1].files, state, scenarios=[_poke_scenario()]
    )
    assert in_series["after"]["stopped"] is None, in_series["after"]
    assert (in_series["before"]["holds"], in_series["after"]["holds"]) == (0, 1)

    # Control: read against the base tree, helper() does not exist for 2/2.
    (alone,) = simulate_in_series(
        index.view({}), applied[1].files, {}, scenarios=[_poke_scenario()]
    )
    assert alone["after"]["stopped"] is not None and "helper" in alone["after"]["stopped"]


def test_view_state_key_tells_states_apart_and_repeats_for_equal_states(tmp_path: Path) -> None:
    """Caches of other files' analysis are keyed by the view's state: two states
    differing in one file's text must differ, equal states must agree, however the
    texts were built (the digests are remembered per text object)."""
    root = tmp_path / "tree"
    (root / "kernel").mkdir(parents=True)
    (root / "kernel" / "a.c").write_text(WALK_BEFORE)
    index = LazyIndex(open_tree(root))
    first = index.view({"kernel/a.c": WALK_AFTER, "kernel/b.c": None})
    again = index.view({"kernel/a.c": "".join(WALK_AFTER), "kernel/b.c": None})
    other = index.view({"kernel/a.c": WALK_AFTER + "\n", "kernel/b.c": None})
    deleted = index.view({"kernel/a.c": WALK_AFTER})
    keys = [getattr(view, "state", None) for view in (first, again, other, deleted)]
    assert all(isinstance(key, str) and key for key in keys)
    assert keys[0] == keys[1]
    assert len({keys[0], keys[2], keys[3]}) == 3
    assert getattr(index.view({}), "state", "") == ""


def test_split_series_keeps_every_patch_once_in_order() -> None:
    from patchlint.pipeline.check import split_series

    series = [[object()] * 9, [object()] * 3]  # messages are only counted here
    pieces = split_series(series, 2)  # type: ignore[arg-type]
    assert [(len(p.members), p.start, p.stop) for p in pieces] == [
        (4, 0, 4),
        (9, 4, 9),
        (3, 0, 3),
    ]
    assert [(p.start, p.stop) for p in split_series(series, 1)] == [(0, 9), (0, 3)]  # type: ignore[arg-type]


def test_a_long_series_checked_in_pieces_sees_the_earlier_patches(tmp_path: Path) -> None:
    """9 patches: 8/9 adds a caller under RCU, 9/9 makes the callee walk the task list.
    With two workers the series is cut in two pieces; the second applies 1..4 again."""
    repo = tmp_path / "repo"
    (repo / "kernel").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.org")
    _git(repo, "config", "user.name", "Dev Eloper")
    (repo / "kernel" / "walk.c").write_text(WALK_BEFORE)
    (repo / "kernel" / "other.c").write_text("int other(int x)\n{\n\treturn x;\n}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    sign = "\n\nSigned-off-by: Dev Eloper <dev@example.org>"
    for step in range(7):
        body = "".join(f"\tx += {i};\n" for i in range(step + 1))
        (repo / "kernel" / "other.c").write_text(f"int other(int x)\n{{\n{body}\treturn x;\n}}\n")
        _git(repo, "commit", "-qam", f"other: step {step}{sign}")
    (repo / "kernel" / "user.c").write_text(USER)
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", f"user: walk the tasks under RCU{sign}")
    (repo / "kernel" / "walk.c").write_text(WALK_AFTER)
    _git(repo, "commit", "-qam", f"walk: count each task{sign}")
    mbox = _git(repo, "format-patch", "--stdout", "--thread", "HEAD~9..HEAD")
    last_alone = _git(repo, "format-patch", "--stdout", "-1", "HEAD")
    _git(repo, "checkout", "-q", "HEAD~9")

    def findings(jobs: str, mails: bytes) -> list[list[str]]:
        result = CliRunner().invoke(
            main,
            ["check", "--tree", str(repo), "--no-simulate", "--no-behaviour"]
            + ["--format", "json", "--all", "-j", jobs, "-"],
            input=mails,
        )
        data = json.loads(result.stdout)
        return [[f["rule"] + ":" + f["status"] for f in p["findings"]] for p in data["patches"]]

    serial = findings("1", mbox)
    assert serial == [[]] * 9, serial
    assert findings("2", mbox) == serial
    # Control: 9/9 without the earlier patches has its walk reported.
    assert findings("1", last_alone) == [["task-iter-unlocked:introduced"]]
