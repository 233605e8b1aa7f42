"""A small, hand-built CheckResult of the seed patch for the report format tests, so they
do not depend on the analysis stages: one cover letter, one patch, one reply."""

from __future__ import annotations

from pathlib import Path

from patchlint.findings import Evidence, Finding
from patchlint.mail.model import Message, SubjectInfo, Trailer
from patchlint.report.checkpatch import walk_diff
from patchlint.result import CheckResult, FileResult, PatchResult

REPO = Path(__file__).resolve().parents[2]
SEED_DIFF = REPO / "fixtures" / "apply" / "seed-v9.diff"
SUBJECT = "[PATCH v9 1/2] mm/oom_kill: Thaw the entire OOM victim process"
AUTHOR = "zhongjinji <zhongjinji@honor.com>"
HEADERS = (
    f"From: {AUTHOR}\nDate: Wed, 10 Sep 2025 22:37:25 +0800\n"
    "Message-ID: <seed-2@honor.com>\n"
    f"Subject: {SUBJECT}\n\nThaw the whole process.\n\n"
    f"Signed-off-by: {AUTHOR}\n---\n"
)


def images(diff_text: str) -> dict[str, tuple[str, str]]:
    """Pre/post images consistent with the diff: its lines at their numbers, filler
    elsewhere (enough for excerpts around any finding)."""
    pre: dict[str, dict[int, str]] = {}
    post: dict[str, dict[int, str]] = {}
    for line in walk_diff(diff_text):
        if line.kind in " -" and line.old_line:
            pre.setdefault(line.path, {})[line.old_line] = line.text[1:]
        if line.kind in " +" and line.new_line:
            post.setdefault(line.path, {})[line.new_line] = line.text[1:]

    def text(lines: dict[int, str]) -> str:
        last = max(lines) + 5
        return "".join(lines.get(n, f"/* line {n} */") + "\n" for n in range(1, last + 1))

    return {path: (text(pre[path]), text(post[path])) for path in post}


def post_line(diff_text: str, path: str, needle: str) -> int:
    return next(
        d.new_line
        for d in walk_diff(diff_text)
        if d.path == path and d.kind == "+" and needle in d.text
    )


def old_line(diff_text: str, path: str, needle: str) -> int:
    return next(
        d.old_line
        for d in walk_diff(diff_text)
        if d.path == path and d.kind == "-" and needle in d.text
    )


