"""The seed lore thread (patch v9 1/2 plus two review replies) against its expectation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from patchlint.mail import collect, iter_messages, patch_problems

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
SEED = FIXTURES / "seed-v9-thread.mbox"


def _hunk_counts_match(diff: str) -> bool:
    old = new = 0
    for line in diff.splitlines():
        match = re.match(r"^@@ -\d+,(\d+) \+\d+,(\d+) @@", line)
        if match:
            assert old == 0 and new == 0, "previous hunk short"
            old, new = int(match.group(1)), int(match.group(2))
        elif old or new:
            if line.startswith("-"):
                old -= 1
            elif line.startswith("+"):
                new -= 1
            else:
                old, new = old - 1, new - 1
    return old == 0 and new == 0


def test_seed_thread_matches_expectation() -> None:
    expected = json.loads((FIXTURES / "seed-v9-thread.expected.json").read_text())
    col = collect(iter_messages(SEED))
    got_messages = [
        {"index": m.index, "line": m.line, "kind": m.kind, "message_id": m.message_id}
        for m in col.messages
    ]
    assert got_messages == expected["messages"]
    got_patches = []
    for p in col.patches:
        got_patches.append(
            {
                "message_id": p.message_id,
                "subject": p.subject,
                "author": p.author,
                "date": p.date,
                "series": {
                    "version": p.series.version,
                    "index": p.series.index,
                    "total": p.series.total,
                    "prefixes": p.series.prefixes,
                },
                "files": re.findall(r"^\+\+\+ b/(\S+)", p.diff_text or "", re.M),
                "trailers": [
                    {
                        "tag": t.tag,
                        "value": t.value,
                        "given_by": t.given_by,
                        "from_reply": t.from_reply,
                    }
                    for t in p.trailers
                ],
                "problems": patch_problems(p),
            }
        )
    assert got_patches == expected["patches"]
    got_problems = [{"series": s.series, "message": s.message} for s in col.problems]
    assert got_problems == expected["series_problems"]


def test_seed_diff_is_byte_exact() -> None:
    patch = next(iter_messages(SEED))
    diff = patch.diff_text or ""
    assert "\tif (tsk_is_oom_victim(p))" in diff
    assert "\n \n" in diff  # blank context lines keep their space
    assert diff.startswith("diff --git a/include/linux/freezer.h")
    assert diff.endswith("\ttrace_mark_victim(tsk, cred->uid.val);\n")
    assert _hunk_counts_match(diff)
    assert patch.commit_message.rstrip().endswith("Acked-by: Michal Hocko <mhocko@suse.com>")


def test_seed_reply_details() -> None:
    col = collect(iter_messages(SEED))
    michal, suren = col.messages[1], col.messages[2]
    assert [t.tag for t in michal.trailers] == ["Acked-by"]
    assert [t.tag for t in suren.trailers] == ["Reviewed-by"]
    assert "kernel/freezer.c @@ -40,7" in michal.quoted_hunks
    assert col.replies_to(col.patches[0]) == [michal]
    assert col.replies_to(michal) == [suren]
    series = col.series_of(col.patches[0])
    assert series is not None and series.version == 9 and series.total == 2
    assert series.cover is None
    # reply trailers carry the file line they were read from
    lines = SEED.read_text().splitlines()
    for trailer in col.patches[0].trailers:
        assert trailer.line is not None
        assert lines[trailer.line - 1] == f"{trailer.tag}: {trailer.value}"
