"""Lock-context analysis: CFG per function, path-sensitive lock state keyed by
resource, lock and may-sleep summaries, and what the lock rules report.

Everything about kernel locks comes from ``rules/kernel/locks.toml`` and
``rules/kernel/sleeping.toml`` (``knowledge()``). ``file_facts(unit)`` returns the
per-file facts (cached in ``unit.cache``) every lock rule shares; ``LockState`` and
``Held`` are the typed hand-off to the rules. A whole-tree scan defers questions
about other files (``defer_tree_questions``), collects every file's
``sleep_exports`` into a ``SummaryTable`` and answers them with ``resolve_deferred``.
"""

from patchlint.analysis.callers import CallerVerdict, caller_protection
from patchlint.analysis.cfg import Cfg, CfgNode, build_cfg
from patchlint.analysis.external import (
    SleepExport,
    SummaryTable,
    load_table,
    table_path,
)
from patchlint.analysis.facts import (
    Assumption,
    FileFacts,
    FunctionFacts,
    Verdict,
    file_facts,
)
from patchlint.analysis.kb import Knowledge, KnowledgeError, knowledge
from patchlint.analysis.lockstate import LockAnalysis
from patchlint.analysis.reporting import (
    DeferredFinding,
    NotAnalysed,
    deferred_findings,
    not_analysed,
    resolve_deferred,
)
from patchlint.analysis.state import Effect, Held, LockState
from patchlint.analysis.tree import defer_tree_questions, header_macros, sleep_exports

__all__ = [
    "Assumption",
    "CallerVerdict",
    "Cfg",
    "CfgNode",
    "DeferredFinding",
    "Effect",
    "FileFacts",
    "FunctionFacts",
    "Held",
    "Knowledge",
    "KnowledgeError",
    "LockAnalysis",
    "LockState",
    "NotAnalysed",
    "SleepExport",
    "SummaryTable",
    "Verdict",
    "build_cfg",
    "caller_protection",
    "defer_tree_questions",
    "deferred_findings",
    "file_facts",
    "header_macros",
    "knowledge",
    "load_table",
    "not_analysed",
    "resolve_deferred",
    "sleep_exports",
    "table_path",
]
