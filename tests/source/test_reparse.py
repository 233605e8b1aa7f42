"""A patch's post-image is parsed from its pre-image (tree-sitter's incremental
parse): the result is the tree a fresh parse gives, and a file that needed repairs
is never parsed from."""

from __future__ import annotations

import tree_sitter

from patchlint.source import parse_c

PRE = """
static int helper(int x)
{
	return x + 1;
}

int user(struct dev *d)
{
	int v = helper(d->n);

	spin_lock(&d->lock);
	d->n = v;
	spin_unlock(&d->lock);
	return 0;
}
"""
EDITS = [
    ("\tint v = helper(d->n);\n", "\tint v = helper(d->n);\n\tint w = 2;\n"),
    ("return x + 1;", "return x + 2;"),
    ("\tspin_lock(&d->lock);\n", ""),
    ("static int helper", "static long helper"),
    ("return 0;\n}\n", "return 0;\n}\n\nvoid more(void)\n{\n}\n"),
]


def _shape(tree: tree_sitter.Tree) -> list[tuple[str, int, int, bool]]:
    found = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        found.append((node.type, node.start_byte, node.end_byte, node.is_missing))
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found


def test_post_image_parsed_from_the_pre_image_is_a_fresh_parse() -> None:
    pre = parse_c(PRE, "d.c")
    assert pre.reparse is not None
    for old, new in EDITS:
        post_text = PRE.replace(old, new, 1)
        assert post_text != PRE
        fresh = parse_c(post_text, "d.c")
        reused = parse_c(post_text, "d.c", previous=pre)
        assert _shape(reused.tree) == _shape(fresh.tree)
        assert [(f.name, f.start_byte, f.end_byte) for f in reused.functions] == [
            (f.name, f.start_byte, f.end_byte) for f in fresh.functions
        ]
    assert _shape(parse_c(PRE, "d.c", previous=pre).tree) == _shape(pre.tree)
    # The pre-image's tree is left as it was.
    assert _shape(pre.tree) == _shape(parse_c(PRE, "d.c").tree)


def test_an_edit_that_breaks_the_parse_is_parsed_afresh() -> None:
    pre = parse_c(PRE, "d.c")
    broken = PRE.replace("d->n = v;", "d->n = = v;")
    reused = parse_c(broken, "d.c", previous=pre)
    assert reused.has_errors
    assert _shape(reused.tree) == _shape(parse_c(broken, "d.c").tree)
