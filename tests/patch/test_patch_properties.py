"""parse_patch never raises, whatever it is given."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from patchlint.patch import Patch, parse_patch

FIX = Path(__file__).resolve().parents[2] / "fixtures"
SEED_LINES = (FIX / "apply" / "seed-v9.diff").read_text().splitlines(keepends=True)
EXTENDED_LINES = (FIX / "patch" / "git-extended.diff").read_text().splitlines(keepends=True)

# Fragments that steer random text into the parser's interesting states.
PIECES = st.sampled_from(
    [
        "diff --git a/x b/x\n",
        'diff --git "a/q\\303" b/q\n',
        "--- a/x\n",
        "+++ b/x\n",
        "--- /dev/null\n",
        "+++ /dev/null\n",
        "@@ -1,3 +1,3 @@\n",
        "@@ -0,0 +1 @@ f\n",
        "@@ -1 +0,0 @@\n",
        " ctx\n",
        "-old\n",
        "+new\n",
        "\n",
        "\\ No newline at end of file\n",
        "-- \n",
        "2.17.1\n",
        "new file mode 100644\n",
        "deleted file mode 100644\n",
        "rename from a\n",
        "rename to b\n",
        "similarity index 9%\n",
        "index 0..1 100644\n",
        "GIT binary patch\n",
        "Binary files a/x and b/x differ\n",
        "old mode 1\n",
        "\r\n",
    ]
)


def check(result: Patch) -> None:
    assert isinstance(result, Patch)
    # The catch-all in parse_patch must stay a safety net, never a code path.
    assert not any(e.message.startswith("internal error") for e in result.errors)
    for fp in result.files:
        assert fp.path
        for hunk in fp.hunks:
            assert sum(line.kind != "+" for line in hunk.lines) == hunk.old_count
            assert sum(line.kind != "-" for line in hunk.lines) == hunk.new_count


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    check(parse_patch(text))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=40))
def test_diff_like_fragments(pieces: list[str]) -> None:
    check(parse_patch("".join(pieces)))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([SEED_LINES, EXTENDED_LINES]),
    st.lists(
        st.tuples(
            st.integers(0, 200),
            st.sampled_from(["drop", "dup", "swap", "junk"]),
            st.text(max_size=8),
        ),
        max_size=6,
    ),
)
def test_mutated_real_patches(lines: list[str], edits: list[tuple[int, str, str]]) -> None:
    mutated = list(lines)
    for position, action, junk in edits:
        if not mutated:
            break
        i = position % len(mutated)
        if action == "drop":
            del mutated[i]
        elif action == "dup":
            mutated.insert(i, mutated[i])
        elif action == "swap" and i + 1 < len(mutated):
            mutated[i], mutated[i + 1] = mutated[i + 1], mutated[i]
        else:
            mutated.insert(i, junk + "\n")
    check(parse_patch("".join(mutated)))
