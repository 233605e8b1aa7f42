"""Where patchlint's reply trailers deliberately differ from the set `b4 am` applies.

Each class of difference that bench/b4_agreement.py sorts real archives into has one
test here (named in the bench's CLASSES and described in docs/mail.md "Agreement with
b4"): it pins patchlint's choice on a mail of its own. Where b4 is installed, a second
assertion shows that b4 does read the mail differently, so the class is real.
"""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from patchlint.mail import Message, applied_reply_trailers, collect, iter_messages

REPO = Path(__file__).resolve().parents[2]

DIFF = (
    "diff --git a/lib/x.c b/lib/x.c\nindex 1111111..2222222 100644\n"
    "--- a/lib/x.c\n+++ b/lib/x.c\n@@ -1,3 +1,3 @@\n int a;\n-int b;\n+int c;\n int d;\n"
)


def _patch(mid: str, subject: str = "[PATCH] lib: x", irt: str | None = None) -> str:
    reply_to = f"In-Reply-To: <{irt}>\n" if irt else ""
    return (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
        f"From: Alice Author <alice@example.org>\nSubject: {subject}\n"
        f"Date: Mon, 3 Mar 2025 09:00:00 +0100\nMessage-ID: <{mid}>\n{reply_to}\n"
        "lib: x\n\nSigned-off-by: Alice Author <alice@example.org>\n---\n"
        f"{DIFF}-- \n2.47.0\n\n"
    )


def _cover(mid: str, subject: str, irt: str | None = None) -> str:
    reply_to = f"In-Reply-To: <{irt}>\n" if irt else ""
    return (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
        f"From: Alice Author <alice@example.org>\nSubject: {subject}\n"
        f"Date: Mon, 3 Mar 2025 08:59:00 +0100\nMessage-ID: <{mid}>\n{reply_to}\n"
        "The cover letter.\n\nAlice Author (1):\n  lib: x\n\n"
        " lib/x.c | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n\n"
    )


def _reply(
    body: str,
    sender: str = "Rev Iewer <rev@example.org>",
    irt: str = "p1@x",
    mid: str = "r1@x",
    content_type: str = "text/plain; charset=utf-8",
) -> str:
    return (
        "From mboxrd@z Thu Jan  1 00:00:00 1970\n"
        f"From: {sender}\nSubject: Re: [PATCH] lib: x\n"
        f"Date: Mon, 3 Mar 2025 10:00:00 +0100\nMessage-ID: <{mid}>\n"
        f"In-Reply-To: <{irt}>\nMIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}\n"
    )


def _applied(mbox: str) -> dict[str, set[tuple[str, str]]]:
    collection = collect(iter_messages(io.BytesIO(mbox.encode()), name="t.mbox"))
    return {
        p.message_id: {(t.tag, t.value) for t in applied_reply_trailers(p)}
        for p in collection.patches
    }


def _messages(mbox: str) -> dict[str, Message]:
    collection = collect(iter_messages(io.BytesIO(mbox.encode()), name="t.mbox"))
    return {m.message_id: m for m in collection.messages}


def _b4_reads(body: str) -> list[tuple[str, str]]:
    """The trailers b4 reads in a follow-up's body, where b4 is installed."""
    b4 = pytest.importorskip("b4")
    trailers, _ = b4.LoreMessage.find_trailers(body, followup=True)
    return [(t.name, t.value) for t in trailers]


# --- b4 applies, patchlint does not ---------------------------------------------------

BOT_NOTE = (
    "syzbot ci found the following issue: a possible deadlock.\n\n"
    "If these findings have caused you to resend the series, please add the\n"
    "following tag to your commit message:\n"
    "  Tested-by: Rev Iewer <rev@example.org>\n\n"
    "And please include a Fixes tag:\n\n"
    '\tFixes: 0123456789ab ("lib: add x")\n\n'
    "The commit in question:\n\n"
    "    commit 0123456789abcdef\n    Signed-off-by: Rev Iewer <rev@example.org>\n"
)


def test_an_indented_trailer_line_is_not_a_trailer() -> None:
    assert _applied(_patch("p1@x") + _reply(BOT_NOTE)) == {"p1@x": set()}
    assert ("Tested-by", "Rev Iewer <rev@example.org>") in _b4_reads(BOT_NOTE)


