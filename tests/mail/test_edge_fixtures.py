"""One hand-written fixture per decoding / classification edge case, checked exactly."""

from __future__ import annotations

import io
from pathlib import Path

from patchlint.mail import Message, collect, iter_messages, patch_problems

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


def load(name: str) -> list[Message]:
    return list(iter_messages(FIXTURES / name))


def kinds(msgs: list[Message]) -> list[str]:
    return [m.kind for m in msgs]


def tags(msg: Message) -> list[tuple[str, str, bool]]:
    return [(t.tag, t.value, t.from_reply) for t in msg.trailers]


ALICE_SOB = ("Signed-off-by", "Alice Example <alice@example.org>", False)


def test_quoted_printable_soft_breaks_inside_diff_lines() -> None:
    (msg,) = load("qp-soft-breaks.eml")
    assert msg.kind == "patch"
    long_line = (
        '+\tpr_warn("vmscan: lruvec %p has no pages left on node %d, skipping the shrink '
        'pass\\n", lruvec, nid);'
    )
    assert long_line in (msg.diff_text or "").splitlines()
    assert "@@ -100,7 +100,8 @@" in (msg.diff_text or "")
    assert "QP = encoding" in msg.commit_message
    assert tags(msg) == [ALICE_SOB]


def test_base64_body() -> None:
    (msg,) = load("base64-body.eml")
    assert msg.kind == "patch"
    assert (msg.diff_text or "").startswith("diff --git a/mm/vmscan.c b/mm/vmscan.c\n")
    assert msg.commit_message.startswith("mm/vmscan: mark the empty lruvec check unlikely\n")
    assert tags(msg) == [ALICE_SOB]
    assert msg.trailers[0].line is None  # encoded bodies have no 1:1 file lines


def test_charset_fallbacks_warn() -> None:
    latin, unknown = load("latin1-fallback.mbox")
    assert latin.author == "Jürgen Müller <jm@example.de>"
    assert latin.warnings == ["body is not valid utf-8, decoded as latin-1"]
    assert "grüße" in latin.body
    assert tags(latin) == [("Reviewed-by", "Jürgen Müller <jm@example.de>", True)]
    assert unknown.warnings == ["charset 'x-klingon' unknown, decoded as utf-8"]
    assert kinds([latin, unknown]) == ["reply", "reply"]


def test_format_flowed_delsp() -> None:
    (msg,) = load("format-flowed.eml")
    assert msg.kind == "reply"
    assert "> This patch makes the check unlikely because it is almost never true in practice." in (
        msg.body.splitlines()
    )
    assert "-- stuffed line kept" in msg.body.splitlines()
    assert tags(msg) == [("Reviewed-by", "Bob Reviewer <bob@example.com>", True)]


def test_crlf_line_ends() -> None:
    (msg,) = load("crlf.eml")
    assert msg.kind == "patch"
    assert "\r" not in (msg.diff_text or "") and "\r" not in msg.commit_message
    assert tags(msg) == [ALICE_SOB]
    assert msg.trailers[0].line == 13


def test_patch_as_attachment() -> None:
    xpatch, named = load("attachment-patch.mbox")
    assert kinds([xpatch, named]) == ["patch", "patch"]
    assert (xpatch.diff_text or "").startswith("diff --git a/mm/vmscan.c")
    assert "The check is almost never true." in xpatch.commit_message
    assert "From:" not in xpatch.commit_message
    assert tags(xpatch) == [ALICE_SOB]
    assert (named.diff_text or "").startswith("diff --git a/mm/vmscan.c")
    assert named.series.version == 2
    assert patch_problems(named) == []


def test_rfc2047_headers() -> None:
    (msg,) = load("rfc2047-subject.eml")
    assert msg.subject == "[PATCH v2] mm/vmscan: fix Jörg's empty lruvec crash"
    assert msg.author == "Jörg Rödel <joerg@example.de>"
    assert (
        msg.series.version == 2 and msg.series.title == "mm/vmscan: fix Jörg's empty lruvec crash"
    )
    assert patch_problems(msg) == []


def test_mboxo_from_lines_in_body_do_not_split() -> None:
    msgs = load("mboxo-from-in-body.mbox")
    assert kinds(msgs) == ["patch", "reply"]
    assert [m.line for m in msgs] == [1, 36]
    assert "From here on the lruvec lock is held by the caller." in msgs[0].commit_message
    assert "From 2019 onwards the rule was never written down." in msgs[0].commit_message
    assert msgs[1].body.startswith("From my reading")


def test_mboxrd_from_unescaping() -> None:
    (msg,) = load("mboxrd-from-escape.mbox")
    assert msg.body.splitlines()[:2] == ["From the docs this is right.", ">From a quoted line"]


def test_cover_letter_and_reply_to_cover() -> None:
    col = collect(load("cover-letter.mbox"))
    assert kinds(col.messages) == ["cover", "patch", "patch", "reply"]
    (series,) = col.series
    assert series.cover is col.messages[0]
    assert [p.series.index for p in series.patches] == [1, 2]
    assert series.title == "mm/vmscan: lruvec cleanups"
    assert col.problems == []
    acked = ("Acked-by", "Bob Reviewer <bob@example.com>", True)
    for patch in series.patches:
        assert tags(patch) == [ALICE_SOB, acked]
        assert patch.trailers[1].given_by == "Bob Reviewer <bob@example.com>"


