"""Text rendering of a simulation: a before/after table per task, the why, the search, the trace."""

from __future__ import annotations

from patchlint.simulate.compare import SimulationResult
from patchlint.simulate.frames import TraceStep
from patchlint.simulate.search import SearchResult


def _mark(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _trace_lines(label: str, steps: list[TraceStep]) -> list[str]:
    lines = [f"  trace {label}:"]
    for step in steps:
        indent = "  " * min(step.depth, 12)
        lines.append(f"    {indent}{step.function}:{step.line}  {step.what}")
    return lines


def search_lines(search: SearchResult, indent: str = "  ") -> list[str]:
    """The divergence search: what was explored, then one line per differing world."""
    lines = [f"{indent}divergence search: {search.summary()} ({search.seconds:.1f} s)"]
    for name, labels in search.axes:
        lines.append(f"{indent}  axis {name}: {', '.join(labels)}")
    lines.extend(f"{indent}  unknown: {note}" for note in search.notes)
    if search.differing:
        lines.append(f"{indent}  differing worlds have: {search.profile_text()}")
    for difference in search.differing:
        changed = difference.changed_tasks()
        lines.append(f"{indent}  - {difference.description()}")
        lines.append(f"{indent}      before: {difference.before.text(changed)}")
        lines.append(f"{indent}      after:  {difference.after.text(changed)}")
    return lines


def format_simulation_text(result: SimulationResult, trace: bool = False) -> str:
    before, after = result.before, result.after
    lines = [f"simulation {result.scenario}", f"  {result.verdict}"]
    rows = [("task", "before", "after", "observation after")]
    old = {t.task: t for t in before.per_task}
    for task in after.per_task:
        previous = old.get(task.task)
        rows.append(
            (
                task.task,
                _mark(previous.holds if previous else None),
                _mark(task.holds),
                task.details,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        lines.append(
            "  "
            + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
            + "  "
            + row[3]
        )
    if after.counters:
        previous_series = {c.name: c for c in before.counters}
        for series in after.counters:
            was = previous_series.get(series.name)
            lines.append(
                f"  counter {series.name} after {', '.join(series.steps)}: "
                f"{was.text() if was else '?'} before, {series.text()} after"
            )
    if result.explanation:
        lines.append("  why:")
        lines.extend(f"    {line}" for line in result.explanation)
    lines.append(f"  difference: {result.difference}")
    if result.warnings:
        lines.append("  warnings:")
        lines.extend(f"    {w}" for w in result.warnings)
    if result.search is not None:
        lines.extend(search_lines(result.search))
    if trace:
        lines.extend(_trace_lines("before", result.trace_before or before.trace))
        lines.extend(_trace_lines("after", result.trace_after or after.trace))
    return "\n".join(lines) + "\n"
