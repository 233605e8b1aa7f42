"""Subject parser and trailer parser units."""

from __future__ import annotations

import pytest

from patchlint.mail import parse_subject, parse_trailers


@pytest.mark.parametrize(
    ("subject", "version", "index", "total", "prefixes", "reply", "title"),
    [
        ("[PATCH v9 1/2] mm/oom_kill: Thaw", 9, 1, 2, ["PATCH"], False, "mm/oom_kill: Thaw"),
        ("[PATCHv3 03/15] x: y", 3, 3, 15, ["PATCH"], False, "x: y"),
        ("[PATCH net-next v2 1/3] net: z", 2, 1, 3, ["PATCH", "net-next"], False, "net: z"),
        ("[RFC PATCH] a", 1, None, None, ["RFC", "PATCH"], False, "a"),
        ("[PATCH RESEND] b", 1, None, None, ["PATCH", "RESEND"], False, "b"),
        ("[PATCH 0/5] c", 1, 0, 5, ["PATCH"], False, "c"),
        ("[RFC][PATCH v2 1/3] d", 2, 1, 3, ["RFC", "PATCH"], False, "d"),
        ("[PATCH 6.12 1/3] e", 1, 1, 3, ["PATCH", "6.12"], False, "e"),
        ("Re: RE: Aw: AW: Fwd: [PATCH v2 2/3] f", 2, 2, 3, ["PATCH"], True, "f"),
        ("[[PATCH] nested] g", 1, None, None, ["PATCH", "nested"], False, "g"),
        ("sched: no prefix", 1, None, None, [], False, "sched: no prefix"),
        ("[PATCH v2 unbalanced", 1, None, None, [], False, "[PATCH v2 unbalanced"),
    ],
)
def test_parse_subject(subject, version, index, total, prefixes, reply, title) -> None:
    info = parse_subject(subject)
    assert (info.version, info.index, info.total, info.prefixes, info.is_reply, info.title) == (
        version,
        index,
        total,
        prefixes,
        reply,
        title,
    )


def _parse(text: str, reply: bool, sender: str = "bob@example.com") -> list[tuple[str, str]]:
    found = parse_trailers(
        text, reply=reply, given_by=f"Bob <{sender}>", sender_addr=sender, message_id="m"
    )
    return [(t.tag, t.value) for t in found]


def test_trailer_tags_are_canonicalised() -> None:
    text = (
        "msg\n\nsigned-off-by: A <a@x.org>\nREVIEWED-BY: B <b@x.org>\ncc: stable@vger.kernel.org\n"
    )
    assert _parse(text, reply=False) == [
        ("Signed-off-by", "A <a@x.org>"),
        ("Reviewed-by", "B <b@x.org>"),
        ("Cc", "stable@vger.kernel.org"),
    ]


def test_reply_rules_follow_b4() -> None:
    text = (
        "> Reviewed-by: Quoted <q@x.org>\n"
        "Note: this is prose\n"
        "Link: https://lore.kernel.org/r/1\n"
        "Acked-by: Bob\n"
        'Fixes: abcdef0 ("six+ hex counts")\n'
        'Fixes: abc ("too short")\n'
        "Reviewed-by: Bob Long Name\n<bob@example.com>\n"
        "-- \n"
        "Tested-by: Sig <sig@x.org>\n"
    )
    assert _parse(text, reply=True) == [
        ("Link", "https://lore.kernel.org/r/1"),
        ("Fixes", 'abcdef0 ("six+ hex counts")'),
        ("Reviewed-by", "Bob Long Name <bob@example.com>"),
    ]


def test_outlook_style_original_is_not_read() -> None:
    text = (
        "Acked-by: Bob <bob@example.com>\n\n"
        "From: Alice <alice@example.org>\nSent: Monday\nTo: list\nSubject: [PATCH] x\n\n"
        "Signed-off-by: Alice <alice@example.org>\n"
    )
    assert _parse(text, reply=True) == [("Acked-by", "Bob <bob@example.com>")]
