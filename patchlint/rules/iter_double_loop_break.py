"""iter-double-loop-break: `break` inside a macro that expands to two nested loops
(kernel/iterators.toml `double = true`).

Why is this bad: the break leaves only the inner loop; the walk goes on with the
next process, which is rarely what the author meant.

Example:
    for_each_process_thread(p, t) {
        if (match(t))
            break;                  /* only leaves the thread loop */
    }
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from tree_sitter import Node

from patchlint.analysis.facts import file_facts
from patchlint.findings import Evidence, Finding
from patchlint.units import AnalysisUnit

SCOPE = "function"
FACTS = ("cfg", "iterators")

# A break inside any of these belongs to it, not to the iterator around it.
_BREAK_TARGETS = frozenset({"for_statement", "while_statement", "do_statement", "switch_statement"})


def _loop_node(root: Node, start: int) -> Node | None:
    node = root.descendant_for_byte_range(start, start)
    while node is not None and not (node.type in _BREAK_TARGETS and node.start_byte == start):
        node = node.parent
    return node


def _direct_breaks(loop: Node) -> list[Node]:
    body = loop.child_by_field_name("body")
    found: list[Node] = []
    stack = [body] if body is not None else []
    while stack:
        node = stack.pop()
        if node.type == "break_statement":
            found.append(node)
            continue
        if node.type in _BREAK_TARGETS or node.type == "function_definition":
            continue
        stack.extend(node.named_children)
    return sorted(found, key=lambda n: n.start_byte)


def check(unit: AnalysisUnit) -> Iterator[Finding]:
    ff = file_facts(unit)
    root = unit.source.tree.root_node
    occurrences: Counter[tuple[str, str]] = Counter()
    for start, construct in sorted(ff.loops.items()):
        spec = ff.kb.iterators.get(construct.name)
        if construct.kind != "iterator" or spec is None or not spec.double:
            continue
        fn = ff.function_containing(start)
        if fn is None or not unit.wants(fn.name):
            continue
        loop = _loop_node(root, start)
        if loop is None:
            continue
        label = f"{construct.name}({', '.join(a.strip() for a in construct.args)})"
        for brk in _direct_breaks(loop):
            line = brk.start_point[0] + 1
            key = f"{label} break#{occurrences[(fn.name, label)]}"
            occurrences[(fn.name, label)] += 1
            yield Finding(
                rule="iter-double-loop-break",
                severity="warning",
                message=f"break inside {construct.name}() only leaves the inner thread loop; "
                "the walk goes on with the next process (use goto)",
                file=ff.path,
                line=line,
                column=brk.start_point[1] + 1,
                function=fn.name,
                key=key,
                confidence="high",
                evidence=[
                    Evidence(
                        "note",
                        f"{construct.name}() expands to two nested loops",
                        ff.path,
                        construct.line,
                    )
                ],
            )
