"""Whole-tree scan: prefilter files by token, parse only candidates, in parallel.

Most of a kernel tree cannot trigger any lock rule (no RCU call, no task-list
iterator), so the expensive part — normalising and parsing — runs only on files
that mention a rule's tokens, and each file runs only the rules whose tokens it
mentions. Token lists are kernel knowledge and live in the rules' TOML files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchlint.findings import Finding
from patchlint.knowledge import data_dir, load_toml

SOURCE_SUFFIXES = (".c", ".h")
Progress = Callable[[int, int], None]


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    files_candidate: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- tokens

def _rule_tables() -> dict[str, tuple[str, ...]]:
    """`[rules.<id>] prefilter_tokens` from every knowledge file under kernel/."""
    tokens: dict[str, tuple[str, ...]] = {}
    kernel = data_dir() / "kernel"
    for path in sorted(kernel.glob("*.toml")) if kernel.is_dir() else []:
        try:
            data = load_toml(f"kernel/{path.name}")
        except (OSError, ValueError):
            continue
        for rule_id, table in data.get("rules", {}).items():
            if isinstance(table, dict) and "prefilter_tokens" in table:
                tokens[rule_id] = tokens.get(rule_id, ()) + tuple(table["prefilter_tokens"])
    return tokens


def _task_state_tokens() -> dict[str, tuple[str, ...]]:
    """Tokens of the thread-group rules, read from their own knowledge file."""
    if not (data_dir() / "kernel" / "task-state.toml").is_file():
        return {}
    data = load_toml("kernel/task-state.toml")
    flags = tuple(item["name"] for item in data.get("per_thread", [])
                  if str(item.get("name", "")).startswith(("TIF_", "PF_")))
    actions = tuple(item["name"] for item in data.get("single_action", []) if "name" in item)
    return {"thread-flag-as-group": flags, "thread-action-on-group": flags + actions}


def candidate_tokens(rule_ids: Iterable[str] | None = None) -> dict[str, tuple[str, ...] | None]:
    """Per rule, the literal tokens a file must contain for the rule to fire there.

    None means the rule declares no tokens, so every file is a candidate for it.
    """
    from patchlint.rules import select_rules

    known = {**_task_state_tokens(), **_rule_tables()}
    wanted = list(rule_ids) if rule_ids else [meta.id for meta in select_rules()]
    return {rule_id: (known.get(rule_id) or None) for rule_id in wanted}


# ---------------------------------------------------------------- prefilter

def _grep_candidates(root: Path, tokens: list[str]) -> list[str] | None:
    grep = shutil.which("grep")
    if grep is None:
        return None
    command = [grep, "-rlF", "--include=*.c", "--include=*.h"]
    for token in tokens:
        command += ["-e", token]
    try:
        proc = subprocess.run(command + ["."], cwd=root, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode not in (0, 1):
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    return sorted(line[2:] if line.startswith("./") else line for line in lines)


def _walk_candidates(root: Path, tokens: list[str] | None) -> list[str]:
    needles = [token.encode() for token in tokens] if tokens else None
    found: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = Path(directory) / name
            if needles is not None:
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if not any(needle in data for needle in needles):
                    continue
            found.append(str(path.relative_to(root)))
    return sorted(found)


def candidate_files(root: Path, tokens: dict[str, tuple[str, ...] | None]) -> list[str]:
    if any(value is None for value in tokens.values()):
        return _walk_candidates(root, None)
    union = sorted({token for value in tokens.values() for token in value or ()})
    found = _grep_candidates(root, union)
    return found if found is not None else _walk_candidates(root, union)


# ---------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}


def _worker_init(root: str, rule_ids: list[str], tokens: dict[str, Any]) -> None:
    from patchlint.source.normalise import Dialect

    _WORKER.update(root=Path(root), rule_ids=rule_ids, tokens=tokens,
                   dialect=Dialect.load(Path(root)), index=None)


class _LazyIndex:
    """A FunctionIndex built on first use: most files never need tree-wide callers."""

    def __getattr__(self, name: str) -> Any:
        index = _WORKER.get("index")
        if index is None:
            from patchlint.source import FunctionIndex

            index = _WORKER["index"] = FunctionIndex(_WORKER["root"], dialect=_WORKER["dialect"])
        return getattr(index, name)


def _scan_one(relative: str) -> tuple[str, list[Finding], str | None]:
    from patchlint.rules import AnalysisUnit, run_rules, select_rules
    from patchlint.source.parse import parse_c

    root: Path = _WORKER["root"]
    try:
        text = (root / relative).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return relative, [], f"unreadable: {error}"
    tokens: dict[str, Any] = _WORKER["tokens"]
    wanted = [rule_id for rule_id in _WORKER["rule_ids"]
              if tokens.get(rule_id) is None or any(t in text for t in tokens[rule_id])]
    if not wanted:
        return relative, [], None
    try:
        source = parse_c(text, relative, _WORKER["dialect"])
        unit = AnalysisUnit(source=source, path=relative, index=_LazyIndex())
        findings = run_rules(unit, select_rules(enabled=wanted))
    except RecursionError:
        return relative, [], "recursion limit while analysing"
    except Exception as error:  # one bad file must not end a whole-tree scan
        return relative, [], f"{type(error).__name__}: {error}"
    for finding in findings:
        # Tree nodes do not cross process boundaries; findings are plain data.
        finding.file = relative
    return relative, findings, None


def scan_tree(root: Path, rule_ids: list[str] | None = None, jobs: int | None = None,
              progress: Progress | None = None) -> ScanResult:
    """Run C rules over every candidate file under ``root``."""
    from patchlint.rules import select_rules

    started = time.perf_counter()
    root = Path(root).resolve()
    metas = select_rules(enabled=rule_ids)
    ids = [meta.id for meta in metas]
    tokens = candidate_tokens(ids)
    files = candidate_files(root, tokens)
    result = ScanResult(files_candidate=len(files))
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1 or len(files) < 8:
        _worker_init(str(root), ids, tokens)
        outcomes: Iterable[tuple[str, list[Finding], str | None]] = map(_scan_one, files)
        result = _collect(result, outcomes, len(files), progress)
    else:
        chunksize = max(1, min(16, len(files) // (jobs * 8) or 1))
        with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                                 initargs=(str(root), ids, tokens)) as pool:
            outcomes = pool.map(_scan_one, _heavy_first(root, files), chunksize=chunksize)
            result = _collect(result, outcomes, len(files), progress)
    result.findings.sort(key=lambda f: (f.file or "", f.line or 0, f.rule))
    result.seconds = time.perf_counter() - started
    return result


def _heavy_first(root: Path, files: list[str]) -> list[str]:
    """Big files first, so one large file does not finish the run alone."""
    def size(relative: str) -> int:
        try:
            return (root / relative).stat().st_size
        except OSError:
            return 0
    return sorted(files, key=size, reverse=True)


def _collect(result: ScanResult, outcomes: Iterable[tuple[str, list[Finding], str | None]],
             total: int, progress: Progress | None) -> ScanResult:
    for count, (relative, findings, error) in enumerate(outcomes, 1):
        result.files_scanned += 1
        result.findings.extend(findings)
        if error:
            result.errors.append((relative, error))
        if progress is not None:
            progress(count, total)
    return result


