#!/usr/bin/env python3
"""Draw the reproducible random sample of findings a triage page judges.

Usage: python bench/triage_sample.py SCAN.json [--rules r1,r2] [--count 100] [--seed N]

SCAN.json is the output of `patchlint scan TREE --format json`. The sample is
`random.Random(seed).sample()` over the findings of the given rules, sorted by file
and line the way the scan prints them, so the same scan and seed give the same
sample. Prints a Markdown table to fill in (verdict, reason) and per-rule counts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

DEFAULT_RULES = "sleep-in-atomic,lock-unbalanced"


def load_findings(path: Path, rules: set[str]) -> list[dict[str, object]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    findings = data["findings"] if isinstance(data, dict) else data
    chosen = [f for f in findings if f.get("rule") in rules]
    chosen.sort(
        key=lambda f: (str(f.get("file")), int(str(f.get("line") or 0)), str(f.get("rule")))
    )
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scan", type=Path)
    parser.add_argument("--rules", default=DEFAULT_RULES)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    rules = {r.strip() for r in args.rules.split(",") if r.strip()}
    findings = load_findings(args.scan, rules)
    counts = Counter(str(f["rule"]) for f in findings)
    print(f"{len(findings)} findings of {', '.join(sorted(rules))}: {dict(sorted(counts.items()))}")
    sample = random.Random(args.seed).sample(findings, min(args.count, len(findings)))
    sample.sort(key=lambda f: (str(f.get("file")), int(str(f.get("line") or 0))))
    print(f"seed {args.seed}, {len(sample)} drawn\n")
    print("| # | Location | Function | Rule | Message | Verdict | Reason |")
    print("|---|---|---|---|---|---|---|")
    for number, finding in enumerate(sample, 1):
        message = str(finding.get("message", "")).replace("|", "\\|")
        print(
            f"| {number} | {finding['file']}:{finding['line']} | `{finding.get('function')}` "
            f"| {finding['rule']} | {message} | | |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
