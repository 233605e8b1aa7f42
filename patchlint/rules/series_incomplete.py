"""series-incomplete: a series with members missing, mixed versions or no cover letter.

What it does: reports each problem the mail stage found while grouping the series
(patchlint.mail.thread): positions not in the input (on one line), duplicates,
versions or lengths that disagree. Why is this bad: patch N is checked on top of
1..N-1; a missing one means the later patches are checked against the wrong tree.
Example: "[PATCH 1/3]" and "[PATCH 3/3]" only: "2/3 not in this input".
"""

from __future__ import annotations

from collections.abc import Iterator

from patchlint.findings import Finding
from patchlint.rules.mail_rules import mail_finding
from patchlint.units import SeriesUnit

SCOPE = "series"
FACTS = ("series",)


def check(unit: SeriesUnit) -> Iterator[Finding]:
    for problem in unit.problems:
        yield mail_finding(
            "series-incomplete",
            f"{problem.series}: {problem.message}",
            f"{problem.series}:{problem.message}",
        )