INLINED = (
    "Reviewed-by: Rev Iewer <rev@example.org>\n\n"
    "And a fix on top, feel free to fold it in:\n\n-- 8< --\n"
    # mboxrd escapes a body line starting "From "; the reader gives it back
    ">From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
    "From: Rev Iewer <rev@example.org>\nDate: Mon, 3 Mar 2025 09:30:00 +0100\n"
    "Subject: [PATCH] lib: y\n\nlib: y\n\n"
    "Signed-off-by: Rev Iewer <rev@example.org>\n---\n"
    f"{DIFF}\nWith or without it:\nAcked-by: Rev Iewer <rev@example.org>\n"
)


def test_a_patch_inlined_in_a_reply_ends_the_trailers() -> None:
    applied = _applied(_patch("p1@x") + _reply(INLINED))
    # The inlined patch's sign-off is its own; the reply's text after its diff counts.
    assert applied == {
        "p1@x": {
            ("Reviewed-by", "Rev Iewer <rev@example.org>"),
            ("Acked-by", "Rev Iewer <rev@example.org>"),
        }
    }
    assert ("Signed-off-by", "Rev Iewer <rev@example.org>") in _b4_reads(
        INLINED.replace(">From ", "From ")
    )


def test_a_forwarded_original_ends_the_trailers() -> None:
    body = (
        "Tested-by: Rev Iewer <rev@example.org>\n\n"
        "-----Original Message-----\nFrom: Alice Author <alice@example.org>\n"
        "Sent: Monday, March 3, 2025 9:00\nTo: Rev Iewer <rev@example.org>\n"
        "Subject: [PATCH] lib: x\n\nReviewed-by: Rev Iewer <rev@example.org>\n"
    )
    assert _applied(_patch("p1@x") + _reply(body)) == {
        "p1@x": {("Tested-by", "Rev Iewer <rev@example.org>")}
    }


SIGNED = (
    "Looks fine.\n\nTested-by: Rev Iewer <rev@example.org>\n\n--\nRev Iewer, QA lead\n"
    "Acked-by: Rev Iewer <rev@example.org> (this line is in every mail I send)\n"
)


def test_a_bare_double_dash_line_starts_the_signature() -> None:
    applied = _applied(_patch("p1@x") + _reply(SIGNED))
    assert applied == {"p1@x": {("Tested-by", "Rev Iewer <rev@example.org>")}}
    assert [name for name, _ in _b4_reads(SIGNED)] == ["Tested-by", "Acked-by"]


LOCALISED = (
    "Sorry, fixed my name.\n\n-----Ursprüngliche Nachricht-----\n"
    "Von: Greg <greg@example.org>\nAn: Rev Iewer <rev@example.org>\n"
    "Betreff: Re: [PATCH] lib: x\n"
)


def test_a_word_with_an_address_is_not_a_trailer_tag() -> None:
    assert _applied(_patch("p1@x") + _reply(LOCALISED)) == {"p1@x": set()}
    assert ("An", "Rev Iewer <rev@example.org>") in _b4_reads(LOCALISED)


def test_a_comma_in_the_senders_name_does_not_accept_anyones_trailer() -> None:
    body = "Reviewed-by: Someone Else <else@example.com>\n"
    messages = _messages(_patch("p1@x") + _reply(body, sender='"Iewer, Rev" <rev@example.org>'))
    (given,) = messages["r1@x"].trailers
    assert given.sender_match == "other" and not given.applies
    assert applied_reply_trailers(messages["p1@x"]) == []
    b4 = pytest.importorskip("b4")
    from email import message_from_string

    raw = _reply(body, sender='"Iewer, Rev" <rev@example.org>').split("\n", 1)[1]
    accepted, mismatched = b4.LoreMessage(message_from_string(raw)).get_trailers()
    assert [t.name for t in accepted] == ["Reviewed-by"] and not mismatched


# --- patchlint applies, b4 does not ---------------------------------------------------


def test_the_same_name_in_another_order_is_the_same_person() -> None:
    body = "Reviewed-by: Chen Ridong <chenridong@example.com>\n"
    messages = _messages(_patch("p1@x") + _reply(body, sender="Ridong Chen <ridong@example.org>"))
    (given,) = messages["r1@x"].trailers
    assert given.sender_match == "same-name" and given.applies
    assert [t.tag for t in applied_reply_trailers(messages["p1@x"])] == ["Reviewed-by"]
    # ... but a different name at another address is someone else.
    other = _messages(_patch("p1@x") + _reply(body, sender="Ridong Wang <ridong@example.org>"))
    assert applied_reply_trailers(other["p1@x"]) == []


