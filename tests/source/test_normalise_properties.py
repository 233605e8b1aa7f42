"""Property tests: the normaliser and parser never raise and keep positions."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from patchlint.source.normalise import normalise
from patchlint.source.parse import parse_c

_KERNELISH = st.sampled_from(
    [
        "for_each_thread(p, t) {",
        "list_for_each_entry(a,\n b, c)",
        "scoped_guard(rcu)",
        "__must_hold(&l)",
        "SYSCALL_DEFINE2(x, int, a",
        "DEFINE_PER_CPU(int,",
        "#ifdef X\n",
        "#else\n",
        "#endif\n",
        "/* é",
        "*/",
        '"',
        "'",
        "\\\n",
        "(",
        ")",
        "{",
        "}",
        ";",
        "case 1 ... 2:",
        "container_of(p, struct x, m)",
        "do_each_thread(g, t)",
        "while_each_thread(",
        "\n",
        " ",
        "ü",
        # Shapes the repair pass rewrites where the parse fails.
        "skb_queue_walk(q, s) {",
        "STATIC int\n",
        "io_kiocb_to_cmd(req, struct io_rw)",
        "typeof(a->b) v",
        'asm volatile(KVM_HYPERCALL : "=a"(r) : ASM_INPUT_RM (x));',
        'KERN_ERR PFX "x"',
        '"a" __stringify(L) "b"',
        "goto *t[i];",
        "f(a, , b,)",
        "16 KB",
        "1371_SMPRATE",
        "nvkm_msec(d, 2, if (x) break;);",
        "\tFOO(x)\n",
        "out:\n#ifdef X\n",
        "} else {\n",
    ]
)


def _same_shape(src: str, out: str) -> None:
    assert len(out) == len(src)
    assert len(out.encode("utf-8", "surrogatepass")) == len(src.encode("utf-8", "surrogatepass"))
    assert [i for i, c in enumerate(out) if c == "\n"] == [
        i for i, c in enumerate(src) if c == "\n"
    ]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text(src: str) -> None:
    _same_shape(src, normalise(src).text)
    parse_c(src, "x.c")


@settings(max_examples=200, deadline=None)
@given(st.lists(_KERNELISH | st.text(max_size=5), max_size=40))
def test_kernelish_fragments(parts: list[str]) -> None:
    src = "".join(parts)
    _same_shape(src, normalise(src).text)
    parse_c(src, "x.c")


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=30))
def test_mutated_fixture(rng: random.Random, cuts: int) -> None:
    from pathlib import Path

    src = (Path(__file__).resolve().parents[2] / "fixtures/source/kernel_dialect.c").read_text()
    chars = list(src)
    for _ in range(cuts):
        pos = rng.randrange(len(chars))
        action = rng.randrange(3)
        if action == 0:
            del chars[pos]
        elif action == 1:
            chars.insert(pos, rng.choice("(){};#\n\"'/*é"))
        else:
            chars[pos] = rng.choice("(){};,\n ")
    mutated = "".join(chars)
    _same_shape(mutated, normalise(mutated).text)
    parse_c(mutated, "x.c")
