"""Tree-wide callers through the function index: does a caller hand the tested task
to the function from the cursor of a walk over every thread, or pass on its own
parameter (so that its callers decide)?"""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter

from patchlint.rules.taskscope.extract import strip, text
from patchlint.rules.taskscope.view import TaskView
from patchlint.source import FunctionDef, SourceFile


def callers_passing(
    view: TaskView, index: object, name: str, position: int, max_files: int
) -> Iterator[tuple[str, str, int, str | None, int | None]]:
    """(file, caller, line, walk name if the argument is a thread-walk cursor, caller's
    parameter index if the argument is one of its parameters)."""
    callers_of = getattr(index, "callers", None)
    source_of = getattr(index, "source", None)
    if not callable(callers_of) or not callable(source_of):
        return
    try:
        found = list(callers_of(name) or ())
    except Exception:  # an index failure must not end the run; the evidence is optional
        return
    files = sorted({str(item[0]) for item in found})[:max_files]
    for item in found:
        path, fn, site = str(item[0]), item[1], item[2]
        if path not in files or not isinstance(fn, FunctionDef):
            continue
        node = getattr(site, "node", None)
        source = source_of(path)
        if not isinstance(node, tree_sitter.Node) or not isinstance(source, SourceFile):
            continue
        arguments = node.child_by_field_name("arguments")
        args = [a for a in arguments.named_children if a.type != "comment"] if arguments else []
        if position >= len(args):
            continue
        argument = strip(args[position])
        if argument is None or argument.type != "identifier":
            continue
        spelled = text(argument)
        walk = _walk_of(view, source, fn, node, spelled)
        forwarded = fn.params.index(spelled) if spelled in fn.params else None
        yield path, fn.name, node.start_point[0] + 1, walk, forwarded


def _walk_of(
    view: TaskView, source: SourceFile, fn: FunctionDef, node: tree_sitter.Node, cursor: str
) -> str | None:
    """The walk over every thread whose cursor ``cursor`` is, around ``node``."""
    walkers = view.model.roots.walkers
    for construct in source.constructs_in(fn.node):
        walker = walkers.get(construct.name)
        if construct.kind != "iterator" or walker is None or not walker.every_thread:
            continue
        if walker.cursor >= len(construct.args) or construct.args[walker.cursor].strip() != cursor:
            continue
        loop = fn.node.descendant_for_byte_range(construct.start, construct.start)
        while loop is not None and loop.type not in (
            "for_statement",
            "while_statement",
            "do_statement",
        ):
            loop = loop.parent
        if (
            loop is not None
            and loop.start_byte <= node.start_byte
            and node.end_byte <= loop.end_byte
        ):
            return construct.name
    return None
