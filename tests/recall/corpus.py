"""The recall corpora of fixtures/recall/: reading the cases, running patchlint, scoring.

Shared by the kernel-tier harness (tests/recall/test_recall.py), the fast format
checks (tests/recall/test_corpus_format.py) and the bench table (bench/recall.py).

A case is one git format-patch mail; its expectations are headers:

  X-Patchlint-Family:   locks | thread-group
  X-Patchlint-Kind:     bug | harmless | fix
  X-Patchlint-Category: what the case exercises (irqsave, trylock, guard, ...)
  X-Patchlint-Expect:   <introduced|resolved> <rule-id> <function>   (one per finding)

patchlint runs once, as its users run it (`patchlint check --format json --tree T`),
over every mail of the requested families; findings are matched to cases by
Message-ID.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
RECALL = REPO / "fixtures" / "recall"
FAMILIES = ("locks", "thread-group")
KINDS = ("bug", "harmless", "fix")
STATUSES = ("introduced", "resolved")

# The lock family as issue 13 defines it: a harmless edit must not be flagged by any
# of these (the RCU-only rules keep their ids, hence the prefix).
LOCK_RULES = frozenset({"sleep-in-atomic", "lock-unbalanced", "task-iter-unlocked"})
LOCK_RULE_PREFIXES = ("rcu-",)
# Thread-group rules are whatever the catalog files under the family, plus the two ids
# issue 15 names (so a catalog without the family still counts them).
THREAD_GROUP_RULES = frozenset({"thread-flag-as-group", "thread-action-on-group"})


@dataclass(frozen=True)
class RuleFamily:
    """The rules a family's cases are scored against.

    `exact`: an expectation is met only by its own rule id (locks: issue 13 wants
    each bug "reported by the expected rule"); otherwise by any rule of the family
    (thread-group: issue 15 measures the family's recall; the header still names the
    rule we expect, and bench/recall.py shows when another family rule caught it).
    """

    name: str
    ids: frozenset[str]
    prefixes: tuple[str, ...]
    exact: bool

    def covers(self, rule: str) -> bool:
        return rule in self.ids or rule.startswith(self.prefixes)


@dataclass(frozen=True)
class Expectation:
    status: str
    rule: str
    function: str

    @classmethod
    def parse(cls, text: str) -> Expectation:
        parts = text.split()
        if len(parts) != 3 or parts[0] not in STATUSES:
            raise ValueError(f"bad X-Patchlint-Expect {text!r}: want '<status> <rule> <function>'")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.status} {self.rule} {self.function}"


@dataclass(frozen=True)
class Case:
    family: str
    path: Path
    message_id: str
    subject: str
    kind: str
    category: str
    expectations: tuple[Expectation, ...]
    files: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.family}/{self.path.name}"

    @property
    def directory(self) -> str:
        """Top-level tree directory the patch touches (drivers, fs, net, ...)."""
        return self.files[0].split("/", 1)[0]


@dataclass(frozen=True)
class Reported:
    rule: str
    status: str
    function: str | None
    file: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.status} {self.rule} {self.function} ({self.file}:{self.line}): {self.message}"
        )


@dataclass
class Outcome:
    case: Case
    findings: list[Reported] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def family_findings(self, rules: RuleFamily, status: str) -> list[Reported]:
        return [f for f in self.findings if f.status == status and rules.covers(f.rule)]


def family_rules(family: str) -> RuleFamily:
    if family == "locks":
        return RuleFamily(family, LOCK_RULES, LOCK_RULE_PREFIXES, exact=True)
    catalog = tomllib.loads((REPO / "rules" / "catalog.toml").read_text(encoding="utf-8"))
    listed = {r["id"] for r in catalog.get("rule", []) if r.get("family") == "thread-group"}
    return RuleFamily(family, frozenset(listed | THREAD_GROUP_RULES), (), exact=False)


def load_cases(families: Iterable[str] = FAMILIES) -> list[Case]:
    cases = []
    for family in families:
        for path in sorted((RECALL / family).glob("*.patch")):
            cases.append(read_case(family, path))
    return cases


def read_case(family: str, path: Path) -> Case:
    raw = path.read_bytes()
    headers = BytesHeaderParser().parsebytes(raw)
    text = raw.decode("utf-8")
    files = tuple(
        line.split(" b/", 1)[1] for line in text.splitlines() if line.startswith("diff --git a/")
    )
    declared = headers.get("X-Patchlint-Family")
    if declared != family:
        raise ValueError(f"{path}: X-Patchlint-Family {declared!r}, directory says {family}")
    return Case(
        family=family,
        path=path,
        message_id=str(headers["Message-ID"]).strip().strip("<>"),
        subject=str(headers["Subject"]),
        kind=str(headers["X-Patchlint-Kind"]),
        category=str(headers["X-Patchlint-Category"]),
        expectations=tuple(
            Expectation.parse(str(v)) for v in headers.get_all("X-Patchlint-Expect") or []
        ),
        files=files,
    )


def run_patchlint(tree: Path, cases: list[Case], jobs: int | None = None) -> dict[str, Outcome]:
    """One `patchlint check` over every case; Message-ID -> outcome."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "patchlint",
        "check",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--tree",
        str(tree),
        *(["-j", str(jobs)] if jobs else []),
        *sorted({str(c.path.parent) for c in cases}),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"patchlint check exited {done.returncode}:\n{done.stderr[-4000:]}")
    data = json.loads(done.stdout)
    by_id = {c.message_id: Outcome(c) for c in cases}
    for patch in data["patches"]:
        outcome = by_id.get(patch["message_id"].strip("<>"))
        if outcome is None:
            continue
        outcome.findings = [
            Reported(
                rule=f["rule"],
                status=f["status"],
                function=f.get("function"),
                file=f.get("file"),
                line=f.get("line"),
                message=f["message"],
            )
            for f in patch["findings"]
        ]
        if patch.get("skipped"):
            outcome.problems.append(f"skipped: {patch['skipped']}")
        outcome.problems += patch.get("errors") or []
        for entry in patch["files"]:
            if entry.get("apply_state") != "applied":
                outcome.problems.append(
                    f"{entry['path']}: {entry.get('apply_state')} {entry.get('error') or ''}"
                )
    for outcome in by_id.values():
        if not any(p["message_id"].strip("<>") == outcome.case.message_id for p in data["patches"]):
            outcome.problems.append("not reported as a patch by patchlint check")
    return by_id


def matches(expectation: Expectation, finding: Reported, rules: RuleFamily) -> bool:
    if finding.status != expectation.status or finding.function != expectation.function:
        return False
    if rules.exact:
        return finding.rule == expectation.rule
    return rules.covers(finding.rule)


def missed(outcome: Outcome, rules: RuleFamily) -> list[Expectation]:
    return [
        e
        for e in outcome.case.expectations
        if not any(matches(e, f, rules) for f in outcome.findings)
    ]


def unexpected(outcome: Outcome, rules: RuleFamily) -> list[Reported]:
    """Introduced or resolved family findings no expectation accounts for."""
    return [
        f
        for f in outcome.findings
        if f.status in STATUSES
        and rules.covers(f.rule)
        and not any(matches(e, f, rules) for e in outcome.case.expectations)
    ]


def describe(outcome: Outcome, rules: RuleFamily) -> str:
    got = [str(f) for f in outcome.findings if rules.covers(f.rule) and f.status != "unchanged"]
    wanted = ", ".join(str(e) for e in outcome.case.expectations) or "nothing"
    return f"{outcome.case.name}: expected {wanted}; got {got or 'nothing'}"
