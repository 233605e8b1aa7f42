"""Lock-context analysis: CFG per function, path-sensitive lock state, call facts.

``file_facts(unit)`` returns the per-file facts (cached in ``unit.cache``) that
every lock rule shares; ``caller_protection`` answers "do all callers hold it?".
"""

from patchlint.analysis.callers import CallerVerdict, caller_protection
from patchlint.analysis.cfg import Cfg, CfgNode, build_cfg
from patchlint.analysis.facts import Assumption, FileFacts, FunctionFacts, file_facts
from patchlint.analysis.kb import Knowledge, knowledge
from patchlint.analysis.lockstate import LockAnalysis, LockState

__all__ = [
    "Assumption",
    "CallerVerdict",
    "Cfg",
    "CfgNode",
    "FileFacts",
    "FunctionFacts",
    "Knowledge",
    "LockAnalysis",
    "LockState",
    "build_cfg",
    "caller_protection",
    "file_facts",
    "knowledge",
]
