"""Parser layers under fuzz: one input strategy and one property per layer.

Shared by the short property tests (tests/robustness/test_fuzz_layers.py) and the long
run (bench/fuzz_long.py), so both exercise exactly the same contracts. A property
returns normally or raises AssertionError/any exception: the fuzzers report the latter.
Imports happen inside the properties so a layer whose package is missing only
disables that layer (LAYER_MODULES says which module each one needs).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

KINDS = {"patch", "cover", "reply", "pull", "other", "error"}

# ---------------------------------------------------------------- mail pieces
_MAIL_PIECES = [
    b"From mboxrd@z Thu Jan  1 00:00:00 1970\n",
    b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n",
    b"From: A <a@b.c>\n",
    b"From: =?utf-8?b?w6k=?= <x@y>\n",
    b">From x\n",
    b">>From y\n",
    b"Subject: [PATCH v2 1/3] mm: x\n",
    b"Subject: Re: [PATCH] y\n",
    b"Subject: =?iso-8859-1?q?caf=E9?=\n",
    b"Subject: =?bogus?x?zz?=\n",
    b"\tcontinued\n",
    b"Message-ID: <a@b>\n",
    b"In-Reply-To: <a@b>\n",
    b"References: <a@b> <c@d>\n",
    b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n",
    b"Date: not a date\n",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b"Content-Type: multipart/mixed; boundary=b\n",
    b"--b\n",
    b"--b--\n",
    b"Content-Type: text/plain; charset=utf-8\n",
    b"Content-Type: text/plain; charset=x-nope\n",
    b"Content-Type: text/plain; charset=utf-16\n",
    b"Content-Type: text/x-patch; name=a.patch\n",
    b"Content-Disposition: attachment; filename=a.patch\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Transfer-Encoding: 8bit\n",
    b"Content-Type: text/plain; format=flowed; delsp=yes\n",
    b"=\n",
    b"=C3=\n",
    b"=ZZ\n",
    b"SGVsbG8=\n",
    b"!!notbase64\n",
    b"Signed-off-by: A <a@b.c>\n",
    b"Reviewed-by: x <y@z.w>\n",
    b'Fixes: 123 ("x")\n',
    b"---\n",
    b"-- \n",
    b"diff --git a/k.c b/k.c\n",
    b"--- a/k.c\n",
    b"+++ b/k.c\n",
    b"@@ -1,2 +1,3 @@\n",
    b"@@ -1 +1 @@ f\n",
    b" ctx\n",
    b"+add\n",
    b"-del\n",
    b"\\ No newline at end of file\n",
    b"\x1f\x8b\x08",
]
MAIL_BYTES = st.lists(
    st.one_of(st.sampled_from(_MAIL_PIECES), st.binary(max_size=30)), max_size=60
).map(b"".join)

_CHARSETS = [
    "utf-8",
    "us-ascii",
    "iso-8859-1",
    "latin1",
    "utf-16",
    "x-unknown",
    "",
    "utf-8\x00",
    "shift_jis",
    "koi8-r",
]
_ENCODINGS = ["", "7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"]


@st.composite
def mime_mail(draw: Any) -> bytes:
    """One structurally valid mail with adversarial charset, encoding and payload."""
    charset = draw(st.sampled_from(_CHARSETS))
    cte = draw(st.sampled_from(_ENCODINGS))
    subject = draw(
        st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.decode("latin-1")))
    )
    body = draw(st.binary(max_size=400))
    multipart = draw(st.booleans())
    header = (
        b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: A <a@b.c>\n"
        b"Subject: "
        + subject.replace("\n", " ").encode("utf-8", "surrogateescape")
        + b"\nMessage-ID: <m@x>\nMIME-Version: 1.0\n"
    )
    part = (
        (
            f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n"
        ).encode("utf-8", "replace")
        + body
        + b"\n"
    )
    if multipart:
        return (
            header
            + b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\n"
            + part
            + b"--zz\n"
            + part
            + draw(st.sampled_from([b"--zz--\n", b""]))
        )
    return header + part


# ---------------------------------------------------------------- diff pieces
_DIFF_LINES = [
    "diff --git a/kernel/x.c b/kernel/x.c",
    "diff --git a/a b/b",
    "--- a/kernel/x.c",
    "+++ b/kernel/x.c",
    "--- /dev/null",
    "+++ /dev/null",
    "--- a/../../etc/passwd",
    "+++ b//etc/passwd",
    "new file mode 100644",
    "deleted file mode 100644",
    "rename from a",
    "rename to b",
    "similarity index 90%",
    "index 1234567..89abcde 100644",
    "GIT binary patch",
    "Binary files a/x and b/x differ",
    "@@ -1,3 +1,4 @@ int f(void)",
    "@@ -0,0 +1 @@",
    "@@ -99999999999,1 +1,99999999999 @@",
    "@@ -1 +1 @@",
    "@@ garbage @@",
    " context",
    "+added",
    "-removed",
    "",
    "\\ No newline at end of file",
    "+\x00",
    " \t",
    "Only in a: b",
    "*** a/x",
    "--- x\t2024-01-01 00:00:00",
    "-- ",
    "2.47.0",
]
DIFF_TEXT = st.lists(
    st.one_of(st.sampled_from(_DIFF_LINES), st.text(max_size=20)), max_size=80
).map("\n".join)

# ---------------------------------------------------------------- C pieces
_C_TOKENS = [
    "{",
    "}",
    "(",
    ")",
    ";",
    "\n",
    " ",
    "#define X(a) a",
    "#if 0\n",
    "#endif\n",
    "#else\n",
    "/*",
    "*/",
    "//",
    '"',
    "'",
    "\\\n",
    "rcu_read_lock();",
    "rcu_read_unlock();",
    "for_each_process(p)",
    "for_each_thread(p, t)",
    "list_for_each_entry(a, b, c)",
    "scoped_guard(rcu)",
    "guard(spinlock)(&l);",
    "goto out;",
    "out:",
    "return;",
    "return 0;",
    "if (x)",
    "else",
    "while (1)",
    "do",
    "switch (x)",
    "case 1:",
    "default:",
    "break;",
    "continue;",
    "static int f(int x)",
    "void g(void)",
    "__must_hold(&l)",
    "struct task_struct *p;",
    "msleep(1);",
    "x = y ? z : w;",
    "0x1fUL",
    "'\\0'",
    "EXPORT_SYMBOL(f);",
    "__attribute__((unused))",
    'asm volatile("" ::: "memory");',
    "({ 1; })",
]
C_TEXT = st.lists(st.one_of(st.sampled_from(_C_TOKENS), st.text(max_size=8)), max_size=120).map(
    "".join
)

_STATEMENTS = [
    "x = x + 1;",
    "x = x * 3 - y;",
    "y = x >> 2;",
    "x++;",
    "--y;",
    "rcu_read_lock();",
    "rcu_read_unlock();",
    "if (x > 3) y = 1;",
    "if (x) return x;",
    "while (x > 0) x--;",
    "for (;;) x++;",
    "for (i = 0; i < 4; i++) y += i;",
    "do { x--; } while (x > 10);",
    "goto out;",
    "goto again;",
    "switch (x) { case 1: y = 2; break; default: y = 3; }",
    "break;",
    "continue;",
    "return 0;",
    "y = f(x);",
    "unknown_call(x);",
    "x = sizeof(int);",
    "x = y / 0;",
    "x = 1 << 200;",
    "x = (int)y;",
    "msleep(1);",
    "x = -x;",
    "{ int z = x; x = z; }",
    "x = x ? y : 0;",
]


@st.composite
def c_function(draw: Any) -> str:
    """A small C file: f() with a random body (labels out/again exist), plus a callee."""
    statements = draw(st.lists(st.sampled_from(_STATEMENTS), max_size=25))
    label_at = draw(st.integers(0, len(statements)))
    statements.insert(label_at, "again:")
    body = "\n\t".join(statements)
    return (
        "static int f(int x)\n{\n\tint y = 0, i = 0;\n\t"
        + body
        + "\nout:\n\treturn y;\n}\n\nint g(int a)\n{\n\treturn f(a) + f(a + 1);\n}\n"
    )


# ---------------------------------------------------------------- properties
def prop_mbox(data: bytes) -> None:
    from patchlint.mail import iter_messages

    messages = list(iter_messages(io.BytesIO(data), name="fuzz"))
    for position, message in enumerate(messages):
        assert message.index == position
        assert message.kind in KINDS, message.kind
        if message.kind == "error":
            assert message.reason, "an error message must say why"
        assert isinstance(message.subject, str) and isinstance(message.body, str)
        assert message.diff_text is None or isinstance(message.diff_text, str)


def prop_mime(data: bytes) -> None:
    prop_mbox(data)
    from patchlint.mail import collect, iter_messages

    collect(iter_messages(io.BytesIO(data), name="fuzz"))


def prop_subject_trailers(text: str) -> None:
    from patchlint.mail import parse_subject, parse_trailers

    info = parse_subject(text)
    assert isinstance(info.title, str) and info.version >= 0
    for reply in (False, True):
        for trailer in parse_trailers(
            text, reply=reply, given_by="A <a@b.c>", sender_addr="a@b.c", message_id="m@x"
        ):
            assert isinstance(trailer.tag, str) and isinstance(trailer.value, str)


def prop_unidiff(text: str) -> None:
    from patchlint.patch import parse_patch

    patch = parse_patch(text, "fuzz")
    for file in patch.files:
        for hunk in file.hunks:
            for line in hunk.lines:
                assert line.kind in (" ", "+", "-"), line.kind
    for error in patch.errors:
        assert str(error)


def prop_normalise(text: str) -> None:
    from patchlint.source import normalise

    result = normalise(text)
    assert len(result.text) == len(text)
    assert [i for i, c in enumerate(result.text) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"
    ]


def prop_parse_c(text: str) -> None:
    from patchlint.source import parse_c

    source = parse_c(text, "fuzz.c")
    size = len(text.encode("utf-8", "surrogatepass"))
    for fn in source.functions:
        assert 0 <= fn.start_byte <= fn.end_byte <= size
        assert 1 <= fn.start_line <= fn.end_line


def prop_cfg(text: str) -> None:
    from patchlint.analysis.cfg import build_cfg
    from patchlint.analysis.facts import file_facts
    from patchlint.rules import AnalysisUnit, run_rules
    from patchlint.source import parse_c

    source = parse_c(text, "kernel/fuzz.c")
    for fn in source.functions:
        if fn.body is None:
            continue
        cfg = build_cfg(fn.body)
        ids = {node.id for node in cfg.nodes}
        assert cfg.entry in ids and cfg.exit in ids
        assert all(target in ids for node in cfg.nodes for target, _ in node.succ)
    unit = AnalysisUnit(source=source, path="kernel/fuzz.c")
    facts = file_facts(unit)
    for fn in source.functions:
        facts.facts(fn)
    run_rules(unit)


def prop_interpreter(text: str) -> None:
    from patchlint.simulate import Interpreter, Primitives, Stop, World
    from patchlint.simulate.constants import ConstantResolver
    from patchlint.simulate.resolve import parse_snippet
    from patchlint.source import parse_c

    source = parse_c(text, "kernel/fuzz.c")

    def resolve(name: str, _from: str | None = None) -> Any:
        fn = source.function(name)
        return (source, fn) if fn is not None and fn.body is not None else None

    constants = ConstantResolver(lambda _path: None, [], frozenset())
    for entry, args in (("f", [3]), ("g", [-1])):
        if resolve(entry) is None:
            continue
        interp = Interpreter(
            World(),
            resolve,
            Primitives(),
            constants,
            lambda snippet: parse_snippet(snippet)[2],
            budget=3000,
            max_depth=8,
        )
        try:
            interp.call(entry, args, None)
        except Stop:
            pass  # "unknown" is a legitimate verdict; only other exceptions are bugs
        assert interp.steps <= interp.budget + 1


@dataclass(frozen=True)
class Layer:
    name: str
    module: str
    strategy: Any
    check: Callable[[Any], None]


LAYERS = [
    Layer("mbox", "patchlint.mail", MAIL_BYTES, prop_mbox),
    Layer("mime", "patchlint.mail", mime_mail(), prop_mime),
    Layer(
        "subject-trailers",
        "patchlint.mail",
        st.one_of(
            st.text(max_size=200),
            st.lists(
                st.sampled_from(
                    [
                        "[PATCH",
                        "v3",
                        "RFC",
                        "]",
                        "[",
                        "1/2",
                        "0/0",
                        "Re:",
                        "Fwd:",
                        "Signed-off-by:",
                        " a <b@c>",
                        "\n",
                        "Fixes:",
                        "Link:",
                        ">",
                        "Cc:",
                    ]
                ),
                max_size=30,
            ).map(" ".join),
        ),
        prop_subject_trailers,
    ),
    Layer("unidiff", "patchlint.patch", DIFF_TEXT, prop_unidiff),
    Layer(
        "normalise", "patchlint.source", st.one_of(C_TEXT, st.text(max_size=300)), prop_normalise
    ),
    Layer("parse_c", "patchlint.source", st.one_of(C_TEXT, c_function()), prop_parse_c),
    Layer("cfg", "patchlint.analysis.cfg", st.one_of(c_function(), C_TEXT), prop_cfg),
    Layer("interpreter", "patchlint.simulate.interpreter", c_function(), prop_interpreter),
]
