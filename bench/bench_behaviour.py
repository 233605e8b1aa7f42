"""Differential execution on real list traffic: time added per patch, verdicts, NFC claims.

Usage: python bench/bench_behaviour.py TREE MBOX [MBOX...] [--limit N] [--json OUT.json]

Every patch of the mailboxes is applied (in series order) to TREE in memory; the
functions it changes are compared before/after (patchlint.behaviour) with the
default bounds (2 s per function).  Printed: the CPU time the comparison adds per patch
(median, mean, 90th percentile, max; over all patches and over the patches that
change C functions; CPU time, as the budgets are, so a loaded machine does not
inflate it; the wall-clock median is printed too), the verdict counts, the per-function
time against the budget,
and every patch whose message claims no functional change with its verdicts.  The
"anchor" is the time `patchlint check` already spends on the same patch without
behaviour (parse, apply and rules), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from patchlint.behaviour import FunctionVerdict  # noqa: E402
from patchlint.behaviour.claims import find_claim  # noqa: E402
from patchlint.behaviour.patch import FileChange, behaviour_of_patch  # noqa: E402
from patchlint.mail import collect, iter_messages  # noqa: E402
from patchlint.patch import parse_patch  # noqa: E402
from patchlint.pipeline.series_state import Overlay, advance  # noqa: E402
from patchlint.source import apply_series, open_tree  # noqa: E402


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree")
    parser.add_argument("mboxes", nargs="+")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many patches")
    parser.add_argument("--json", help="write per-patch results here")
    parser.add_argument("--match", help="only patches whose subject contains this text")
    parser.add_argument(
        "--claims-only",
        action="store_true",
        help="only the patches whose message claims no functional change",
    )
    parser.add_argument(
        "--anchor",
        action="store_true",
        help="also time `patchlint check` without behaviour on the same series (the anchor)",
    )
    args = parser.parse_args()
    tree = open_tree(args.tree)
    rows = []
    walls: list[float] = []
    anchor: list[float] = []
    checker = None
    if args.anchor:
        from patchlint.pipeline import CheckOptions, SeriesChecker

        checker = SeriesChecker(CheckOptions(tree=Path(args.tree), behaviour=False))
    for mbox in args.mboxes:
        collection = collect(iter_messages(mbox))
        for series in collection.series:
            members = [m for m in series.patches if m.kind == "patch"]
            members.sort(key=lambda m: (m.series.index or 0, m.index))
            if not members:
                continue
            if checker is not None:
                before = time.process_time()
                checker.check_series(members)
                anchor.extend([(time.process_time() - before) / len(members)] * len(members))
            parsed = [parse_patch(m.diff_text or "", m.source) for m in members]
            t0 = time.monotonic()
            applied_all = apply_series(parsed, tree)
            apply_seconds = (time.monotonic() - t0) / len(members)
            state: Overlay = {}
            for message, applied in zip(members, applied_all, strict=True):
                earlier, state = state, advance(state, applied)
                if args.match and args.match not in message.subject:
                    continue
                if (
                    args.claims_only
                    and find_claim(f"{message.subject}\n\n{message.commit_message}") is None
                ):
                    continue
                files = [
                    FileChange(f.path, f.old_path or f.path, f.pre, f.post)
                    for f in applied.files
                    if f.ok
                ]
                start = time.process_time()
                wall = time.monotonic()
                verdicts = behaviour_of_patch(files, tree.read, series=dict(earlier))
                seconds = time.process_time() - start
                walls.append(time.monotonic() - wall)
                claim = find_claim(f"{message.subject}\n\n{message.commit_message}")
                rows.append((message, seconds, apply_seconds, verdicts, claim))
                if args.limit and len(rows) >= args.limit:
                    break
            if args.limit and len(rows) >= args.limit:
                break
    report(rows, args.json)
    if anchor:
        print(
            f"anchor, `check` without behaviour, CPU per patch (s): median "
            f"{statistics.median(anchor):.3f}  mean {statistics.mean(anchor):.3f}"
        )
    if walls:
        print(
            f"wall clock per patch (s): median {statistics.median(walls):.3f}  "
            f"mean {statistics.mean(walls):.3f}"
        )
    return 0


def report(
    rows: list[tuple[object, float, float, list[FunctionVerdict], object]], json_path: str | None
) -> None:
    all_times = [seconds for _, seconds, _, _, _ in rows]
    with_functions = [seconds for _, seconds, _, verdicts, _ in rows if verdicts]
    verdicts = [v for *_, vs, _ in rows for v in vs]
    counts = Counter(v.verdict for v in verdicts)
    over = [v for v in verdicts if v.seconds > 2.5]
    print(
        f"patches: {len(rows)}  with changed C functions: {len(with_functions)}  "
        f"functions: {len(verdicts)}"
    )
    print(
        f"time added per patch (s): median {statistics.median(all_times or [0]):.3f}  "
        f"mean {statistics.mean(all_times or [0]):.3f}  p90 {_percentile(all_times, 0.9):.3f}  "
        f"max {max(all_times or [0]):.2f}"
    )
    if with_functions:
        print(
            f"  patches changing functions: median {statistics.median(with_functions):.3f}  "
            f"mean {statistics.mean(with_functions):.3f}  "
            f"p90 {_percentile(with_functions, 0.9):.3f}"
        )
    print(f"verdicts: {dict(counts)}")
    fn_times = [v.seconds for v in verdicts if v.explored.paths]
    if fn_times:
        print(
            f"per function (s): median {statistics.median(fn_times):.3f}  "
            f"max {max(fn_times):.2f}  over 2.5 s: {len(over)}"
        )
    reasons = Counter(
        v.reason.split(":")[0] + ":" + v.reason.split(":")[1][:40] if ":" in v.reason else v.reason
        for v in verdicts
        if v.verdict == "unknown"
    )
    print("top unknown reasons:")
    for reason, count in reasons.most_common(12):
        print(f"  {count:4d}  {reason}")
    print("NFC claims:")
    for message, seconds, _, found, claim in rows:
        if claim is None:
            continue
        summary = ", ".join(f"{v.function}={v.verdict}" for v in found) or "no changed C function"
        print(f"  {getattr(message, 'subject', '')[:90]}")
        print(f"      claim: {getattr(claim, 'text', '')[:90]!r}  -> {summary}  ({seconds:.2f}s)")
        for v in found:
            if v.verdict == "diverges" and v.witness is not None:
                print(f"      {v.function}: {v.witness.first_difference[:140]}")
    if json_path:
        data = [
            {
                "subject": getattr(message, "subject", ""),
                "seconds": round(seconds, 3),
                "claim": getattr(claim, "text", None),
                "behaviour": [v.to_dict() for v in found],
            }
            for message, seconds, _, found, claim in rows
        ]
        Path(json_path).write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
