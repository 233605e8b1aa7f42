"""Human-readable accounts of what the mail stage decided (`check --verbose`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from patchlint.mail.model import Series


def describe_series(series: Iterable[Series]) -> Iterator[str]:
    """One line per series: its key, version, members and the rule that grouped it."""
    for item in series:
        positions = [
            str(p.series.index) if p.series.index is not None else "-" for p in item.patches
        ]
        cover = "cover letter and " if item.cover is not None else ""
        total = f" of {item.total}" if item.total else ""
        yield (
            f"series {item.key} v{item.version}: {cover}{len(item.patches)} patch"
            f"{'es' if len(item.patches) != 1 else ''}{total} ({', '.join(positions)}); "
            f"grouped by {item.grouped_by or 'single patch'}"
        )
