"""The tree-sitter C language and the shared parser every stage uses."""

from __future__ import annotations

import tree_sitter
import tree_sitter_c

__all__ = ["C_LANGUAGE", "parse_bytes"]

C_LANGUAGE = tree_sitter.Language(tree_sitter_c.language())
_PARSER = tree_sitter.Parser(C_LANGUAGE)


def parse_bytes(data: bytes, old_tree: tree_sitter.Tree | None = None) -> tree_sitter.Tree:
    """Parse with the shared module-level parser (tree-sitter parsers are reusable).

    With ``old_tree`` (already told about the edits via ``Tree.edit``) the parse is
    incremental: unchanged subtrees are reused.
    """
    if old_tree is None:
        return _PARSER.parse(data)
    return _PARSER.parse(data, old_tree)
