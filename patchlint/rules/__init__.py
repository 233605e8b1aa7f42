"""Rules: catalog, execution and pre/post diffing of findings."""

from patchlint.rules.diffing import diff_findings
from patchlint.rules.engine import (
    AnalysisUnit,
    RuleMeta,
    all_rules,
    get_rule,
    mark_suppressed,
    run_rules,
    select_rules,
)

__all__ = [
    "AnalysisUnit",
    "RuleMeta",
    "all_rules",
    "diff_findings",
    "get_rule",
    "mark_suppressed",
    "run_rules",
    "select_rules",
]