def build_result(source: str = "seed.mbox", simulate: bool = True) -> CheckResult:
    diff = SEED_DIFF.read_text(encoding="utf-8")
    series = SubjectInfo(
        version=9,
        index=1,
        total=2,
        prefixes=["PATCH", "v9"],
        title="mm/oom_kill: Thaw the entire OOM victim process",
    )
    cover = Message(
        index=0,
        source=source,
        line=1,
        message_id="seed-0@honor.com",
        subject="[PATCH v9 0/2] Do not freeze OOM victims",
        author=AUTHOR,
        kind="cover",
        series=SubjectInfo(version=9, index=0, total=2, title="Do not freeze OOM victims"),
    )
    patch = Message(
        index=1,
        source=source,
        line=1,
        message_id="seed-2@honor.com",
        subject=SUBJECT,
        author=AUTHOR,
        author_addr="zhongjinji@honor.com",
        date="Wed, 10 Sep 2025 22:37:25 +0800",
        kind="patch",
        series=series,
        diff_text=diff,
        in_reply_to="seed-0@honor.com",
        trailers=[
            Trailer("Signed-off-by", AUTHOR, AUTHOR, False, "seed-2@honor.com"),
            Trailer(
                "Acked-by",
                "Michal Hocko <mhocko@suse.com>",
                "Michal Hocko <mhocko@kernel.org>",
                True,
                "reply-1@suse.com",
            ),
        ],
    )
    reply = Message(
        index=2,
        source=source,
        line=1,
        message_id="reply-1@suse.com",
        subject="Re: " + SUBJECT,
        author="Michal Hocko <mhocko@kernel.org>",
        date="Wed, 10 Sep 2025 17:15:43 +0200",
        kind="reply",
        in_reply_to="seed-2@honor.com",
        references=["seed-0@honor.com", "seed-2@honor.com"],
        quoted_hunks=["kernel/freezer.c @@ -40,7"],
        body="On Wed, Sep 10 zhongjinji wrote:\n> -\tif (test_tsk_thread_flag(p, TIF_MEMDIE))\n"
        "> +\tif (tsk_is_oom_victim(p))\n\nThis is the right question <indeed>.\n\n"
        "Acked-by: Michal Hocko <mhocko@suse.com>\n",
    )
    freezer = "kernel/freezer.c"
    thaw = post_line(diff, freezer, "__thaw_task(t);")
    lock = post_line(diff, freezer, "rcu_read_lock();")
    introduced = Finding(
        rule="thread-action-on-group",
        severity="warning",
        message="__thaw_task(t) acts on one thread",
        file=freezer,
        line=thaw,
        column=3,
        function="thaw_process",
        key="__thaw_task(t)#0",
        status="introduced",
        evidence=[
            Evidence("lock", "rcu_read_lock()", freezer, lock),
            Evidence("call", "__thaw_task() acts on t alone", freezer, thaw),
            Evidence("unlock", "rcu_read_unlock()", freezer, thaw + 2),
            Evidence("note", "group action: thaw_process()"),
        ],
    )
    resolved = Finding(
        rule="thread-flag-as-group",
        severity="info",
        message="test_tsk_thread_flag(p, TIF_MEMDIE) tests one thread",
        file=freezer,
        line=old_line(diff, freezer, "test_tsk_thread_flag"),
        column=6,
        function="freezing_slow_path",
        key="TIF_MEMDIE#0",
        status="resolved",
        evidence=[Evidence("counterpart", "tsk_is_oom_victim(p) is group-wide", freezer, 43)],
    )
    suppressed = Finding(
        rule="task-iter-unlocked",
        severity="error",
        message="for_each_thread <script>alert(1)</script> without a lock",
        file=freezer,
        line=thaw - 1,
        function="thaw_process",
        key="for_each_thread(p, t)#0",
        status="introduced",
        suppressed=True,
    )
    mail = Finding(
        rule="trailer-sender-mismatch",
        severity="info",
        message="Acked-by: Michal Hocko <mhocko@suse.com> sent from mhocko@kernel.org",
        status="found",
    )
    simulation = (
        [
            {
                "scenario": "oom-victim-frozen-group",
                "question": "threads of the victim that can run",
                "explanation": ["action: wakes victim-thread-2 only after"],
                "before": {
                    "holds": 1,
                    "total": 2,
                    "per_task": [
                        {"task": "victim", "holds": True, "details": "thawed"},
                        {"task": "victim-thread-2", "holds": False, "details": "stays frozen"},
                    ],
                },
                "after": {
                    "holds": 2,
                    "total": 2,
                    "per_task": [
                        {"task": "victim", "holds": True, "details": "thawed"},
                        {"task": "victim-thread-2", "holds": True, "details": "thawed"},
                    ],
                },
                "warnings": [],
                "verdict": "the patch fixes the scenario",
                "difference": "victim-thread-2 is thawed after the patch",
            }
        ]
        if simulate
        else []
    )
    files = [
        FileResult(
            "include/linux/freezer.h",
            "modified",
            2,
            0,
            apply_state="applied",
            hunks=["exact", "exact"],
        ),
        FileResult(
            freezer, "modified", 19, 1, apply_state="applied", hunks=["exact", "exact", "exact"]
        ),
        FileResult("mm/oom_kill.c", "modified", 5, 5, apply_state="applied", hunks=["offset 1"]),
    ]
    result = PatchResult(
        message=patch,
        files=files,
        findings=[introduced, resolved, suppressed, mail],
        simulation=simulation,
        images=images(diff),
    )
    return CheckResult(
        inputs=[source],
        messages=[cover, patch, reply],
        patches=[result],
        series_problems=[],
        tree=None,
    )
