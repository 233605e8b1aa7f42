"""Why the before and after runs differ: align their call records and name the function.

Calls are aligned by (function, arguments, occurrence).  A call "made the
difference" when its own executed path differs (another branch, another callee):
that is where different code ran.  A call whose result differs while its path is
the same only passed a difference up from below, so the search descends into it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from patchlint.simulate.frames import CallRecord, PathStep

if TYPE_CHECKING:
    from patchlint.simulate.runner import RunOutcome
    from patchlint.simulate.scenario import Scenario


def _key_list(
    records: list[CallRecord],
) -> list[tuple[tuple[str, tuple[str, ...], int], CallRecord]]:
    seen: Counter[tuple[str, tuple[str, ...]]] = Counter()
    out: list[tuple[tuple[str, tuple[str, ...], int], CallRecord]] = []
    for record in records:
        base = (record.function, record.args)
        out.append(((record.function, record.args, seen[base]), record))
        seen[base] += 1
    return out


def align(
    before: list[CallRecord], after: list[CallRecord]
) -> list[tuple[CallRecord | None, CallRecord | None]]:
    left = dict(_key_list(before))
    pairs: list[tuple[CallRecord | None, CallRecord | None]] = []
    matched: set[tuple[str, tuple[str, ...], int]] = set()
    for key, record in _key_list(after):
        pairs.append((left.get(key), record))
        matched.add(key)
    pairs.extend((record, None) for key, record in _key_list(before) if key not in matched)
    return pairs


def _calls(record: CallRecord) -> list[str]:
    return [str(p[-1]) for p in record.path if p[0] == "call"]


def _shape(record: CallRecord) -> list[tuple[str, object]]:
    """The path without line numbers: the same decisions in a shifted file compare equal."""
    return [(p[0], p[-1]) for p in record.path]


def _line(step: PathStep) -> int | None:
    return step[1] if len(step) > 2 and isinstance(step[1], int) else None


def divergences(before: list[CallRecord], after: list[CallRecord]) -> list[str]:
    """Sentences for the outermost calls whose path differs, plus calls only one run made."""
    found: list[str] = []
    for old, new in align(before, after):
        if old is None and new is not None and not new.primitive:
            found.append(f"{new.signature()} is called only after")
            continue
        if new is None and old is not None and not old.primitive:
            found.append(f"{old.signature()} is called only before")
            continue
        if old is None or new is None or old.primitive:
            continue
        if _shape(old) != _shape(new):
            found.append(_path_sentence(old, new))
        elif old.result != new.result or old.children != new.children:
            found.extend(divergences(old.children, new.children))
    return found


def _path_sentence(old: CallRecord, new: CallRecord) -> str:
    gained = [c for c in _calls(new) if c not in _calls(old)]
    lost = [c for c in _calls(old) if c not in _calls(new)]
    parts: list[str] = []
    if gained:
        parts.append(f"calls {', '.join(dict.fromkeys(gained))} after")
    if lost:
        calls = ", ".join(dict.fromkeys(lost))
        parts.append(f"{calls} before" if gained else f"calls {calls} before, not after")
    if not parts:
        changed = [
            b for a, b in zip(old.path, new.path, strict=False) if (a[0], a[-1]) != (b[0], b[-1])
        ]
        line = _line(changed[0]) if changed else None
        where = f" at line {line}" if line is not None else ""
        parts.append(f"takes another branch{where}")
    result = ""
    if old.result != new.result and new.result is not None:
        result = f" and returns {new.result} after ({old.result} before)"
    return f"{new.signature()} {' instead of '.join(parts)}{result}"


def deciding_call(record: CallRecord) -> CallRecord | None:
    """The innermost C call whose result is the one its caller returned (the reason)."""
    calls = [c for c in record.children if not c.primitive]
    if not calls:
        return None
    top = calls[-1] if record.function.startswith("<") else None
    candidate = top
    while candidate is not None:
        inner = [c for c in candidate.children if not c.primitive and c.result == candidate.result]
        if not inner:
            return candidate
        candidate = inner[-1]
    return None


def _changed_calls(before: CallRecord, after: CallRecord) -> list[tuple[str, str, str]]:
    """(function, before result, after result) for the calls that decided a term."""
    out: list[tuple[str, str, str]] = []
    for old, new in align(before.children, after.children):
        if old is None or new is None or old.primitive:
            continue
        if _shape(old) != _shape(new) and old.result != new.result:
            out.append((new.function, old.result or "?", new.result or "?"))
        elif old.result != new.result:
            out.extend(_changed_calls(old, new))
    return out


def _ranges(labels: list[str]) -> str:
    """T1, T2, T3 -> T1..T3 (only for runs of consecutive numbers)."""
    parsed: list[tuple[str, int | None]] = []
    for label in labels:
        match = re.fullmatch(r"(.*?)(\d+)", label)
        parsed.append((match.group(1), int(match.group(2))) if match else (label, None))
    out: list[str] = []
    i = 0
    while i < len(parsed):
        prefix, number = parsed[i]
        j = i
        while number is not None and j + 1 < len(parsed):
            next_prefix, next_number = parsed[j + 1]
            previous = parsed[j][1]
            if next_prefix != prefix or previous is None or next_number != previous + 1:
                break
            j += 1
        out.append(labels[i] if j - i < 2 else f"{labels[i]}..{labels[j]}")
        if 0 < j - i < 2:
            out.append(labels[j])
        i = j + 1
    return ", ".join(out)


def _phase(run: RunOutcome, name: str) -> CallRecord | None:
    if run.record is None:
        return None
    return next((r for r in run.record.children if r.function == name), None)


def explain(
    scenario: Scenario, before: RunOutcome, after: RunOutcome
) -> tuple[str, str, list[str]]:
    """(verdict, difference, explanation lines)."""
    lines: list[str] = []
    action_old, action_new = _phase(before, "<action>"), _phase(after, "<action>")
    action_diffs = (
        divergences(action_old.children, action_new.children) if action_old and action_new else []
    )
    woke_after = [t for t in after.woken if t not in before.woken]
    woke_before = [t for t in before.woken if t not in after.woken]
    for sentence in action_diffs:
        lines.append(f"action: {sentence}")
    thread_diffs = _per_thread(before, after)
    lines.extend(thread_diffs)
    if woke_after:
        lines.append(f"action: wakes {_ranges(woke_after)} only after")
    if woke_before:
        lines.append(f"action: wakes {_ranges(woke_before)} only before")

    # Group per-term changes across tasks: (term, before, after, reason) -> tasks.
    grouped: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    blockers: dict[str, list[str]] = defaultdict(list)
    old_tasks = {t.task: t for t in before.per_task}
    for new_task in after.per_task:
        old_task = old_tasks.get(new_task.task)
        if old_task is None:
            continue
        for (text, new_value), (_, old_value) in zip(new_task.terms, old_task.terms, strict=False):
            old_rec = _phase(before, f"<observe {new_task.task}: {text}>")
            new_rec = _phase(after, f"<observe {new_task.task}: {text}>")
            reason = ""
            if old_value != new_value and old_rec and new_rec:
                changes = _changed_calls(old_rec, new_rec)
                if changes:
                    function, was, now = changes[0]
                    reason = f"{function} returned {now} after ({was} before)"
                elif action_diffs or thread_diffs or woke_after or woke_before:
                    reason = "changed by the action"
            elif new_value == "false" and new_rec is not None:
                decider = deciding_call(new_rec)
                if decider is not None:
                    reason = f"{decider.function} returned {decider.result} in both runs"
                    if old_task.holds == new_task.holds and any(
                        a != b for a, b in zip(old_task.terms, new_task.terms, strict=False)
                    ):
                        blockers[
                            f"{decider.function} still returned {decider.result} for {{}}"
                            f" ({text} stays false)"
                        ].append(new_task.task)
                else:
                    reason = "not changed by the action"
                    if old_task.holds == new_task.holds and any(
                        a != b for a, b in zip(old_task.terms, new_task.terms, strict=False)
                    ):
                        blockers[f"{text} stays false for {{}}"].append(new_task.task)
            grouped[(text, old_value, new_value, reason)].append(new_task.task)
    changed_terms = [k for k in grouped if k[1] != k[2]]
    for (text, old_value, new_value, reason), tasks in grouped.items():
        if old_value == new_value and not (changed_terms and new_value == "false"):
            continue
        arrow = (
            f"{old_value} -> {new_value}" if old_value != new_value else f"{new_value} in both runs"
        )
        because = f" ({reason})" if reason else ""
        lines.append(f"{_ranges(tasks)}: {text}: {arrow}{because}")

    # The function that made the difference, grouped over tasks.
    decider_tasks: dict[str, list[str]] = defaultdict(list)
    for new_task in after.per_task:
        for (text, new_value), (_, old_value) in zip(
            new_task.terms, old_tasks.get(new_task.task, new_task).terms, strict=False
        ):
            if old_value == new_value:
                continue
            old_rec = _phase(before, f"<observe {new_task.task}: {text}>")
            new_rec = _phase(after, f"<observe {new_task.task}: {text}>")
            if old_rec and new_rec:
                for function, was, now in _changed_calls(old_rec, new_rec)[:1]:
                    decider_tasks[
                        f"{function} returned {now} for {{}} after ({was} before)"
                    ].append(new_task.task)
    summary = [
        pattern.format(_ranges(list(dict.fromkeys(tasks))))
        for pattern, tasks in decider_tasks.items()
    ]
    summary += [pattern.format(_ranges(tasks)) for pattern, tasks in blockers.items()]
    if thread_diffs:
        summary.insert(0, thread_diffs[0])
    if action_diffs:
        summary.insert(0, action_diffs[0])
    difference = "; ".join(summary) if summary else "no function's path or result differs"

    verdict = _verdict(scenario, before, after)
    return verdict, difference, lines


def _per_thread(before: RunOutcome, after: RunOutcome) -> list[str]:
    """Differences in the per-thread phases, one line per sentence with its threads."""
    if before.record is None or after.record is None:
        return []
    old_phases = {r.function: r for r in before.record.children if r.function.startswith("<each ")}
    grouped: dict[str, list[str]] = defaultdict(list)
    for new in after.record.children:
        old = old_phases.get(new.function)
        if old is None or not new.function.startswith("<each "):
            continue
        step = new.function[len("<each ") : -1]
        for sentence in divergences(old.children, new.children):
            grouped[sentence].append(step)
    return [f"{_ranges(steps)}: {sentence}" for sentence, steps in grouped.items()]


def _invariant_notes(before: RunOutcome, after: RunOutcome) -> list[str]:
    notes = []
    failed_before = {v.invariant for v in before.violated}
    failed_after = {v.invariant for v in after.violated}
    for failure in after.violated:
        if failure.invariant in failed_before:
            continue
        notes.append(f"the patch breaks an invariant: {failure.text()}")
        failed_before.add(failure.invariant)
    for failure in before.violated:
        if failure.invariant not in failed_after:
            notes.append(f"the patch fixes an invariant: before, {failure.text()}")
            failed_after.add(failure.invariant)
    still = {v.invariant for v in before.violated} & {v.invariant for v in after.violated}
    notes.extend(f"the invariant {invariant} fails before and after" for invariant in sorted(still))
    return notes


def _verdict(scenario: Scenario, before: RunOutcome, after: RunOutcome) -> str:
    question = scenario.question or "tasks for which the observation holds"
    counts = (
        f"{question}: {before.holds} of {before.total} before, {after.holds} of {after.total} after"
    )
    notes = []
    for label, run in (("before", before), ("after", after)):
        if run.stopped:
            notes.append(f"the {label} run stopped ({run.stopped}), so its result is unknown")
        elif run.unknown:
            notes.append(f"{run.unknown} task(s) unknown {label}")
    if notes:
        return f"{counts}; " + "; ".join(notes) + "."
    invariants = _invariant_notes(before, after)
    counters_differ = [c.values for c in before.counters] != [c.values for c in after.counters]
    if after.holds > before.holds:
        change = "the patch makes the observation hold for more tasks"
    elif after.holds < before.holds:
        change = "the patch makes the observation hold for fewer tasks"
    elif [t.holds for t in before.per_task] != [t.holds for t in after.per_task]:
        change = "the same count, but for different tasks"
    elif counters_differ:
        change = "the same observation, but the counters differ"
    else:
        change = "no change in outcome"
    return f"{counts}: {change}" + "".join(f"; {note}" for note in invariants) + "."
