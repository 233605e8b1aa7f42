"""bench/make_recall_corpus.py on a small synthetic tree (fast tier): the checks that
keep a hand-written case honest (edit found once, inside the named function, diff
applies) refuse what they should."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.make_recall_corpus as generator

SOURCE = """\
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(lock);

static int helper(int x)
{
\treturn x + 1;
}

int locked_add(int *v,
\t       int x)
{
\tspin_lock(&lock);
\t*v += helper(x);
\tspin_unlock(&lock);
\treturn 0;
}
"""


def case(edits: list[generator.Edit], function: str = "locked_add") -> generator.Case:
    return generator.Case(
        family="locks",
        number=1,
        id="synthetic",
        kind="bug",
        category="error-path",
        file="lib/synthetic.c",
        function=function,
        subject="lib: synthetic",
        body="Body.\n",
        expect=[f"introduced lock-unbalanced {function}"],
        rationale="r",
        edits=edits,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "synthetic.c").write_text(SOURCE)
    return tmp_path


def test_a_case_becomes_an_applying_mail(tree: Path) -> None:
    edit = generator.Edit("\tspin_unlock(&lock);\n\treturn 0;\n", "\treturn 0;\n")
    mail = generator.build(case([edit]), tree)
    assert "X-Patchlint-Expect: introduced lock-unbalanced locked_add" in mail
    assert "-\tspin_unlock(&lock);" in mail
    assert "@@ -12,6 +12,5 @@ int locked_add(int *v," in mail
    assert (tree / "lib" / "synthetic.c").read_text() == SOURCE  # the tree is only read


def test_an_edit_outside_the_named_function_is_refused(tree: Path) -> None:
    edit = generator.Edit("\treturn x + 1;\n", "\treturn x + 2;\n")
    with pytest.raises(ValueError, match="outside locked_add"):
        generator.build(case([edit]), tree)
    include = generator.Edit(
        "#include <linux/spinlock.h>\n",
        "#include <linux/spinlock.h>\n#include <linux/delay.h>\n",
        outside_function=True,
    )
    inside = generator.Edit("\treturn 0;\n", "\tudelay(1);\n\treturn 0;\n")
    assert "+#include <linux/delay.h>" in generator.build(case([include, inside]), tree)


def test_ambiguous_or_missing_text_is_refused(tree: Path) -> None:
    with pytest.raises(ValueError, match="found 2 times"):
        generator.build(case([generator.Edit("\treturn", "\treturn")]), tree)
    with pytest.raises(ValueError, match="found 0 times"):
        generator.build(case([generator.Edit("mutex_lock", "x")]), tree)
    with pytest.raises(ValueError, match="no definition of nothere"):
        generator.build(case([generator.Edit("\treturn 0;\n", "\treturn 1;\n")], "nothere"), tree)
