"""series-incomplete: a numbered series with members missing, mixed versions, or no cover.

Why is this bad: a reviewer or bot must know whether it saw the whole series; a missing
patch may carry the half of a change the others depend on.

Example: an mbox with ``[PATCH v2 1/3]`` and ``[PATCH v2 2/3]`` only gives
"3/3 not in this input".
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.mail_rules import check_series
from patchlint.units import SeriesUnit

SCOPE = "series"
FACTS = ("series",)


def check(unit: SeriesUnit) -> Iterator[Finding]:
    for problem in unit.problems:
        yield from check_series(problem)
