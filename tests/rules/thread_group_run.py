"""Running the thread-group rules on a real file before and after an edit of one function."""

from __future__ import annotations

from pathlib import Path

from patchlint.findings import Finding
from patchlint.rules import AnalysisUnit, diff_findings, run_rules, select_rules
from patchlint.source import FunctionIndex, SourceFile, parse_c

RULES = ("thread-flag-as-group", "thread-action-on-group", "group-state-as-thread")


def findings(text: str, path: str, function: str, index: FunctionIndex) -> list[Finding]:
    unit = AnalysisUnit(source=parse_c(text, path), path=path, functions={function}, index=index)
    return run_rules(unit, select_rules(enabled=RULES))


def replace_in_function(
    text: str, path: str, function: str, old: str, new: str, nth: int = 1
) -> str:
    """``old`` replaced by ``new`` at its ``nth`` occurrence inside ``function`` only."""
    source: SourceFile = parse_c(text, path)
    fn = source.function(function)
    if fn is None:
        raise AssertionError(f"{path}: no function {function}")
    data = text.encode()
    body = data[fn.start_byte : fn.end_byte].decode()
    at = -1
    for _ in range(nth):
        at = body.find(old, at + 1)
        if at < 0:
            raise AssertionError(f"{path}:{function}: occurrence {nth} of {old!r} not found")
    body = body[:at] + new + body[at + len(old) :]
    return data[: fn.start_byte].decode() + body + data[fn.end_byte :].decode()


def statuses(
    tree: Path, index: FunctionIndex, path: str, function: str, pre: str, post: str
) -> list[Finding]:
    return diff_findings(
        findings(pre, path, function, index), findings(post, path, function, index)
    )
