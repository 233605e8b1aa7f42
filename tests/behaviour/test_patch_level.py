"""Patch-level comparison: changed, renamed and cross-file functions."""

from __future__ import annotations

from patchlint.behaviour import FileChange, behaviour_of_patch

HEADER_BEFORE = "struct obj { int refs; int flags; };\n"
HEADER_AFTER = HEADER_BEFORE + (
    "static inline int obj_busy(const struct obj *o)\n"
    "{\n\treturn o->refs > 1 || (o->flags & 4);\n}\n"
)
C_HEAD = '#include "obj.h"\nint obj_can_free(const struct obj *o)\n{\n'
C_BEFORE = C_HEAD + "\treturn !(o->refs > 1 || (o->flags & 4));\n}\n"
C_AFTER = C_HEAD + "\treturn !obj_busy(o);\n}\n"


def _verdicts(header_after: str, c_after: str) -> dict[str, str]:
    files = [
        FileChange("obj.h", "obj.h", HEADER_BEFORE, header_after),
        FileChange("obj.c", "obj.c", C_BEFORE, c_after),
    ]
    # The header is read from the patch itself, not a tree.
    return {v.function: v.verdict for v in behaviour_of_patch(files, None)}


def test_a_helper_the_patch_adds_in_a_header_is_interpreted() -> None:
    assert _verdicts(HEADER_AFTER, C_AFTER) == {"obj_can_free": "equivalent"}


def test_a_wrong_helper_in_the_header_is_found() -> None:
    wrong = HEADER_AFTER.replace("o->refs > 1", "o->refs > 0")
    assert _verdicts(wrong, C_AFTER) == {"obj_can_free": "diverges"}


def test_a_rename_is_the_same_function_for_its_callers() -> None:
    before = (
        "int grab(int x);\nstatic int old_name(int x)\n{\n\treturn grab(x) + 1;\n}\n"
        "int user(int x)\n{\n\treturn old_name(x) * 2;\n}\n"
    )
    after = before.replace("old_name", "new_name")
    verdicts = behaviour_of_patch([FileChange("r.c", "r.c", before, after)], None)
    assert {(v.function, v.old_name, v.verdict) for v in verdicts} == {
        ("new_name", "old_name", "equivalent"),
        ("user", None, "equivalent"),  # it calls the renamed helper, which runs the same
    }


def test_comment_and_layout_changes_are_not_changes() -> None:
    before = "int f(int x)\n{\n\treturn x + 1;\n}\n"
    after = "/* adds one */\nint f(int x)\n{\n\treturn x  +  1; // same\n}\n"
    assert behaviour_of_patch([FileChange("c.c", "c.c", before, after)], None) == []


def test_a_helper_an_earlier_patch_of_the_series_added_is_interpreted() -> None:
    # Patch 1/2 added obj_busy() to obj.h; patch 2/2 (compared here) uses it.
    files = [FileChange("obj.c", "obj.c", C_BEFORE, C_AFTER)]
    series = {"obj.h": HEADER_AFTER}

    def tree(path: str) -> str | None:
        return HEADER_BEFORE if path == "obj.h" else None

    verdicts = behaviour_of_patch(files, tree, series=series)
    assert [(v.function, v.verdict) for v in verdicts] == [("obj_can_free", "equivalent")]