def test_a_format_flowed_trailer_is_unwrapped() -> None:
    body = (
        "Tested-by: Rev Iewer <rev@example.org>\nCloses: \n"
        "https://lore.kernel.org/all/bug-1@example.org/\n"
    )
    flowed = "text/plain; charset=utf-8; format=flowed"
    applied = _applied(_patch("p1@x") + _reply(body, content_type=flowed))
    assert ("Closes", "https://lore.kernel.org/all/bug-1@example.org/") in applied["p1@x"]
    # Not flowed, the same bytes are an empty Closes: and a stray URL.
    assert ("Closes", "https://lore.kernel.org/all/bug-1@example.org/") not in _applied(
        _patch("p1@x") + _reply(body)
    )["p1@x"]
    assert [name for name, _ in _b4_reads(body)] == ["Tested-by"]


def _damaged(mid: str, git_version: str, irt: str | None = None) -> str:
    """A posting whose blank context line lost its space (a mail client trimmed it)."""
    diff = DIFF.replace(" int a;\n", "\n", 1)
    text = _patch(mid, "[PATCH v2] lib: x" if irt else "[PATCH] lib: x", irt)
    return text.replace(DIFF, diff).replace("2.47.0", git_version)


def test_patch_id_does_not_hash_the_signature() -> None:
    first, second = _damaged("p1@x", "2.47.0"), _damaged("p2@x", "2.48.1", irt="p1@x")
    messages = _messages(first + second + _reply("Acked-by: Rev Iewer <rev@example.org>\n"))
    one, two = messages["p1@x"], messages["p2@x"]
    assert one.patch_id is not None and one.patch_id == two.patch_id
    # git's own id of the diff, the blank context line given back its space
    git = subprocess.run(
        ["git", "patch-id", "--stable"],
        input=(one.diff_text or "").replace("\n\n-int b;", "\n \n-int b;"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert git.stdout.split()[0] == one.patch_id
    assert [(t.tag, t.origin) for t in applied_reply_trailers(two)] == [("Acked-by", "carried")]

    # b4 hashes each whole body: git reads past the short hunk into "-- " and the
    # version line below it, so the two postings get different ids.
    def whole_body_id(mail: str) -> str:
        body = mail.split("\n\n", 1)[1]
        run = subprocess.run(
            ["git", "patch-id", "--stable"], input=body, capture_output=True, text=True
        )
        return run.stdout.split()[0]

    assert whole_body_id(first) != whole_body_id(second)


def test_cover_trailers_carry_by_patch_id_in_one_thread_too() -> None:
    mbox = (
        _cover("c1@x", "[PATCH 0/1] lib: x")
        + _patch("p1@x", "[PATCH 1/1] lib: x", irt="c1@x")
        + _reply("Acked-by: Rev Iewer <rev@example.org>\n", irt="c1@x", mid="a1@x")
        # v2 answers v1's cover letter: one thread, the patch unchanged
        + _cover("c2@x", "[PATCH v2 0/1] lib: x", irt="c1@x")
        + _patch("p2@x", "[PATCH v2 1/1] lib: x", irt="c2@x")
    )
    messages = _messages(mbox)
    assert [(t.tag, t.origin) for t in applied_reply_trailers(messages["p2@x"])] == [
        ("Acked-by", "carried")
    ]


# --- the bench, the docs and these tests name the same classes ------------------------


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("b4_agreement", REPO / "bench/b4_agreement.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


def test_every_deliberate_class_is_documented_and_tested() -> None:
    classes = _bench().CLASSES
    docs = (REPO / "docs/mail.md").read_text()
    tests = set(re.findall(r"^def (test_\w+)", Path(__file__).read_text(), re.M))
    deliberate = {name: choice for name, choice in classes.items() if choice.deliberate}
    assert len(deliberate) >= 9
    for name, choice in deliberate.items():
        assert f"**{name}**" in docs, f"docs/mail.md does not describe {name!r}"
        assert choice.test in tests, f"no test {choice.test} for {name!r}"
