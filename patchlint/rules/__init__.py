"""Rules stage: the catalog, the engine that runs rule modules, and pre/post diffing.

A rule is one module (``SCOPE``, ``FACTS``, ``check(unit)``) named by its entry in
``rules/catalog.toml``; see ``patchlint.rules.engine`` for the contract.
"""

from patchlint.rules.catalog import Catalog, RuleError, RuleMeta, load_catalog
from patchlint.rules.diffing import diff_findings
from patchlint.rules.engine import (
    LoadedRule,
    Rule,
    all_rules,
    catalog,
    get_rule,
    load_rule,
    mark_suppressed,
    run_behaviour_rules,
    run_mail_rules,
    run_rules,
    run_series_rules,
    select_rules,
)
from patchlint.units import AnalysisUnit, BehaviourUnit, FunctionLookup, SeriesUnit

__all__ = [
    "AnalysisUnit",
    "BehaviourUnit",
    "Catalog",
    "FunctionLookup",
    "LoadedRule",
    "Rule",
    "RuleError",
    "RuleMeta",
    "SeriesUnit",
    "all_rules",
    "catalog",
    "diff_findings",
    "get_rule",
    "load_catalog",
    "load_rule",
    "mark_suppressed",
    "run_behaviour_rules",
    "run_mail_rules",
    "run_rules",
    "run_series_rules",
    "select_rules",
]
