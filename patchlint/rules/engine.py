"""Rule registry and execution.

A rule is a catalog entry in ``rules/catalog.toml`` (id, severity, confidence, doc page,
the module and function that implement it) plus one function from an
``AnalysisUnit`` to findings. Adding a rule never touches this file.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import patchlint.knowledge as _knowledge
from patchlint.findings import Finding
from patchlint.knowledge import data_path, load_toml


@dataclass(frozen=True)
class RuleMeta:
    id: str
    name: str
    severity: str
    confidence: str
    family: str
    summary: str
    doc: str  # path relative to the rules data directory
    entry: str  # "module:function"
    scope: str = "function"  # "function" (C analysis) or "mail" (message-level)

    def doc_text(self) -> str:
        return data_path(self.doc).read_text(encoding="utf-8")


@dataclass
class AnalysisUnit:
    """Everything a C rule may look at for one file image."""

    source: Any  # patchlint.source.SourceFile
    path: str
    # Restrict findings to these functions (the ones a patch touches); None means all.
    functions: set[str] | None = None
    index: Any = None  # patchlint.source.FunctionIndex for tree-wide callers, or None
    cache: dict[str, Any] = field(default_factory=dict)

    def wants(self, function_name: str | None) -> bool:
        return self.functions is None or (function_name in self.functions)


CheckFunction = Callable[[AnalysisUnit], Iterable[Finding]]


@functools.cache
def all_rules() -> tuple[RuleMeta, ...]:
    catalog = load_toml("catalog.toml")
    metas = []
    for entry in catalog.get("rule", []):
        metas.append(
            RuleMeta(
                id=entry["id"],
                name=entry.get("name", entry["id"]),
                severity=entry["severity"],
                confidence=entry.get("confidence", "high"),
                family=entry.get("family", ""),
                summary=entry["summary"],
                doc=entry.get("doc", f"docs/{entry['id']}.md"),
                entry=entry["entry"],
                scope=entry.get("scope", "function"),
            )
        )
    return tuple(metas)


def get_rule(rule_id: str) -> RuleMeta | None:
    return next((meta for meta in all_rules() if meta.id == rule_id), None)


@functools.cache
def _check_function(entry: str) -> CheckFunction:
    module_name, _, function_name = entry.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def select_rules(
    enabled: Iterable[str] | None = None, ignored: Iterable[str] = (), scope: str = "function"
) -> list[RuleMeta]:
    wanted = set(enabled) if enabled else None
    skip = set(ignored)
    return [
        meta
        for meta in all_rules()
        if meta.scope == scope and (wanted is None or meta.id in wanted) and meta.id not in skip
    ]


def run_rules(unit: AnalysisUnit, rules: Iterable[RuleMeta] | None = None) -> list[Finding]:
    """Run C rules on one file image; findings get the rule's catalog severity by default."""
    findings: list[Finding] = []
    for meta in rules if rules is not None else select_rules():
        for finding in _check_function(meta.entry)(unit):
            if not unit.wants(finding.function):
                continue
            finding.file = finding.file or unit.path
            findings.append(finding)
    mark_suppressed(findings, unit.source)
    findings.sort(key=lambda f: (f.file or "", f.line or 0, f.rule))
    return findings


_SUPPRESS = re.compile(r"patchlint:\s*ignore\s+([\w,\s-]+?)\s*(?:\*/|$)", re.M)


def _suppressions_by_line(text: str) -> dict[int, set[str]]:
    by_line: dict[int, set[str]] = {}
    for match in _SUPPRESS.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        ids = {part.strip() for part in re.split(r"[,\s]+", match.group(1)) if part.strip()}
        by_line.setdefault(line, set()).update(ids)
    return by_line


def mark_suppressed(findings: list[Finding], source: Any) -> None:
    """Honour ``/* patchlint: ignore rule-id */`` on the finding's line or its function head."""
    text = getattr(source, "text", None)
    if not text or "patchlint:" not in text:
        return
    by_line = _suppressions_by_line(text)
    for finding in findings:
        lines = {finding.line}
        function = source.function(finding.function) if finding.function else None
        if function is not None:
            # The comment may sit on the lines just above the definition, or in its head.
            lines.update(range(max(1, function.start_line - 3), function.start_line + 2))
        for line in lines:
            ids = by_line.get(line or 0, set())
            if finding.rule in ids or "all" in ids:
                finding.suppressed = True


# User configuration may extend the knowledge data; drop what was derived from it.
_knowledge.on_change(all_rules.cache_clear)
