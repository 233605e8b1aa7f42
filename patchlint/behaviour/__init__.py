"""Differential execution of the functions a patch changes (issue 14).

Public entry::

    verdict = compare_versions(Version(pre_source, pre_fn), Version(post_source, post_fn), path)

``verdict`` is a ``FunctionVerdict``: ``equivalent`` (complete within the bounds),
``diverges`` with a concrete ``Witness``, or ``unknown`` with the reason.
"""

from __future__ import annotations

from .engine import Bounds, Version, compare_versions
from .model import Explored, FunctionVerdict, Observation, Verdict, Witness

__all__ = [
    "Bounds",
    "Explored",
    "FunctionVerdict",
    "Observation",
    "Verdict",
    "Version",
    "Witness",
    "compare_versions",
]
