"""Recall and precision of patchlint on the hand-made corpora of fixtures/recall/.

Usage: python bench/recall.py TREE [--family locks|thread-group] [--jobs J] [--json OUT]

Runs one `patchlint check --tree TREE` over every case mail (the same run as
tests/recall/test_recall.py) and prints, per family and per category:

  bugs      bug patches (one introduced finding expected each)
  caught    of those, how many are reported as expected (status, rule, function)
  recall    caught / bugs
  fixes     fix patches (a resolved finding expected)
  resolved  of those, how many are reported as resolved as expected
  harmless  harmless edits
  flagged   harmless edits with any introduced finding of the family's rules
  extra     family findings (introduced/resolved) no expectation accounts for,
            on any case, harmless ones included
  precision caught expectations / (caught expectations + extra findings)

then lists every miss, every flagged harmless edit and every extra finding.
Thread-group expectations are met by any rule of the family; a case caught by a
different rule than the header names is listed as such.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.recall.corpus import (  # noqa: E402
    FAMILIES,
    Outcome,
    RuleFamily,
    describe,
    family_rules,
    load_cases,
    missed,
    run_patchlint,
    unexpected,
)


def row(label: str, outcomes: list[Outcome], rules: RuleFamily) -> dict[str, object]:
    expecting = [o for o in outcomes if o.case.kind != "harmless"]
    bugs = [o for o in outcomes if o.case.kind == "bug"]
    fixes = [o for o in outcomes if o.case.kind == "fix"]
    harmless = [o for o in outcomes if o.case.kind == "harmless"]
    caught = [o for o in bugs if not missed(o, rules)]
    expectations = sum(len(o.case.expectations) for o in expecting)
    met = expectations - sum(len(missed(o, rules)) for o in expecting)
    extra = sum(len(unexpected(o, rules)) for o in outcomes)
    flagged = [o for o in harmless if o.family_findings(rules, "introduced")]
    return {
        "label": label,
        "bugs": len(bugs),
        "caught": len(caught),
        "recall": len(caught) / len(bugs) if bugs else None,
        "fixes": len(fixes),
        "resolved": sum(1 for o in fixes if not missed(o, rules)),
        "harmless": len(harmless),
        "flagged": len(flagged),
        "extra": extra,
        "precision": met / (met + extra) if met + extra else None,
    }


def percent(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.0%}"


def print_table(family: str, rows: list[dict[str, object]]) -> None:
    print(f"\n## {family}\n")
    print(
        "| category | bugs | caught | recall | fixes | resolved | harmless | flagged "
        "| extra | precision |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['label']} | {r['bugs']} | {r['caught']} | {percent(r['recall'])} "
            f"| {r['fixes']} | {r['resolved']} | {r['harmless']} | {r['flagged']} "
            f"| {r['extra']} | {percent(r['precision'])} |"
        )


def details(outcomes: list[Outcome], rules: RuleFamily) -> None:
    for outcome in outcomes:
        if outcome.problems:
            print(f"  NOT ANALYSED {outcome.case.name}: {outcome.problems}")
        elif outcome.case.kind != "harmless" and missed(outcome, rules):
            print(f"  MISS {describe(outcome, rules)}")
        elif outcome.case.kind == "harmless" and outcome.family_findings(rules, "introduced"):
            print(f"  FLAGGED {describe(outcome, rules)}")
        for finding in unexpected(outcome, rules):
            if outcome.case.kind != "harmless":
                print(f"  EXTRA {outcome.case.name}: {finding}")
        if not rules.exact and outcome.case.kind != "harmless" and not missed(outcome, rules):
            named = {e.rule for e in outcome.case.expectations}
            got = {f.rule for f in outcome.findings if rules.covers(f.rule)}
            if not named & got:
                print(f"  OTHER RULE {outcome.case.name}: expected {named}, caught by {got}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--family", choices=FAMILIES, action="append")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--json", type=Path, help="also write the table rows here")
    args = parser.parse_args()
    families = args.family or list(FAMILIES)
    cases = load_cases(families)
    start = time.monotonic()
    outcomes = list(run_patchlint(args.tree, cases, jobs=args.jobs).values())
    elapsed = time.monotonic() - start
    print(f"{len(cases)} cases checked in {elapsed:.1f} s (one patchlint check run)")
    report: dict[str, list[dict[str, object]]] = {}
    for family in families:
        rules = family_rules(family)
        mine = [o for o in outcomes if o.case.family == family]
        by_category: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in mine:
            by_category[outcome.case.category].append(outcome)
        rows = [row(c, by_category[c], rules) for c in sorted(by_category)]
        by_directory: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in mine:
            by_directory[outcome.case.directory].append(outcome)
        rows += [row(f"{d}/", by_directory[d], rules) for d in sorted(by_directory)]
        rows.append(row("**all**", mine, rules))
        report[family] = rows
        print_table(family, rows)
        details(mine, rules)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
