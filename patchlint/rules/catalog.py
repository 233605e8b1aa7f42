"""The rule catalog (``rules/catalog.toml``): what rules exist and their metadata.

Each ``[[rule]]`` entry names the module implementing it; the catalog, not the module,
holds the rule's severity, confidence, family and documentation page. ``[facts.<scope>]``
lists the analysis facts a rule of that scope may declare in its ``FACTS``.

Reading the catalog imports no rule module (listing rules or checking only mail must
not load tree-sitter); ``patchlint.rules.engine`` imports a module when a rule runs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from patchlint import knowledge
from patchlint.findings import CONFIDENCES, SEVERITIES, Confidence, Severity
from patchlint.units import SCOPES, Scope

CATALOG = "catalog.toml"


class RuleError(Exception):
    """A catalog entry or a rule module that cannot be used; names the file and the key."""


@dataclass(frozen=True)
class RuleMeta:
    """One ``[[rule]]`` entry of the catalog."""

    id: str
    name: str
    severity: Severity
    confidence: Confidence
    family: str
    summary: str
    doc: str  # documentation page, relative to the catalog's directory
    module: str  # dotted name of the module implementing the rule
    scope: Scope = "function"
    root: Path = field(default_factory=knowledge.data_dir, compare=False)

    @property
    def doc_path(self) -> Path:
        return self.root / self.doc

    def doc_text(self) -> str:
        return self.doc_path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Catalog:
    path: Path
    rules: tuple[RuleMeta, ...]
    # scope -> fact name -> what it is
    facts: Mapping[str, Mapping[str, str]]

    def get(self, rule_id: str) -> RuleMeta | None:
        return next((meta for meta in self.rules if meta.id == rule_id), None)

    def ids(self) -> set[str]:
        return {meta.id for meta in self.rules}

    def unknown(self, rule_ids: Iterable[str]) -> list[str]:
        known = self.ids()
        return [rule_id for rule_id in rule_ids if rule_id not in known]


def parse_catalog(data: Mapping[str, object], path: Path) -> Catalog:
    """Build a Catalog from parsed TOML (validated against its schema first)."""
    from patchlint.validate import validate_data

    validate_data(data, "catalog", path)
    root = path.parent
    metas: list[RuleMeta] = []
    seen: set[str] = set()
    entries = data.get("rule", [])
    assert isinstance(entries, list)
    for entry in entries:
        assert isinstance(entry, dict)
        rule_id = str(entry["id"])
        if rule_id in seen:
            raise RuleError(f"{path}: rule {rule_id!r} is defined twice")
        seen.add(rule_id)
        severity = entry["severity"]
        confidence = entry.get("confidence", "high")
        scope = entry.get("scope", "function")
        assert severity in SEVERITIES and confidence in CONFIDENCES and scope in SCOPES
        metas.append(
            RuleMeta(
                id=rule_id,
                name=str(entry.get("name", rule_id)),
                severity=severity,
                confidence=confidence,
                family=str(entry.get("family", "")),
                summary=str(entry["summary"]),
                doc=str(entry.get("doc", f"docs/{rule_id}.md")),
                module=str(entry["module"]),
                scope=scope,
                root=root,
            )
        )
    raw_facts = data.get("facts", {})
    assert isinstance(raw_facts, dict)
    facts = {str(scope): dict(table) for scope, table in raw_facts.items()}
    return Catalog(path=path, rules=tuple(metas), facts=facts)


def load_catalog(path: Path | None = None) -> Catalog:
    """The shipped catalog (``path`` None), or another one, e.g. a test's own."""
    if path is None:
        return parse_catalog(knowledge.load_toml(CATALOG), knowledge.data_path(CATALOG))
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RuleError(f"{path}: {error}") from error
    return parse_catalog(data, path)
