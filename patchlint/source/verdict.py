"""Per-function parse verdicts: may later stages analyse this function, and if not, why.

A function is *not analysed* (never guessed at) when its parse is not
trustworthy or its code is outside what the analyses model:

* ``syntax-error``: an ERROR or MISSING node is left inside the definition
  after normalisation and repair;
* ``unsupported-macro``: the same, where the failing text is a macro
  invocation the normaliser could not rewrite (its name is given);
* ``inline-asm``: the body holds inline assembly, whose effect on locks,
  memory and control flow nothing here models (an empty compiler barrier,
  ``asm volatile("" ::: "memory")``, does nothing and is not counted);
* ``computed-goto``: ``goto *ptr`` (its targets are unknown);
* ``too-deep``: the syntax tree nests deeper than the analysis budget.

The source stage computes the first four when it parses the file; the depth
is measured on demand against the caller's budget (``FunctionDef.verdict``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .normalise_scan import C_WORDS

if TYPE_CHECKING:
    import tree_sitter

    from .normalise import Construct

__all__ = [
    "DEFAULT_MAX_NESTING",
    "IssueKind",
    "ParseIssue",
    "ParseVerdict",
    "nesting_depth",
    "parse_issues",
]

IssueKind = Literal["syntax-error", "unsupported-macro", "inline-asm", "computed-goto", "too-deep"]

# Syntax-tree depth (every node counts) a function may reach.  Kernel code
# stays under 50; generated crypto code reaches about 110.
DEFAULT_MAX_NESTING = 200
# At most this many syntax issues are reported per function (the first ones).
MAX_SYNTAX_ISSUES = 3

_ASM_WORD = re.compile(rb"(?<![\w$])(?:__asm__|__asm|asm)(?![\w$])")
_CALL = re.compile(rb"([A-Za-z_]\w*)[ \t]*\(")
_WORD = re.compile(rb"[A-Za-z_]\w*")
_UNMODELLED_CONSTRUCTS = {"inline_asm": "inline-asm", "asm_label": "inline-asm"}


@dataclass(frozen=True)
class ParseIssue:
    """Why a function is not analysed: what, where (1-based line) and a detail."""

    kind: IssueKind
    line: int
    detail: str

    def __str__(self) -> str:
        return f"{self.detail} at line {self.line}"


@dataclass(frozen=True)
class ParseVerdict:
    """The front end's word on one function: analysable, or not with the reasons."""

    issues: tuple[ParseIssue, ...] = ()

    @property
    def analysable(self) -> bool:
        return not self.issues

    @property
    def reason(self) -> str | None:
        """One line for reports: the issues joined, or None when analysable."""
        return "; ".join(str(issue) for issue in self.issues) or None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form: ``{"analysable", "reason", "issues": [{kind, line, detail}]}``."""
        return {
            "analysable": self.analysable,
            "reason": self.reason,
            "issues": [
                {"kind": issue.kind, "line": issue.line, "detail": issue.detail}
                for issue in self.issues
            ],
        }


def parse_issues(
    node: tree_sitter.Node, original: bytes, normalised: bytes, constructs: Iterable[Construct]
) -> tuple[ParseIssue, ...]:
    """The issues of the function definition ``node`` that need no budget.

    ``original`` and ``normalised`` are the file's bytes before and after
    normalisation (same length); ``constructs`` the side-table entries inside
    the function.
    """
    issues: list[ParseIssue] = []
    if node.has_error:
        issues.extend(_syntax_issues(node, original))
    issues.extend(_asm_issues(node, normalised))
    seen = {(issue.kind, issue.line) for issue in issues}
    for construct in constructs:
        kind = _UNMODELLED_CONSTRUCTS.get(construct.kind)
        if construct.kind == "computed_goto":
            issue = ParseIssue("computed-goto", construct.line, "computed goto")
        elif kind == "inline-asm":
            issue = ParseIssue("inline-asm", construct.line, "inline asm")
        else:
            continue
        if (issue.kind, issue.line) not in seen:
            seen.add((issue.kind, issue.line))
            issues.append(issue)
    issues.sort(key=lambda issue: issue.line)
    return tuple(issues)


def _syntax_issues(node: tree_sitter.Node, original: bytes) -> list[ParseIssue]:
    issues: list[ParseIssue] = []
    stack = [node]
    while stack and len(issues) < MAX_SYNTAX_ISSUES:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            issues.append(_describe_error(current, original))
        elif current.has_error:
            stack.extend(reversed(current.children))
    return issues


def _describe_error(node: tree_sitter.Node, original: bytes) -> ParseIssue:
    """Name the macro behind an ERROR or MISSING node when there is one to name."""
    line = node.start_point[0] + 1
    line_start = original.rfind(b"\n", 0, node.start_byte) + 1
    if node.is_missing:
        # A MISSING node sits where the parser wanted a token: the text before it
        # on its line is what broke (`FOO(x)` with no `;`, a macro used as a type).
        text = original[line_start : node.start_byte]
        what = f"missing {node.type!r}"
    else:
        # The culprit may follow a short ERROR node: look to the end of the next line.
        stop = original.find(b"\n", node.end_byte)
        stop = original.find(b"\n", stop + 1) if stop >= 0 else -1
        stop = len(original) if stop < 0 else stop
        text = original[line_start : min(stop, node.start_byte + 300)]
        what = "syntax error"
    macro = _macro_in(text)
    if macro is not None:
        return ParseIssue("unsupported-macro", line, f"unsupported macro {macro} ({what})")
    snippet = " ".join(text.decode("utf-8", "replace").split())[:60]
    return ParseIssue("syntax-error", line, f"{what} near {snippet!r}" if snippet else what)


def _macro_in(text: bytes) -> str | None:
    """The macro-looking word of a failing text: an ALL-CAPS call, else a call on
    the first line that is not C, else an ALL-CAPS word."""
    first_line = text.split(b"\n", 1)[0]
    calls = [m.group(1).decode("ascii") for m in _CALL.finditer(text)]
    for name in calls:
        if name.isupper() and name not in C_WORDS:
            return name
    for match in _CALL.finditer(first_line):
        name = match.group(1).decode("ascii")
        if name not in C_WORDS:
            return name
    for match in _WORD.finditer(first_line):
        word = match.group().decode("ascii")
        if word.isupper() and len(word) > 1 and word not in C_WORDS:
            return word
    return None


def _asm_issues(node: tree_sitter.Node, normalised: bytes) -> list[ParseIssue]:
    issues: list[ParseIssue] = []
    if normalised.find(b"asm", node.start_byte, node.end_byte) < 0:
        return issues  # most functions: a plain search is far cheaper than the pattern
    for match in _ASM_WORD.finditer(normalised, node.start_byte, node.end_byte):
        leaf = node.descendant_for_byte_range(match.start(), match.end())
        ancestor = leaf
        for _ in range(3):
            if ancestor is None or ancestor.type == "gnu_asm_expression":
                break
            ancestor = ancestor.parent
        if (
            ancestor is not None
            and ancestor.type == "gnu_asm_expression"
            and not _compiler_barrier(ancestor)
        ):
            issues.append(ParseIssue("inline-asm", ancestor.start_point[0] + 1, "inline asm"))
    return issues


def _compiler_barrier(asm: tree_sitter.Node) -> bool:
    """``asm volatile("" ::: "memory")``: no instruction, no operand, nothing to model."""
    for child in asm.named_children:
        if child.type == "string_literal" and child.named_child_count:
            return False  # a template with instructions
        if child.type in ("gnu_asm_output_operand_list", "gnu_asm_input_operand_list"):
            if child.named_child_count:
                return False
        elif child.type == "gnu_asm_goto_list":
            return False
    return True


def nesting_depth(node: tree_sitter.Node, limit: int) -> int:
    """Depth of the syntax tree under ``node``, counted up to ``limit + 1``."""
    cursor = node.walk()
    depth = deepest = 0
    while True:
        if cursor.goto_first_child():
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
            continue
        while not cursor.goto_next_sibling():
            if depth == 0 or not cursor.goto_parent():
                return deepest
            depth -= 1
            if depth == 0:
                return deepest
