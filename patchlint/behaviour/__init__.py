"""Differential execution of the functions a patch changes (issue 14).

Public entry::

    verdict = compare_versions(Version(pre_source, pre_fn), Version(post_source, post_fn), path)
    verdicts = behaviour_of_patch([FileChange(path, old_path, pre_text, post_text)], tree.read)
    units = behaviour_units(subject, commit_message, verdicts)   # for behaviour rules

A ``FunctionVerdict`` is: ``equivalent`` (complete within the bounds),
``diverges`` with a concrete ``Witness``, or ``unknown`` with the reason.
"""

from __future__ import annotations

from .claims import Claim, find_claim
from .engine import Bounds, Version, compare_versions
from .model import Explored, FunctionVerdict, Observation, Verdict, Witness
from .patch import BehaviourOptions, FileChange, behaviour_of_patch, changed_functions
from .unit import BehaviourUnit, behaviour_units

__all__ = [
    "BehaviourOptions",
    "BehaviourUnit",
    "Bounds",
    "Claim",
    "FileChange",
    "Explored",
    "FunctionVerdict",
    "Observation",
    "Verdict",
    "Version",
    "Witness",
    "behaviour_of_patch",
    "behaviour_units",
    "changed_functions",
    "compare_versions",
    "find_claim",
]
