"""The rule engine: one registry built from the catalog, and the runner per scope.

The contract of a rule module (named by its catalog entry)::

    \"\"\"rule-id: what it finds.  Why is this bad: ...  Example: ...\"\"\"
    SCOPE = "function"            # "function" | "mail" | "series" | "behaviour"
    FACTS = ("cfg", "lock-state") # analysis facts it reads ([facts.<scope>] in the catalog)

    def check(unit: AnalysisUnit) -> Iterator[Finding]: ...

The unit's type follows the scope (``patchlint.units``). A rule never sets severity:
the engine stamps the catalog's (or the user's override) on every finding, and the
catalog's confidence, which a rule may only lower for one finding it is less sure of.
A finding of low confidence is reported as info: a guess never fails a run.

A module that cannot be imported, or breaks the contract, raises :class:`RuleError`
when the rule is loaded: a broken rule is never skipped silently. Modules are imported
on first use, so checking mail alone never loads the C analysis.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

import patchlint.knowledge as _knowledge
from patchlint.findings import CONFIDENCE_ORDER, Finding, Severity
from patchlint.rules.catalog import Catalog, RuleError, RuleMeta, load_catalog
from patchlint.units import SCOPES, AnalysisUnit, BehaviourUnit, Scope, SeriesUnit

if TYPE_CHECKING:
    from patchlint.mail import Message
    from patchlint.source import SourceFile

__all__ = [
    "AnalysisUnit",
    "LoadedRule",
    "Rule",
    "RuleError",
    "RuleMeta",
    "all_rules",
    "catalog",
    "get_rule",
    "load_rule",
    "mark_suppressed",
    "run_behaviour_rules",
    "run_mail_rules",
    "run_rules",
    "run_series_rules",
    "select_rules",
]

CheckFunction = Callable[..., Iterable[Finding]]


@functools.cache
def catalog() -> Catalog:
    """The shipped catalog (with no extensions: configuration cannot define rules)."""
    return load_catalog()


def all_rules() -> tuple[RuleMeta, ...]:
    return catalog().rules


def get_rule(rule_id: str) -> RuleMeta | None:
    return catalog().get(rule_id)


@dataclass(frozen=True)
class LoadedRule:
    """A rule module checked against the contract."""

    module: str
    scope: Scope
    facts: tuple[str, ...]
    check: CheckFunction
    doc: str


def load_rule(meta: RuleMeta, rules_catalog: Catalog | None = None) -> LoadedRule:
    """Import and check the module of ``meta``; RuleError names what is wrong."""
    return _load(meta.module, meta.scope, _facts_of(rules_catalog or catalog(), meta.scope))


def _facts_of(rules_catalog: Catalog, scope: str) -> frozenset[str]:
    return frozenset(rules_catalog.facts.get(scope, {}))


@functools.cache
def _load(module_name: str, scope: Scope, known_facts: frozenset[str]) -> LoadedRule:
    where = f"rule module {module_name}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise RuleError(f"{where} cannot be imported: {error}") from error
    declared_scope = getattr(module, "SCOPE", None)
    if declared_scope not in SCOPES:
        raise RuleError(f"{where}: SCOPE must be one of {', '.join(SCOPES)}")
    if declared_scope != scope:
        raise RuleError(f"{where}: SCOPE is {declared_scope!r}, the catalog says {scope!r}")
    facts = _declared_facts(module, where)
    unknown = sorted(set(facts) - known_facts)
    if unknown:
        raise RuleError(
            f"{where}: FACTS names {', '.join(unknown)}, not facts of scope {scope!r} "
            f"(catalog [facts.{scope}]: {', '.join(sorted(known_facts)) or 'none'})"
        )
    check = getattr(module, "check", None)
    if not callable(check):
        raise RuleError(f"{where}: no check(unit) function")
    if not (module.__doc__ or "").strip():
        raise RuleError(f"{where}: no docstring (what it does, why it is bad, an example)")
    return LoadedRule(module_name, scope, facts, check, module.__doc__ or "")


def _declared_facts(module: ModuleType, where: str) -> tuple[str, ...]:
    facts = getattr(module, "FACTS", None)
    if not isinstance(facts, tuple) or not all(isinstance(name, str) for name in facts):
        raise RuleError(f"{where}: FACTS must be a tuple of fact names")
    return facts


@dataclass
class Rule:
    """A selected rule: its catalog entry and the severity this run gives it."""

    meta: RuleMeta
    severity: Severity
    rules_catalog: Catalog | None = None
    _loaded: LoadedRule | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def scope(self) -> Scope:
        return self.meta.scope

    def load(self) -> LoadedRule:
        if self._loaded is None:
            self._loaded = load_rule(self.meta, self.rules_catalog)
        return self._loaded

    def findings(self, unit: object) -> list[Finding]:
        found = []
        for finding in self.load().check(unit):
            if finding.rule != self.meta.id:
                raise RuleError(
                    f"rule module {self.meta.module} reported {finding.rule!r} "
                    f"as rule {self.meta.id!r}"
                )
            self._stamp(finding)
            found.append(finding)
        return found

    def _stamp(self, finding: Finding) -> None:
        ceiling = self.meta.confidence
        if CONFIDENCE_ORDER[finding.confidence] > CONFIDENCE_ORDER[ceiling]:
            finding.confidence = ceiling
        finding.severity = "info" if finding.confidence == "low" else self.severity


def select_rules(
    enabled: Iterable[str] | None = None,
    ignored: Iterable[str] = (),
    scope: Scope | None = "function",
    severity: Mapping[str, Severity] | None = None,
    rules_catalog: Catalog | None = None,
) -> list[Rule]:
    """The rules of ``scope`` (None: every scope) a run uses, in catalog order.

    ``enabled`` (None: all; empty: none) and ``ignored`` select by id; ``severity`` overrides the
    catalog's default per rule id.
    """
    source = rules_catalog or catalog()
    wanted = set(enabled) if enabled is not None else None
    skip = set(ignored)
    overrides = severity or {}
    return [
        Rule(meta, overrides.get(meta.id, meta.severity), rules_catalog)
        for meta in source.rules
        if (scope is None or meta.scope == scope)
        and (wanted is None or meta.id in wanted)
        and meta.id not in skip
    ]


def _of_scope(rules: Sequence[Rule] | None, scope: Scope) -> Sequence[Rule]:
    if rules is None:
        return select_rules(scope=scope)
    wrong = [rule.id for rule in rules if rule.scope != scope]
    if wrong:
        raise ValueError(f"rules {', '.join(wrong)} are not of scope {scope!r}")
    return rules


def run_rules(unit: AnalysisUnit, rules: Sequence[Rule] | None = None) -> list[Finding]:
    """Run function-scope rules on one C file image (all of them when ``rules`` is None)."""
    findings: list[Finding] = []
    for rule in _of_scope(rules, "function"):
        for finding in rule.findings(unit):
            if not unit.wants(finding.function):
                continue
            finding.file = finding.file or unit.path
            findings.append(finding)
    mark_suppressed(findings, unit.source)
    findings.sort(key=lambda f: (f.file or "", f.line or 0, f.rule))
    return findings


def run_mail_rules(message: Message, rules: Sequence[Rule] | None = None) -> list[Finding]:
    return [f for rule in _of_scope(rules, "mail") for f in rule.findings(message)]


def run_series_rules(unit: SeriesUnit, rules: Sequence[Rule] | None = None) -> list[Finding]:
    return [f for rule in _of_scope(rules, "series") for f in rule.findings(unit)]


def run_behaviour_rules(unit: BehaviourUnit, rules: Sequence[Rule] | None = None) -> list[Finding]:
    return [f for rule in _of_scope(rules, "behaviour") for f in rule.findings(unit)]


_SUPPRESS = re.compile(r"patchlint:\s*ignore\s+([\w,\s-]+?)\s*(?:\*/|$)", re.M)


def _suppressions_by_line(text: str) -> dict[int, set[str]]:
    by_line: dict[int, set[str]] = {}
    for match in _SUPPRESS.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        ids = {part.strip() for part in re.split(r"[,\s]+", match.group(1)) if part.strip()}
        by_line.setdefault(line, set()).update(ids)
    return by_line


def mark_suppressed(findings: list[Finding], source: SourceFile | None) -> None:
    """Honour ``/* patchlint: ignore rule-id */`` on the finding's line or its function head."""
    text = source.text if source is not None else ""
    if source is None or not text or "patchlint:" not in text:
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
_knowledge.on_change(catalog.cache_clear)
