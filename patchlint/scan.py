"""Whole-tree scan: prefilter files by token, parse only candidates, in parallel.

Most of a kernel tree cannot trigger any lock rule (no RCU call, no task-list
iterator), so the expensive part — normalising and parsing — runs only on files
that mention a rule's tokens, and each file runs only the rules whose tokens it
mentions. Token lists are kernel knowledge and live in the rules' TOML files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from patchlint.cachedir import cache_path, summary_table_path
from patchlint.findings import Severity
from patchlint.knowledge import data_dir, load_toml
from patchlint.result import ScanResult
from patchlint.scan_cache import (
    FinalResult,
    ScanCache,
    Stat,
    file_stamp,
    grep_files,
    tree_stats,
)

if TYPE_CHECKING:
    from patchlint.analysis import SummaryTable
    from patchlint.scan_workers import Outcome

SOURCE_SUFFIXES = (".c", ".h")
# Called with (files done, candidate files).
Progress = Callable[[int, int], None]
# Per rule, the tokens a file must contain for the rule to fire there (None: any file).
Tokens = dict[str, "tuple[str, ...] | None"]


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


def _task_state_tokens(root: Path | None) -> dict[str, tuple[str, ...]]:
    """Tokens of the thread-group rules: inferred from the tree (the per-thread facts
    with a group counterpart, the single-thread actions)."""
    if root is None:
        return {}
    from patchlint.rules.taskscope.scan_support import rule_tokens

    return rule_tokens(root)


def _module_tokens() -> dict[str, tuple[str, ...]]:
    """Tokens a rule module computes from its knowledge (its `prefilter_tokens()`)."""
    import importlib

    from patchlint.rules import select_rules

    tokens: dict[str, tuple[str, ...]] = {}
    for rule in select_rules():
        module = importlib.import_module(rule.meta.module)
        compute = getattr(module, "prefilter_tokens", None)
        if callable(compute):
            tokens[rule.id] = tuple(compute())
    return tokens


def candidate_tokens(rule_ids: Iterable[str] | None = None, root: Path | None = None) -> Tokens:
    """Per rule, the literal tokens a file must contain for the rule to fire there.

    None means the rule declares no tokens, so every file is a candidate for it.
    """
    from patchlint.rules import select_rules

    known = {**_task_state_tokens(root), **_rule_tables(), **_module_tokens()}
    wanted = list(rule_ids) if rule_ids else [meta.id for meta in select_rules()]
    return {rule_id: (known.get(rule_id) or None) for rule_id in wanted}


# ---------------------------------------------------------------- prefilter


def _tree_parts(root: Path, jobs: int) -> list[list[str]]:
    """Split the tree into `jobs` groups of paths for parallel greps. drivers/ holds
    two thirds of a kernel tree, so its subdirectories (and drm's) are spread out."""
    big = {"drivers", "drivers/gpu", "drivers/gpu/drm"}
    entries: list[str] = []
    pending = ["."]
    while pending:
        current = pending.pop()
        try:
            children = sorted(os.scandir(root / current), key=lambda e: e.name)
        except OSError:
            continue
        for child in children:
            relative = child.name if current == "." else f"{current}/{child.name}"
            if child.name.startswith("."):
                continue
            if child.is_dir(follow_symlinks=False):
                (pending if relative in big else entries).append(relative)
            elif child.name.endswith(SOURCE_SUFFIXES):
                entries.append(relative)
    groups: list[list[str]] = [[] for _ in range(max(1, jobs))]
    for position, entry in enumerate(entries):
        groups[position % len(groups)].append(entry)
    return [group for group in groups if group]


def _parallel_grep(root: Path, options: list[str], needles: list[str], jobs: int) -> str | None:
    """`grep -r OPTIONS -e NEEDLE...` over the tree, split across `jobs` processes."""
    grep = shutil.which("grep")
    if grep is None:
        return None
    command = [grep, "-r", *options, "--include=*.c", "--include=*.h"]
    for needle in needles:
        command += ["-e", needle]
    environment = {**os.environ, "LC_ALL": "C"}
    try:
        processes = [
            subprocess.Popen(
                [*command, "--", *group],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=environment,
            )
            for group in _tree_parts(root, jobs)
        ]
        outputs = [process.communicate(timeout=600)[0] for process in processes]
    except (OSError, subprocess.SubprocessError):
        return None
    if any(process.returncode not in (0, 1) for process in processes):
        return None
    return b"".join(outputs).decode("utf-8", "surrogateescape")


def _grep_candidates(root: Path, tokens: list[str], jobs: int = 1) -> list[str] | None:
    output = _parallel_grep(root, ["-lF"], tokens, jobs)
    if output is None:
        return None
    return sorted(line[2:] if line.startswith("./") else line for line in output.splitlines())


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


def candidate_files(root: Path, tokens: Tokens, jobs: int = 1) -> list[str]:
    if any(value is None for value in tokens.values()):
        return _walk_candidates(root, None)
    union = sorted({token for value in tokens.values() for token in value or ()})
    found = _grep_candidates(root, union, jobs)
    return found if found is not None else _walk_candidates(root, union)


def rule_files(root: Path, tokens: Tokens, jobs: int = 1) -> dict[str, frozenset[str]] | None:
    """Per rule with tokens, the files mentioning one of them: a `grep -lF` per rule
    (Aho-Corasick over the tree) instead of each worker testing every token of every
    rule against every file's text (~100 s of CPU over a whole tree). None when grep
    is not there or fails: the workers test the tokens themselves."""
    found: dict[str, frozenset[str]] = {}
    for rule_id, needles in tokens.items():
        if needles is None:
            continue
        files = _grep_candidates(root, list(needles), jobs) if needles else []
        if files is None:
            return None
        found[rule_id] = frozenset(files)
    return found


def _mentions_parallel(root: Path, words: list[str], jobs: int) -> dict[str, list[str]] | None:
    """For each word, the files mentioning it as a word: one parallel pass."""
    output = _parallel_grep(root, ["-owF"], words, jobs)
    if output is None:
        return None
    mentions: dict[str, set[str]] = {word: set() for word in words}
    for line in output.splitlines():
        path, _, word = line.rpartition(":")
        if word in mentions:
            mentions[word].add(path[2:] if path.startswith("./") else path)
    return {word: sorted(paths) for word, paths in mentions.items()}


def scan_tree(
    root: Path,
    rule_ids: list[str] | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    use_cache: bool = False,
    severity: Mapping[str, Severity] | None = None,
) -> ScanResult:
    """Run C rules over every candidate file under ``root``.

    ``use_cache`` keeps each file's findings keyed by its path, its stat (content),
    the Makefile beside it, the tree's dialect, the knowledge inferred from the tree
    and the version of the analysis code and knowledge, so an unchanged tree is not
    analysed twice (scan_cache). A file that asked the tree-wide index about callers
    is analysed again whenever any source file of the tree changed, so a change
    elsewhere in the tree can never leave a stale result behind.
    """
    from patchlint.rules import select_rules

    started = time.perf_counter()
    root = Path(root).resolve()
    ids = [meta.id for meta in select_rules(enabled=rule_ids)]
    overrides = dict(severity or {})
    jobs = max(1, jobs or os.cpu_count() or 1)
    cache_dir = cache_path("scan", _version(ids, overrides, root)) if use_cache else None
    cache = ScanCache.open(cache_dir) if cache_dir is not None else None
    stats_ns = time.time_ns()
    stats = tree_stats(root) if cache is not None else {}
    if (
        cache is not None
        and cache.final is not None
        and cache.unchanged(stats)
        and cache.table == file_stamp(_table_file(root))
    ):
        # Nothing the last scan read has changed (sources, Makefiles, the summary
        # table it resolved against): its result is this scan's result.
        return _stored_result(root, cache.final, started)
    from patchlint.scan_workers import run_files

    tokens = candidate_tokens(ids, root)
    knowledge = _knowledge_identity(ids, root)
    if cache is not None and cache.valid and cache.knowledge != knowledge:
        cache = ScanCache(cache.directory)  # the tree's inferred knowledge changed
    if cache is not None and cache.valid:
        cache.load_results()  # when they are lost, the cache is no longer valid
    changed, removed = cache.changes(stats) if cache is not None else (set(), set())
    table = _previous_table(root, cache) if cache is not None and cache.valid else None
    warm = cache is not None and cache.valid and table is not None
    tree_unchanged = warm and cache is not None and cache.unchanged(stats)
    if warm and cache is not None:
        # Unchanged files keep their candidacy; only new and changed ones are read.
        union = sorted({token for value in tokens.values() for token in value or ()})
        kept = {f for f in cache.candidates if f in stats and f not in changed}
        if any(value is None for value in tokens.values()):
            fresh_candidates = sorted(changed)
        else:
            fresh_candidates = grep_files(root, changed, union)
        files = sorted(kept | set(fresh_candidates))
        present = None  # the few new and changed files test their own tokens
    else:
        present = rule_files(root, tokens, jobs)
        if present is not None and all(value is not None for value in tokens.values()):
            files = sorted(set().union(*present.values()))
        else:
            files = candidate_files(root, tokens, jobs)
    if progress is not None:
        progress(0, len(files))
    final: list[Outcome] = []
    todo = files
    if warm and cache is not None:
        todo = []
        for relative in files:
            hit = None if relative in changed else cache.reuse(relative, tree_unchanged)
            if hit is None:
                todo.append(relative)
            else:
                final.append(hit)
    first = run_files(
        root, todo, ids, overrides, tokens, jobs, None, progress, len(files), len(final), present
    )
    asked: set[str] = set()
    again: list[str] = []
    first_pass: dict[str, Outcome] = {}
    for outcome in first:
        if outcome[3]:
            asked.update(outcome[3])
            again.append(outcome[0])
            first_pass[outcome[0]] = outcome
        else:
            final.append(outcome)
    if again:
        mentions = _mentions_parallel(root, sorted(asked), jobs) or {}
        for relative, findings, error, _none, tree in run_files(
            root, again, ids, overrides, tokens, jobs, mentions, None, len(again), 0, present
        ):
            _file, _findings, _error, names, earlier = first_pass[relative]
            tree.exports, tree.macros = earlier.exports, earlier.macros
            # Keep what it asked: its result depends on other files (scan_cache).
            final.append((relative, findings, error, names, tree))
    if warm and table is not None:
        analysed = set(todo)
        table.forget(changed | removed | analysed)
        _add_to_table(table, root, [o for o in final if o[0] in analysed], stats)
        if analysed or removed:
            _save_table(root, table)
    else:
        table = _summary_table(root, final, save=cache is not None, stats=stats)
    result = _result(root, files, final, table)
    if cache is not None:
        stored = FinalResult(
            result.files_candidate, result.files_scanned, result.findings, result.errors
        )
        table_stamp = file_stamp(_table_file(root))
        cache.save(stats, files, final, stats_ns, knowledge, stored, table_stamp)
    result.seconds = time.perf_counter() - started
    return result


def _result(root: Path, files: list[str], final: list[Outcome], table: SummaryTable) -> ScanResult:
    from patchlint.analysis import resolve_deferred

    result = ScanResult(tree=str(root), files_candidate=len(files))
    for relative, findings, error, _asked, tree in final:
        result.files_scanned += 1
        result.findings.extend(findings)
        if tree.deferred:
            result.findings.extend(resolve_deferred(tree.deferred, table))
        if error:
            result.errors.append((relative, error))
    result.findings.sort(key=lambda f: (f.file or "", f.line or 0, f.rule))
    return result


def _stored_result(root: Path, stored: FinalResult, started: float) -> ScanResult:
    return ScanResult(
        tree=str(root),
        findings=stored.findings,
        files_scanned=stored.files_scanned,
        files_candidate=stored.files_candidate,
        errors=stored.errors,
        seconds=time.perf_counter() - started,
    )


def _summary_table(
    root: Path, outcomes: list[Outcome], save: bool, stats: dict[str, Stat] | None = None
) -> SummaryTable:
    """Every file's may-sleep summaries in one table, kept (with the result cache) for
    `patchlint check` to answer "does this callee sleep?" without a tree search."""
    from patchlint.analysis import SummaryTable

    table = SummaryTable()
    _add_to_table(table, root, outcomes, stats or {})
    if save:
        _save_table(root, table)
    return table


def _add_to_table(
    table: SummaryTable, root: Path, outcomes: list[Outcome], stats: dict[str, Stat]
) -> None:
    for relative, _findings, _error, _asked, tree in outcomes:
        if not tree.exports and not tree.macros:
            continue
        table.add(tree.exports, tree.macros, relative)
        stat = stats.get(relative)
        if stat is not None:
            table.stamps[relative] = (stat[0] // 1_000_000_000, stat[2])
            continue
        try:
            info = (root / relative).stat()
        except OSError:
            continue
        table.stamps[relative] = (int(info.st_mtime), info.st_size)


def _save_table(root: Path, table: SummaryTable) -> None:
    from patchlint.analysis import table_path

    path = table_path(root)
    if path is None:
        return
    try:
        table.save(path)
    except OSError:
        pass  # a read-only cache costs the next check its cross-file answers only


def _table_file(root: Path) -> Path | None:
    return summary_table_path(root)


def _previous_table(root: Path, cache: ScanCache) -> SummaryTable | None:
    """The table this cache's last scan saved, unless another scan replaced it."""
    from patchlint.analysis import SummaryTable

    path = _table_file(root)
    if path is None or cache.table is None or file_stamp(path) != cache.table:
        return None
    return SummaryTable.load(path)


def _version(rule_ids: list[str], severity: Mapping[str, Severity], root: Path) -> str:
    """Hash of the analysis code, the rules data, the rule selection and severities, and
    the tree's own dialect (its .clang-format iterator list changes how files parse).
    What is inferred from the tree's sources is checked apart (_knowledge_identity)."""
    digest = hashlib.blake2b(digest_size=12)
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")) + sorted(data_dir().rglob("*.toml")):
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    digest.update(",".join(sorted(rule_ids)).encode())
    digest.update(json.dumps(dict(severity), sort_keys=True).encode())
    # Knowledge added by the user's configuration changes results as much as ours.
    from patchlint.knowledge import extensions

    digest.update(json.dumps(extensions(), sort_keys=True, default=str).encode())
    try:
        digest.update((root / ".clang-format").read_bytes())
    except OSError:
        pass
    return digest.hexdigest()


def _knowledge_identity(rule_ids: list[str], root: Path) -> str:
    """The identity of the knowledge the rules infer from the whole tree. It is
    inferred from the tree's sources only, so it is recomputed (and compared with the
    cache's) only when one of them changed."""
    from patchlint.rules.taskscope.scan_support import RULES, identity

    return identity(root) if set(rule_ids) & set(RULES) else ""
