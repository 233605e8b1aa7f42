"""Property tests: no input makes the mail stage raise."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from patchlint.mail import collect, iter_messages, parse_subject, parse_trailers
from patchlint.mail.mbox import split_mbox

SEED = (
    Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "seed-v9-thread.mbox"
).read_bytes()
FAST = settings(max_examples=200, deadline=None)

# Bytes biased towards the structure the splitter and decoder react to.
_PIECES = st.sampled_from(
    [
        b"From mboxrd@z Thu Jan  1 00:00:00 1970\n",
        b"From: a <a@b.c>\n",
        b">From x\n",
        b"Subject: [PATCH v2 1/3] x\n",
        b"\n",
        b"\r\n",
        b"diff --git a/x b/x\n",
        b"--- a/x\n",
        b"+++ b/x\n",
        b"@@ -1,2 +1,3 @@\n",
        b" ctx\n",
        b"+add\n",
        b"-del\n",
        b"---\n",
        b"-- \n",
        b"Content-Type: multipart/mixed; boundary=b\n",
        b"--b\n",
        b"--b--\n",
        b"Content-Transfer-Encoding: base64\n",
        b"Content-Transfer-Encoding: quoted-printable\n",
        b"Content-Type: text/plain; charset=foo; format=flowed; delsp=yes\n",
        b"=\n",
        b"=C3=\n",
        b"Reviewed-by: x <y@z.w>\n",
        b"In-Reply-To: <a@b>\n",
        b"\x1f\x8b\x08",
        b"\xff\xfe\x00",
    ]
)
_MAILISH = st.lists(st.one_of(_PIECES, st.binary(max_size=40)), max_size=40).map(b"".join)


@FAST
@given(st.binary(max_size=2000))
def test_splitter_accepts_any_bytes(data: bytes) -> None:
    total = sum(len(r.data) for r in split_mbox(io.BytesIO(data)))
    assert total <= len(data) + data.count(b"\n") + 64


@FAST
@given(st.one_of(st.binary(max_size=2000), _MAILISH))
def test_iter_messages_never_raises(data: bytes) -> None:
    msgs = list(iter_messages(io.BytesIO(data), name="<fuzz>"))
    assert [m.index for m in msgs] == list(range(len(msgs)))
    for msg in msgs:
        assert msg.kind in {"patch", "cover", "reply", "pull", "other", "error"}
        if msg.kind in ("error", "other"):
            assert msg.reason
    collect(msgs)


@FAST
@given(st.text(max_size=300))
def test_subject_parser_never_raises(subject: str) -> None:
    info = parse_subject(subject)
    assert info.version >= 0 and isinstance(info.title, str)


@FAST
@given(st.text(max_size=1000), st.booleans())
def test_trailer_parser_never_raises(text: str, reply: bool) -> None:
    for trailer in parse_trailers(
        text, reply=reply, given_by="x <x@y.z>", sender_addr="x@y.z", message_id="m"
    ):
        assert trailer.tag and trailer.value


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255), st.sampled_from("rid")),
        min_size=1,
        max_size=30,
    )
)
def test_mutated_seed_never_raises(edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(SEED)
    for pos, value, op in edits:
        pos = min(pos, len(data) - 1) if data else 0
        if op == "r" and data:
            data[pos] = value
        elif op == "i":
            data.insert(pos, value)
        elif data:
            del data[pos]
    msgs = list(iter_messages(io.BytesIO(bytes(data)), name="<mutated>"))
    collect(msgs)
