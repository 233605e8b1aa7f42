"""Issue 11: series grouping as b4 does it, trailers as b4 reads them, one address
parser, and the noise a maintainer will not read. Fixtures: fixtures/mail/series/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from patchlint.mail import (
    Address,
    collect,
    iter_inputs,
    iter_messages,
    missing_text,
    parse_address,
    patch_id,
    same_person,
)

SERIES = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "series"
REPO = Path(__file__).resolve().parents[2]


def _series(path: Path) -> list[tuple[int | None, list[int | None], str]]:
    col = collect(iter_messages(str(path)))
    return [(s.total, [p.series.index for p in s.patches], s.grouped_by) for s in col.series]


def _problems(path: Path) -> list[str]:
    return [p.message for p in collect(iter_messages(str(path))).problems]


def test_no_thread_directory_is_one_series_whatever_the_author_dates() -> None:
    ((total, positions, rule),) = _series(SERIES / "no-thread")
    assert (total, positions) == (3, [1, 2, 3])
    assert rule.startswith("numbering:")
    assert not any("not in this input" in p for p in _problems(SERIES / "no-thread"))


def test_no_thread_series_on_stdin_is_one_series() -> None:
    data = b"".join(p.read_bytes() for p in sorted((SERIES / "no-thread").iterdir()))
    run = subprocess.run(
        [sys.executable, "-m", "patchlint", "check", "--no-tree", "--no-simulate", "-v", "-"],
        input=data,
        capture_output=True,
        cwd=REPO,
    )
    err = run.stderr.decode()
    assert "3 patches of 3 (1, 2, 3); grouped by numbering" in err
    assert "not in this input" not in run.stdout.decode()


def test_series_sent_in_reply_to_a_discussion_stays_one_series() -> None:
    assert _series(SERIES / "reply-to-discussion.mbox") == [
        (3, [1, 2, 3], "numbering: same sender, version and length within 7 days")
    ]


def test_unnumbered_patches_under_a_cover_are_its_patches() -> None:
    ((total, positions, rule),) = _series(SERIES / "unnumbered-under-cover.mbox")
    assert (total, positions) == (2, [None, None]) and rule.startswith("thread:")
    assert _problems(SERIES / "unnumbered-under-cover.mbox") == []


def test_rewritten_message_ids_still_find_the_cover() -> None:
    col = collect(iter_messages(str(SERIES / "rewritten-message-ids.mbox")))
    (series,) = col.series
    assert series.cover is not None and len(series.patches) == 2
    assert "do not answer it" in series.grouped_by
    assert col.problems == []


def test_missing_positions_are_one_line() -> None:
    assert "5/6 and 6/6 not in this input" in _problems(SERIES / "missing-two-of-six.mbox")
    assert missing_text([2, 3, 4, 5, 9], 300) == "2-5/300 and 9/300 not in this input"
    assert missing_text([7], 7) == "7/7 not in this input"


def test_a_bug_report_showing_a_diff_is_not_a_patch() -> None:
    (msg,) = list(iter_messages(str(SERIES / "bug-report-with-diff.mbox")))
    assert msg.kind == "other" and "not a patch submission" in (msg.reason or "")


def test_git_range_is_one_series(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x.org",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x.org",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    for n in range(4):
        (repo / "f.c").write_text(f"int x = {n};\n")
        git("add", "f.c")
        git("commit", "-qsm", f"change {n}")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "patchlint",
            "check",
            "--no-tree",
            "--no-simulate",
            "-v",
            "--git",
            "HEAD~3..HEAD",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
    )
    assert "3 patches of 3 (1, 2, 3)" in run.stderr, run.stderr
    assert "not in this input" not in run.stdout


# --- trailers -------------------------------------------------------------------------


def _mail(body: str, subject: str = "Re: [PATCH] x", mid: str = "r@x", irt: str = "p@x") -> str:
    return (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
        f"From: Rev Iewer <rev@example.org>\nSubject: {subject}\n"
        f"Date: Mon, 3 Mar 2025 10:00:00 +0100\nMessage-ID: <{mid}>\n"
        f"In-Reply-To: <{irt}>\n\n{body}\n"
    )


PATCH = (
    "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
    "From: Alice <alice@example.org>\nSubject: [PATCH] lib: x\n"
    "Date: Mon, 3 Mar 2025 09:00:00 +0100\nMessage-ID: <p@x>\n\n"
    "lib: x\n\nReviewed-by: Rev Iewer <rev@example.org>\n"
    "Signed-off-by: Alice <alice@example.org>\n---\n"
    "diff --git a/f.c b/f.c\nindex 1..2 100644\n--- a/f.c\n+++ b/f.c\n"
    "@@ -1 +1 @@\n-int a;\n+int b;\n\n"
)


def test_indented_and_quoted_commit_lines_are_not_trailers(tmp_path: Path) -> None:
    reply = _mail(
        "The commit you want to look at:\n\n"
        "    commit 0123456789ab\n    Signed-off-by: Some One <one@example.org>\n"
        '    Fixes: 0123456789ab ("lib: y")\n\n> Acked-by: Quoted <q@example.org>\n\n'
        "Tested-by: Rev Iewer <rev@example.org>\n"
    )
    path = tmp_path / "t.mbox"
    path.write_text(PATCH + reply)
    col = collect(iter_messages(str(path)))
    assert [(t.tag, t.origin) for t in col.messages[1].trailers] == [("Tested-by", "reply")]


def test_a_trailer_the_patch_carries_is_shown_once_with_both_sources(tmp_path: Path) -> None:
    path = tmp_path / "t.mbox"
    path.write_text(PATCH + _mail("Reviewed-by: Rev Iewer <rev@example.org>\n"))
    (patch,) = collect(iter_messages(str(path))).patches
    reviewed = [t for t in patch.trailers if t.tag == "Reviewed-by"]
    assert len(reviewed) == 1 and reviewed[0].origin == "patch"
    assert [(s.message_id, s.origin) for s in reviewed[0].also_given] == [("r@x", "reply")]


def test_cover_trailers_nested_replies_and_patch_id_carry_over(tmp_path: Path) -> None:
    def patch(mid: str, subject: str, irt: str | None = None) -> str:
        head = PATCH.replace("Message-ID: <p@x>", f"Message-ID: <{mid}>")
        head = head.replace("Subject: [PATCH] lib: x", f"Subject: {subject}")
        if irt:
            head = head.replace("\n\nlib: x", f"\nIn-Reply-To: <{irt}>\n\nlib: x", 1)
        return head

    cover = (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: Alice <alice@example.org>\n"
        "Subject: [PATCH v2 0/1] lib: x\nDate: Mon, 3 Mar 2025 09:00:00 +0100\n"
        "Message-ID: <c2@x>\n\nCover.\n\n"
    )
    text = patch("v1@x", "[PATCH] lib: x")
    text += _mail("Acked-by: Rev Iewer <rev@example.org>\n", mid="a1@x", irt="v1@x")
    text += _mail("> ok\nLink: https://lore.kernel.org/r/v1@x\n", mid="a2@x", irt="a1@x")
    text += cover + patch("v2@x", "[PATCH v2 1/1] lib: x", irt="c2@x")
    text += _mail("Tested-by: Rev Iewer <rev@example.org>\n", "Re: [PATCH v2 0/1]", "t@x", "c2@x")
    path = tmp_path / "t.mbox"
    path.write_text(text)
    col = collect(iter_messages(str(path)))
    v1, v2 = col.patches
    assert {(t.tag, t.origin) for t in v1.trailers if t.from_reply} == {
        ("Acked-by", "reply"),  # a reply to the patch
        ("Link", "reply"),  # a nested reply; Link: counts in replies
        ("Tested-by", "carried"),  # given to the same patch-id in v2's series
    }
    assert {(t.tag, t.origin) for t in v2.trailers if t.from_reply} == {
        ("Tested-by", "cover"),  # given to the cover letter
        ("Acked-by", "carried"),
        ("Link", "carried"),
    }
    assert v1.patch_id == v2.patch_id


def test_patch_id_is_gits(tmp_path: Path) -> None:
    diff = (
        "diff --git a/f.c b/f.c\nindex 1111111..2222222 100644\n--- a/f.c\n+++ b/f.c\n"
        "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        "diff --git a/g.c b/g.c\nnew file mode 100644\nindex 0000000..3333333\n"
        "--- /dev/null\n+++ b/g.c\n@@ -0,0 +1 @@\n+new\n"
    )
    run = subprocess.run(
        ["git", "patch-id", "--stable"], input=diff, capture_output=True, text=True
    )
    assert patch_id(diff) == run.stdout.split()[0]


# --- one address parser -----------------------------------------------------------------


def test_addresses_with_commas_and_brackets() -> None:
    assert parse_address('"Liang, Kan" <kan.liang@linux.intel.com>') == Address(
        "Liang, Kan", "kan.liang@linux.intel.com"
    )
    assert parse_address("Liang, Kan <kan.liang@linux.intel.com>").addr == (
        "kan.liang@linux.intel.com"
    )
    assert parse_address("Dev Eloper [VENDOR] <dev@vendor.example>") == Address(
        "Dev Eloper [VENDOR]", "dev@vendor.example"
    )
    assert parse_address("dev@vendor.example (Dev Eloper)") == Address(
        "Dev Eloper", "dev@vendor.example"
    )
    kan = parse_address('"Liang, Kan" <kan.liang@linux.intel.com>')
    assert same_person(kan, parse_address("Kan Liang <kan@home.example>")) == "same-name"
    assert same_person(kan, parse_address("Kan Liang <kan.liang+lkml@intel.com>")) == "same"
    assert same_person(kan, parse_address("Someone <kan@home.example>")) == "other"


def test_encoded_from_with_a_comma_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.mbox"
    path.write_text(
        PATCH.replace("From: Alice <alice@example.org>", "From: =?utf-8?q?Liang=2C_Kan?= <k@x.org>")
    )
    (msg,) = list(iter_inputs([str(path)]))
    assert (msg.author, msg.author_addr) == ('"Liang, Kan" <k@x.org>', "k@x.org")


# --- partial rerolls (b4's reconstitution) -------------------------------------------

FILE_V1 = "int a;\n"


def _numbered(mid: str, subject: str, diff: str, irt: str | None = None) -> str:
    reply_to = f"In-Reply-To: <{irt}>\n" if irt else ""
    return (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
        f"From: Alice <alice@example.org>\nSubject: {subject}\n"
        f"Date: Mon, 3 Mar 2025 09:00:00 +0100\nMessage-ID: <{mid}>\n{reply_to}\n"
        f"x\n\nSigned-off-by: Alice <alice@example.org>\n---\n{diff}"
    )


ADD_B = "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -1 +1,2 @@\n int a;\n+int b;\n"
B_TO_C = (
    "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@\n int a;\n-int b;\n+int c;\n"
)
B_TO_D = (
    "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@\n int a;\n-int b;\n+int d;\n"
)


def _reroll(irt: str | None) -> str:
    return (
        _numbered("v2-1@x", "[PATCH v2 1/2] add b", ADD_B)
        + _numbered("v2-2@x", "[PATCH v2 2/2] b to c", B_TO_C, irt="v2-1@x")
        + _mail("Please call it d.\n", "Re: [PATCH v2 2/2] b to c", "r@x", "v2-2@x")
        + _numbered("v3-2@x", "[PATCH v3 2/2] b to d", B_TO_D, irt=irt)
    )


def test_a_partial_reroll_is_rebuilt_from_the_earlier_version(tmp_path: Path) -> None:
    path = tmp_path / "reroll.mbox"
    path.write_text(_reroll(irt="r@x"))  # v3 2/2 answers the review of v2 2/2
    col = collect(iter_messages(str(path)))
    v3 = next(s for s in col.series if s.version == 3)
    assert [p.message_id for p in v3.patches] == ["v3-2@x"]
    assert [p.message_id for p in v3.earlier] == ["v2-1@x"]
    assert "partial reroll of v2: 1/2 from v2" in v3.grouped_by
    assert not [p for p in col.problems if p.series == v3.key]
    # checked on top of v2 1/2: it edits the line 1/2 adds
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "f.c").write_text(FILE_V1)
    run = subprocess.run(
        [sys.executable, "-m", "patchlint", "check", "--tree", str(tmp_path / "tree")]
        + ["--format", "json", "--no-simulate", str(path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PATCHLINT_SERVER": "off"},
    )
    import json

    states = {
        p["message_id"]: [f["apply_state"] for f in p["files"]]
        for p in json.loads(run.stdout)["patches"]
    }
    assert states == {"v2-1@x": ["applied"], "v2-2@x": ["applied"], "v3-2@x": ["applied"]}


def test_a_resent_patch_not_answering_its_earlier_version_is_not_a_reroll(
    tmp_path: Path,
) -> None:
    path = tmp_path / "resend.mbox"
    path.write_text(_reroll(irt=None))
    col = collect(iter_messages(str(path)))
    v3 = next(s for s in col.series if s.version == 3)
    assert v3.earlier == []
    assert [p.message for p in col.problems if p.series == v3.key] == ["1/2 not in this input"]
