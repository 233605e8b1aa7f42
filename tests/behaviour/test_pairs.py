"""The pair suite: every pair gets its expected verdict class, and every witness of
a divergence replays on both versions compiled with gcc.

Bars (issue 14): no equivalent pair is ever reported ``diverges``; at least 85% of
the non-equivalent pairs are found with a witness that really shows the difference.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from behaviour_pairs import Pair, load_suite
from behaviour_replay import GCC, replay

from patchlint.behaviour import Bounds, FunctionVerdict, Version, compare_versions
from patchlint.source import parse_c

PLAIN = load_suite("plain")
BOUNDS = Bounds(seconds=30.0)
# A quick cross-section for the fast tier; the whole suite runs in the slow tier.
SMOKE = {"002", "003", "013", "041", "047", "052", "057", "074", "078", "091", "093"}


def verdict_of(pair: Pair) -> FunctionVerdict:
    before = parse_c(pair.version("before"), "pair.c")
    after = parse_c(pair.version("after"), "pair.c")
    old_fn = before.function(pair.function)
    new_fn = after.function(pair.function)
    assert old_fn is not None and new_fn is not None, pair.name
    # A generous budget: the suite checks meaning, not speed (bench/ measures that),
    # and a loaded CI machine must not turn a floating-point proof into "unknown".
    return compare_versions(Version(before, old_fn), Version(after, new_fn), "pair.c", BOUNDS)


def check_pair(pair: Pair, replay_witness: bool) -> None:
    verdict = verdict_of(pair)
    if pair.expect == "equivalent":
        assert verdict.verdict != "diverges", f"{pair.name}: wrong divergence {verdict.reason}"
        assert verdict.verdict == "equivalent", f"{pair.name}: {verdict.reason}"
        assert verdict.explored.complete
        return
    assert verdict.verdict == "diverges", f"{pair.name}: {verdict.verdict} ({verdict.reason})"
    assert verdict.witness is not None
    # Every machine of this project has gcc: a missing compiler fails, it does not
    # quietly turn the replay off.
    assert GCC is not None, "gcc is needed to replay witnesses"
    if replay_witness:
        result = replay(pair, verdict.witness)
        assert result.skipped is None, result.skipped
        assert result.differs, (
            f"{pair.name}: the witness does not replay\n{result.before}\n{result.after}"
        )
        if verdict.witness.observable == "fault":
            assert result.before_crashed != result.after_crashed
        if verdict.witness.observable == "return":
            lines_b = [x for x in result.before.splitlines() if x.startswith("return")]
            lines_a = [x for x in result.after.splitlines() if x.startswith("return")]
            assert lines_b != lines_a


@pytest.mark.parametrize(
    "pair", [p for p in PLAIN if p.path.name[:3] in SMOKE], ids=lambda p: p.name
)
def test_plain_pair_smoke(pair: Pair) -> None:
    check_pair(pair, replay_witness=False)


@pytest.mark.slow
@pytest.mark.parametrize("pair", PLAIN, ids=lambda p: p.name)
def test_plain_pair(pair: Pair) -> None:
    check_pair(pair, replay_witness=True)


def test_suite_shape() -> None:
    expected = [p.expect for p in PLAIN]
    assert len(PLAIN) >= 60
    assert expected.count("equivalent") >= 25 and expected.count("diverges") >= 25


KERNEL = load_suite("kernel")


@pytest.mark.kernel
@pytest.mark.parametrize("pair", KERNEL, ids=lambda p: p.name)
def test_kernel_pair(pair: Pair, kernel_tree: Path) -> None:
    """Real 6.12 functions: the before section must be the tree's text, verbatim; the
    engine replays every witness itself (a divergence that does not replay is
    reported unknown), so a `diverges` here is a replayed one."""
    from patchlint.behaviour.headers import HeaderLookup
    from patchlint.behaviour.symbols import Layer

    assert pair.tree_file is not None
    text = (kernel_tree / pair.tree_file).read_text(errors="replace")
    before_text = pair.before.strip("\n")
    assert before_text in text, f"{pair.name}: not the 6.12 text of {pair.function}"
    pre = parse_c(text, pair.tree_file)
    post = parse_c(text.replace(before_text, pair.after.strip("\n")), pair.tree_file)

    def reader(path: str) -> str | None:
        try:
            return (kernel_tree / path).read_text(errors="replace")
        except OSError:
            return None

    headers = HeaderLookup(reader, pair.tree_file, Layer.build(pre, "file").includes)
    old_fn, new_fn = pre.function(pair.function), post.function(pair.function)
    assert old_fn is not None and new_fn is not None
    verdict = compare_versions(
        Version(pre, old_fn, headers), Version(post, new_fn, headers), pair.tree_file, BOUNDS
    )
    if pair.expect == "equivalent":
        assert verdict.verdict != "diverges", f"{pair.name}: wrong divergence {verdict.reason}"
        assert verdict.verdict == "equivalent", f"{pair.name}: {verdict.reason}"
    else:
        assert verdict.verdict == "diverges", f"{pair.name}: {verdict.verdict} ({verdict.reason})"
        assert verdict.witness is not None


def test_kernel_suite_shape() -> None:
    assert len(KERNEL) >= 30
    assert all(p.tree_file for p in KERNEL)