def test_git_pull() -> None:
    (msg,) = load("git-pull.eml")
    assert msg.kind == "pull" and msg.series.is_pull
    assert msg.series.prefixes == ["GIT PULL"]


def test_reroll_in_one_mbox_gives_two_series() -> None:
    col = collect(load("reroll-v1-v2.mbox"))
    assert [(s.version, s.total, len(s.patches)) for s in col.series] == [(1, 2, 2), (2, 2, 2)]
    assert col.problems == []


def test_series_of_three_without_cover() -> None:
    col = collect(load("no-cover-3.mbox"))
    (series,) = col.series
    assert len(series.patches) == 3
    assert [(p.series, p.message) for p in col.problems] == [
        ("nc-1@example.org", "numbered series of 3 patches without a cover letter")
    ]


def test_reply_quoting_a_patch_is_a_review() -> None:
    col = collect(load("reply-quoting-patch.mbox"))
    patch, reply = col.messages
    assert kinds(col.messages) == ["patch", "reply"]
    assert reply.diff_text is None
    assert reply.quoted_hunks == ["mm/vmscan.c @@ -100,7"]
    assert col.patches == [patch]


def test_trailer_after_signature_is_ignored() -> None:
    col = collect(load("trailer-signature.mbox"))
    patch, reply = col.messages
    assert tags(reply) == [("Tested-by", "Bob Reviewer <bob@example.com>", True)]
    assert tags(patch) == [ALICE_SOB, ("Tested-by", "Bob Reviewer <bob@example.com>", True)]


def test_reply_trailer_from_another_address() -> None:
    col = collect(load("trailer-other-address.mbox"))
    patch, reply = col.messages
    assert tags(reply) == [("Reviewed-by", "Carol Kernel <carol@home.example>", True)]
    # The same name at a second address is the same person: the trailer applies and
    # is no problem (issue 11 item 6); it is only described in reports.
    assert reply.trailers[0].problems == []
    assert reply.trailers[0].sender_match == "same-name"
    assert patch.trailers[-1].applies
    assert patch_problems(patch) == []


def test_fixes_short_sha() -> None:
    col = collect(load("fixes-short-sha.mbox"))
    patch, reply = col.messages
    assert tags(reply) == [
        ("Fixes", '0123456789ab ("mm/vmscan: add the empty lruvec check")', True)
    ]
    assert patch.trailers[0].problems == ["Fixes sha shorter than 12 characters (1234abcd)"]
    assert patch_problems(patch) == [
        'Fixes: 1234abcd ("mm/vmscan: add the empty lruvec check"): '
        "Fixes sha shorter than 12 characters (1234abcd)"
    ]


def test_missing_signoff() -> None:
    (msg,) = load("missing-signoff.eml")
    assert patch_problems(msg) == [
        "author 'Alice Example <alice@example.org>' has no Signed-off-by"
    ]


def test_malformed_messages_become_errors() -> None:
    msgs = load("malformed.mbox")
    assert [(m.kind, m.line, m.reason) for m in msgs] == [
        ("error", 1, "no mail headers and no diff"),
        ("reply", 4, None),
        ("error", 15, "body has a corrupt base64 transfer encoding"),
    ]
    assert [m.index for m in msgs] == [0, 1, 2]


def test_diff_pasted_in_commit_message_is_not_the_patch() -> None:
    (msg,) = load("diff-in-commit-message.eml")
    assert msg.kind == "patch"
    assert "+int y;" in msg.commit_message
    assert "so the warning is noise; drop it." in msg.commit_message
    assert "+int y;" not in (msg.diff_text or "")
    assert (msg.diff_text or "").startswith("diff --git a/mm/vmscan.c b/mm/vmscan.c\nindex 1111111")
    assert tags(msg) == [ALICE_SOB]


def test_gzip_stream_and_directory_inputs(tmp_path: Path) -> None:
    import gzip

    from patchlint.mail import InputError, iter_inputs

    raw = (FIXTURES / "cover-letter.mbox").read_bytes()
    gz = tmp_path / "t.mbox.gz"
    gz.write_bytes(gzip.compress(raw))
    assert kinds(list(iter_messages(gz))) == ["cover", "patch", "patch", "reply"]
    assert kinds(list(iter_messages(io.BytesIO(raw), name="<mem>"))) == kinds(
        load("cover-letter.mbox")
    )
    series_dir = tmp_path / "series"
    series_dir.mkdir()
    for n, chunk in enumerate(raw.split(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n")[1:3]):
        (series_dir / f"000{n + 1}-x.patch").write_bytes(chunk)
    (series_dir / "README").write_text("not a patch\n")
    msgs = list(iter_inputs([str(FIXTURES / "git-pull.eml"), str(series_dir)]))
    assert [(m.index, m.kind) for m in msgs] == [(0, "pull"), (1, "cover"), (2, "patch")]
    assert msgs[2].source.endswith("0002-x.patch")
    try:
        iter_inputs([str(FIXTURES / "git-pull.eml"), str(tmp_path / "missing.mbox")])
    except InputError as exc:
        assert exc.path.endswith("missing.mbox")
    else:
        raise AssertionError("missing input must raise InputError")
