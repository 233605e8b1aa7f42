"""Parsing kernel C with tree-sitter-c after normalisation.

Offset convention: tree-sitter works in UTF-8 bytes, and so does everything
here.  ``SourceFile.text`` is the original ``str``; ``SourceFile.data`` is its
UTF-8 encoding and ``SourceFile.normalised_data`` the encoding of the
normalised text.  The normaliser only swaps ASCII for ASCII, so both encodings
have identical length and byte offsets, which means a node's byte span can be
read straight out of ``data`` to get the user's original text.
``Construct.start``/``end`` are byte offsets as well.

Every ``FunctionDef`` carries the front end's verdict (``verdict()``,
``analysable``, ``not_analysed_reason``): later stages list a function that is
not analysable as "not analysed" with the reason instead of guessing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import tree_sitter

from .normalise import Construct, Dialect, Normalised, Reparse, normalise_and_parse_plain
from .verdict import DEFAULT_MAX_NESTING, ParseIssue, ParseVerdict, nesting_depth, parse_issues

__all__ = [
    "TRANSPARENT",
    "FunctionDef",
    "SourceFile",
    "constructs_between",
    "extract_functions",
    "iter_top_level_functions",
    "parse_c",
]

# Containers whose children are still at file scope.
TRANSPARENT = frozenset(
    {
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "linkage_specification",
        "declaration_list",
    }
)
_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "parenthesized_declarator", "attributed_declarator"}
)


@dataclass
class FunctionDef:
    """One file-scope function definition (inside ``#if`` blocks too)."""

    name: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    node: tree_sitter.Node = field(repr=False, compare=False)
    body: tree_sitter.Node | None = field(repr=False, compare=False)
    is_static: bool = False
    is_inline: bool = False
    params: list[str] = field(default_factory=list)
    annotations: list[Construct] = field(default_factory=list)
    has_errors: bool = False
    # What the parse found wrong (ERROR/MISSING nodes, inline asm, computed goto).
    issues: tuple[ParseIssue, ...] = ()
    _depth: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    def verdict(self, max_nesting: int = DEFAULT_MAX_NESTING) -> ParseVerdict:
        """Analysable, or not with the reasons, for an analysis whose budget is
        ``max_nesting`` levels of syntax tree."""
        issues = self.issues
        depth = self.nesting_depth(max_nesting)
        if depth > max_nesting:
            detail = f"nesting deeper than the budget ({max_nesting} levels)"
            issues = (*issues, ParseIssue("too-deep", self.start_line, detail))
        return ParseVerdict(issues)

    def nesting_depth(self, limit: int = DEFAULT_MAX_NESTING) -> int:
        """Depth of the definition's syntax tree, counted up to ``limit + 1``."""
        if self._depth is not None:
            depth, measured_to = self._depth
            if depth <= measured_to or measured_to >= limit:
                return depth  # exact, or already known to exceed ``limit``
        depth = nesting_depth(self.node, limit)
        self._depth = (depth, limit)
        return depth

    @property
    def analysable(self) -> bool:
        """The verdict under the default budget."""
        return self.verdict().analysable

    @property
    def not_analysed_reason(self) -> str | None:
        """Why the function is not analysed (default budget), or None."""
        return self.verdict().reason


@dataclass
class SourceFile:
    path: str
    text: str
    normalised: Normalised
    tree: tree_sitter.Tree = field(repr=False)
    data: bytes = field(repr=False, default=b"")
    normalised_data: bytes = field(repr=False, default=b"")
    functions: list[FunctionDef] = field(default_factory=list)
    # The unrepaired parse of ``normalised_data`` (None after repairs): a later
    # version of the file is parsed from it incrementally (``parse_c(previous=)``).
    reparse: Reparse | None = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        self._by_name: dict[str, FunctionDef] = {}
        for fn in self.functions:
            # Prefer a definition without parse errors when a name repeats
            # (e.g. the two arms of an #ifdef).
            if fn.name not in self._by_name or self._by_name[fn.name].has_errors:
                self._by_name[fn.name] = fn
        self._starts = [fn.start_line for fn in self.functions]

    @property
    def constructs(self) -> list[Construct]:
        return self.normalised.constructs

    @property
    def has_errors(self) -> bool:
        return self.tree.root_node.has_error

    def function_at_line(self, line: int) -> FunctionDef | None:
        """The function whose definition spans 1-based ``line``."""
        index = bisect.bisect_right(self._starts, line)
        for position in range(index - 1, max(index - 6, -1), -1):
            fn = self.functions[position]
            if fn.start_line <= line <= fn.end_line:
                return fn
        return None

    def function(self, name: str) -> FunctionDef | None:
        return self._by_name.get(name)

    def not_analysed(
        self, names: Iterable[str] | None = None, max_nesting: int = DEFAULT_MAX_NESTING
    ) -> list[tuple[FunctionDef, ParseVerdict]]:
        """The functions (of ``names``, or all) later stages must list as "not
        analysed", with their verdicts, in file order."""
        wanted = None if names is None else set(names)
        found: list[tuple[FunctionDef, ParseVerdict]] = []
        for fn in self.functions:
            if wanted is not None and fn.name not in wanted:
                continue
            verdict = fn.verdict(max_nesting)
            if not verdict.analysable:
                found.append((fn, verdict))
        return found

    def node_text(self, node: tree_sitter.Node) -> str:
        """The ORIGINAL text of a node's span (rules see the kernel macro, not the rewrite)."""
        return self.byte_text(node.start_byte, node.end_byte)

    def byte_text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", errors="replace")

    def normalised_text(self, node: tree_sitter.Node) -> str:
        return self.normalised_data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def constructs_in(self, node: tree_sitter.Node) -> list[Construct]:
        """Side-table constructs lying inside ``node``'s byte span."""
        return self.normalised.constructs_between(node.start_byte, node.end_byte)


def constructs_between(normalised: Normalised, start: int, end: int) -> list[Construct]:
    return normalised.constructs_between(start, end)


def iter_top_level_functions(root: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Function definitions at file scope, including those inside #if blocks."""
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            yield node
        elif node.type in TRANSPARENT:
            stack.extend(reversed(node.children))


def _function_declarator(node: tree_sitter.Node | None) -> tree_sitter.Node | None:
    while node is not None and node.type != "function_declarator":
        if node.type not in _DECLARATOR_WRAPPERS:
            return None
        node = node.child_by_field_name("declarator")
    return node


def _declared_name(node: tree_sitter.Node | None, data: bytes) -> str | None:
    """The identifier a (possibly nested) declarator declares."""
    while node is not None:
        if node.type in ("identifier", "field_identifier", "type_identifier"):
            return data[node.start_byte : node.end_byte].decode("utf-8", "replace")
        inner = node.child_by_field_name("declarator")
        if inner is None and node.type == "parenthesized_declarator" and node.named_children:
            # `u64 (*read)(void)`: the grammar gives the parenthesised part no field name.
            inner = node.named_children[0]
        if inner is None:
            return None
        node = inner
    return None


def _function_def(
    node: tree_sitter.Node, data: bytes, original: bytes, normalised: Normalised
) -> FunctionDef | None:
    declarator = _function_declarator(node.child_by_field_name("declarator"))
    if declarator is None:
        return None
    name = _declared_name(declarator.child_by_field_name("declarator"), data)
    if not name:
        return None
    params: list[str] = []
    parameters = declarator.child_by_field_name("parameters")
    if parameters is not None:
        for param in parameters.named_children:
            if param.type == "parameter_declaration":
                pname = _declared_name(param.child_by_field_name("declarator"), data)
                if pname:
                    params.append(pname)
    is_static = is_inline = False
    for child in node.children:
        if child.type == "storage_class_specifier":
            word = data[child.start_byte : child.end_byte]
            is_static = is_static or word == b"static"
            is_inline = is_inline or word in (b"inline", b"__inline", b"__inline__")
        elif child.type.endswith("declarator"):
            break
    body = node.child_by_field_name("body")
    header_end = body.start_byte if body is not None else node.end_byte
    annotations = [
        c
        for c in normalised.constructs_between(node.start_byte, header_end)
        if c.kind == "annotation"
    ]
    inside = normalised.constructs_between(node.start_byte, node.end_byte)
    return FunctionDef(
        name=name,
        start_line=node.start_point[0] + 1,
        end_line=node.end_point[0] + 1,
        start_byte=node.start_byte,
        end_byte=node.end_byte,
        node=node,
        body=body,
        is_static=is_static,
        is_inline=is_inline,
        params=params,
        annotations=annotations,
        has_errors=node.has_error,
        issues=parse_issues(node, original, data, inside),
    )


def extract_functions(
    root: tree_sitter.Node, data: bytes, normalised: Normalised, original: bytes | None = None
) -> list[FunctionDef]:
    """Definitions under ``root``; ``data`` is the normalised text's bytes and
    ``original`` the file's own (the same when omitted)."""
    functions: list[FunctionDef] = []
    for node in iter_top_level_functions(root):
        fn = _function_def(node, data, data if original is None else original, normalised)
        if fn is not None:
            functions.append(fn)
    return functions


def parse_c(
    text: str, path: str = "", dialect: Dialect | None = None, previous: SourceFile | None = None
) -> SourceFile:
    """Normalise and parse one C file; never raises on malformed input. ``previous``:
    another version of the same file (a patch's pre-image), parsed with the same
    dialect, whose unchanged parts the parse reuses (the result is the same)."""
    reparse = previous.reparse if previous is not None else None
    normalised, tree, plain = normalise_and_parse_plain(text, dialect, reparse)
    data = text.encode("utf-8", "surrogatepass")
    normalised_data = normalised.text.encode("utf-8", "surrogatepass")
    # Names and specifiers are read from the normalised bytes: rewrites such
    # as SYSCALL_DEFINE0 move the name, and `__always_inline` reads `inline`.
    functions = extract_functions(tree.root_node, normalised_data, normalised, data)
    return SourceFile(
        path=path,
        text=text,
        normalised=normalised,
        tree=tree,
        data=data,
        normalised_data=normalised_data,
        functions=functions,
        # The same bytes as the plain parse's: kept once.
        reparse=Reparse(normalised_data, tree) if plain is not None else None,
    )
