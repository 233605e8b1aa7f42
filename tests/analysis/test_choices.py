"""Conditional summaries: which alternative a call gets, and the helpers' summaries."""

from __future__ import annotations

from patchlint.analysis.choices import alternatives
from patchlint.analysis.facts import FileFacts
from patchlint.analysis.state import Effect
from patchlint.analysis.summaries import lock_summary
from patchlint.source.parse import parse_c

_BH = Effect("acquire", "spinlock", "r->l", irq="bh", when="in_bh", when_value=False)
_PLAIN = Effect("acquire", "spinlock", "r->l", when="in_bh", when_value=True)


def test_a_result_kept_in_a_variable_splits_the_path() -> None:
    split = alternatives(
        (_BH._replace(when_result=True), _PLAIN._replace(when_result=True)), frozenset(), "in_bh"
    )
    assert [(tuple(e.irq for e in effects), fact) for effects, fact in split] == [
        (("bh",), ("in_bh", False)),
        (("",), ("in_bh", True)),
    ]


def test_a_known_value_chooses_and_an_unknown_one_keeps_the_first() -> None:
    assert alternatives((_BH, _PLAIN), frozenset({("in_bh", True)}), None) == [((_PLAIN,), None)]
    assert alternatives((_BH, _PLAIN), frozenset(), None) == [((_BH,), None)]


def test_a_one_sided_alternative_needs_the_value() -> None:
    cycle = Effect("cycle", "spinlock", "s->l", when="test_bit(0,&s->f)", when_value=True)
    assert alternatives((cycle,), frozenset(), None) == [((), None)]
    assert alternatives((cycle,), frozenset({("test_bit(0,&s->f)", False)}), None) == [((), None)]
    known = frozenset({("test_bit(0,&s->f)", True)})
    assert alternatives((cycle,), known, None) == [((cycle,), None)]


def test_summaries_of_a_flag_chosen_pair() -> None:
    code = (
        "bool lk(struct r *r) { bool b = in_softirq(); if (b) spin_lock(&r->l);\n"
        " else spin_lock_bh(&r->l);\n return b; }\n"
        "void ul(struct r *r, bool b) { if (b) spin_unlock(&r->l);\n"
        " else spin_unlock_bh(&r->l);\n }\n"
        "void other(struct r *r, bool b) { if (r->x) spin_unlock(&r->l);\n"
        " else spin_unlock_bh(&r->l);\n }\n"
    )
    source = parse_c(code, "t.c")
    ff = FileFacts(source, "t.c")
    summaries = {}
    for name in ("lk", "ul", "other"):
        fn = source.function(name)
        assert fn is not None
        summary = lock_summary(ff, fn)
        assert summary is not None
        summaries[name] = {(e.op, e.irq, e.when, e.when_value) for e in summary.effects}
    assert summaries["lk"] == {("acquire", "bh", "{ret}", False), ("acquire", "", "{ret}", True)}
    assert summaries["ul"] == {("release", "bh", "{1}", False), ("release", "", "{1}", True)}
    # Chosen by a field, not by the caller: no alternatives.
    assert all(when == "" for _op, _irq, when, _value in summaries["other"])
